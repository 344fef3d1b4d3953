"""Label noise: realised rates under both conventions, determinism, transition matrices."""

import numpy as np
import pytest

from kerasssl.data import CIFAR10_ASYMMETRIC_MAP, CIFAR10_CLASS_NAMES, inject_label_noise

NUM_CLASSES = 10


@pytest.fixture
def labels():
    return np.random.default_rng(0).permutation(np.repeat(np.arange(NUM_CLASSES), 500))


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 0.8, 1.0])
def test_symmetric_flip_rate_is_exact(labels, rate):
    noise = inject_label_noise(labels, NUM_CLASSES, rate, "symmetric", "flip", seed=0)
    assert noise.realised_rate == pytest.approx(rate, abs=1e-9)
    np.testing.assert_allclose(np.diag(noise.transition_matrix), 1.0 - rate)
    np.testing.assert_array_equal(noise.is_noisy, noise.noisy_labels != labels)
    np.testing.assert_array_equal(noise.true_labels, labels)


def test_symmetric_flip_spreads_over_other_classes(labels):
    matrix = inject_label_noise(
        labels, NUM_CLASSES, 0.9, "symmetric", "flip", seed=0
    ).transition_matrix
    off_diagonal = matrix[~np.eye(NUM_CLASSES, dtype=bool)]
    # 450 flips per class over 9 targets: 0.1 each in expectation.
    assert np.abs(off_diagonal - 0.1).max() < 0.05


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_symmetric_resample_changes_rate_times_c_minus_1_over_c(labels, rate):
    noise = inject_label_noise(labels, NUM_CLASSES, rate, "symmetric", "resample", seed=0)
    assert noise.realised_rate == pytest.approx(rate * 0.9, abs=0.02)
    np.testing.assert_allclose(noise.transition_matrix.sum(axis=1), 1.0)


def test_asymmetric_cifar10_map(labels):
    for convention in ("flip", "resample"):
        noise = inject_label_noise(
            labels,
            NUM_CLASSES,
            0.4,
            "asymmetric",
            convention,
            seed=0,
            class_names=CIFAR10_CLASS_NAMES,
        )
        matrix = noise.transition_matrix
        tolerance = 1e-9 if convention == "flip" else 0.06
        for source, target in CIFAR10_ASYMMETRIC_MAP.items():
            assert matrix[source, target] == pytest.approx(0.4, abs=tolerance)
            assert matrix[source, source] == pytest.approx(0.6, abs=tolerance)
        allowed = np.eye(NUM_CLASSES, dtype=bool)
        for source, target in CIFAR10_ASYMMETRIC_MAP.items():
            allowed[source, target] = True
        assert np.all(matrix[~allowed] == 0)
        # Airplane, automobile, frog, horse and ship are never corrupted.
        for clean in (0, 1, 6, 7, 8):
            assert matrix[clean, clean] == 1.0
        # Half the classes are mapped, so 40% per mapped class is 20% overall.
        assert noise.realised_rate == pytest.approx(0.2, abs=1e-9 if convention == "flip" else 0.02)


def test_asymmetric_needs_mapping_for_other_classes(labels):
    with pytest.raises(ValueError, match="mapping"):
        inject_label_noise(labels, NUM_CLASSES, 0.4, "asymmetric")
    with pytest.raises(ValueError, match="mapping"):
        inject_label_noise(
            labels, NUM_CLASSES, 0.4, "asymmetric", class_names=[str(i) for i in range(10)]
        )
    noise = inject_label_noise(labels, NUM_CLASSES, 0.3, "asymmetric", mapping={7: 1}, seed=0)
    assert noise.transition_matrix[7, 1] == pytest.approx(0.3)
    named = inject_label_noise(
        labels,
        NUM_CLASSES,
        0.3,
        "asymmetric",
        mapping={"7": "1"},
        class_names=[str(i) for i in range(10)],
    )
    assert named.transition_matrix[7, 1] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="to itself"):
        inject_label_noise(labels, NUM_CLASSES, 0.3, "asymmetric", mapping={2: 2})


@pytest.mark.parametrize("convention", ["flip", "resample"])
def test_pair_flip(labels, convention):
    noise = inject_label_noise(labels, NUM_CLASSES, 0.45, "pair_flip", convention, seed=0)
    matrix = noise.transition_matrix
    tolerance = 1e-9 if convention == "flip" else 0.06
    for source in range(NUM_CLASSES):
        assert matrix[source, (source + 1) % NUM_CLASSES] == pytest.approx(0.45, abs=tolerance)
    assert np.count_nonzero(matrix) == 2 * NUM_CLASSES
    assert noise.realised_rate == pytest.approx(0.45, abs=1e-9 if convention == "flip" else 0.01)


@pytest.mark.parametrize("noise_type", ["symmetric", "pair_flip"])
@pytest.mark.parametrize("convention", ["flip", "resample"])
def test_deterministic_per_seed(labels, noise_type, convention):
    first = inject_label_noise(labels, NUM_CLASSES, 0.5, noise_type, convention, seed=7)
    second = inject_label_noise(labels, NUM_CLASSES, 0.5, noise_type, convention, seed=7)
    other = inject_label_noise(labels, NUM_CLASSES, 0.5, noise_type, convention, seed=8)
    np.testing.assert_array_equal(first.noisy_labels, second.noisy_labels)
    assert not np.array_equal(first.noisy_labels, other.noisy_labels)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), "0.4"])
def test_noise_rate_outside_unit_interval(labels, rate):
    with pytest.raises(ValueError, match=r"noise_rate.*\[0, 1\]"):
        inject_label_noise(labels, NUM_CLASSES, rate)


def test_bad_arguments(labels):
    with pytest.raises(ValueError, match="noise_type"):
        inject_label_noise(labels, NUM_CLASSES, 0.2, "uniform")
    with pytest.raises(ValueError, match="rate_convention"):
        inject_label_noise(labels, NUM_CLASSES, 0.2, "symmetric", "exact")
    with pytest.raises(ValueError, match=r"num_classes=5"):
        inject_label_noise(labels, 5, 0.2)
    with pytest.raises(ValueError, match="mapping"):
        inject_label_noise(labels, NUM_CLASSES, 0.2, "symmetric", mapping={1: 2})


def test_recipe_mapping_string_reaches_the_noise():
    from kerasssl import recipe_defaults
    from kerasssl.data.prepare import prepare_data

    config = recipe_defaults.base_config()
    config.data.source = "digits"
    config.data.noise.rate = 0.4
    config.data.noise.type = "asymmetric"
    config.data.noise.mapping = "2:7, 3:8,7:1"
    noise = prepare_data(config.data, seed=0).label_noise
    moved = {(int(t), int(n)) for t, n in zip(noise.true_labels, noise.noisy_labels, strict=True)}
    assert {pair for pair in moved if pair[0] != pair[1]} == {(2, 7), (3, 8), (7, 1)}
    for source in (2, 3, 7):
        assert np.mean(noise.is_noisy[noise.true_labels == source]) == pytest.approx(0.4, abs=0.02)
    assert not noise.is_noisy[~np.isin(noise.true_labels, (2, 3, 7))].any()


def test_mapping_tokens_are_names_first_then_ids():
    from kerasssl.data.label_noise import parse_mapping

    assert parse_mapping("") is None and parse_mapping("  ") is None
    assert parse_mapping("cat:dog, dog:cat", CIFAR10_CLASS_NAMES) == {
        "cat": "dog",
        "dog": "cat",
    }
    assert parse_mapping("3:5", CIFAR10_CLASS_NAMES) == {3: 5}
    # Digits are named "0".."9": a name wins, and it is the same class as the id.
    assert parse_mapping("3:5", [str(i) for i in range(10)]) == {"3": "5"}
    for bad in ("cat", "cat:dog:bird", "cat:", "cat:dog,cat:bird"):
        with pytest.raises(ValueError, match="config.data.noise.mapping"):
            parse_mapping(bad)
