import warnings

import keras
import numpy as np
import pytest

from kerasssl.noisy_labels import (
    find_label_issues,
    gmm_clean_probabilities,
    per_sample_cross_entropy,
    split_metrics,
)
from kerasssl.noisy_labels.co_divide import divide


def _noisy_toy_problem(seed=0, n=600, num_classes=4, noise_rate=0.4):
    """Well separated blobs; logits of an 'early' model that fits the true classes."""
    rng = np.random.default_rng(seed)
    true_labels = rng.integers(0, num_classes, n)
    is_noisy = rng.random(n) < noise_rate
    shift = rng.integers(1, num_classes, n)
    labels = np.where(is_noisy, (true_labels + shift) % num_classes, true_labels)
    logits = rng.normal(0.0, 1.0, (n, num_classes))
    logits[np.arange(n), true_labels] += 3.0
    return labels, logits, is_noisy


def test_gmm_split_recovers_injected_noise():
    labels, logits, is_noisy = _noisy_toy_problem()
    is_issue, clean_probability = find_label_issues(labels, logits=logits)
    metrics = split_metrics(clean_probability, is_noisy)
    assert metrics["auc"] > 0.9
    assert metrics["precision"] > 0.9 and metrics["recall"] > 0.8
    assert np.mean(is_issue == is_noisy) > 0.85


def test_pred_probs_give_the_same_split_as_logits():
    labels, logits, _ = _noisy_toy_problem(seed=1)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    _, from_logits = find_label_issues(labels, logits=logits)
    _, from_probs = find_label_issues(labels, pred_probs=probabilities)
    np.testing.assert_allclose(from_logits, from_probs, atol=1e-4)


def test_clean_probability_follows_the_low_loss_component():
    losses = np.concatenate([np.full(50, 0.1), np.full(50, 2.0)]) + np.linspace(0, 0.01, 100)
    clean_probability = gmm_clean_probabilities(losses)
    assert clean_probability[:50].min() > 0.9 and clean_probability[50:].max() < 0.1
    assert np.all(gmm_clean_probabilities(np.ones(5)) == 1.0)  # nothing to separate


def test_per_sample_cross_entropy_matches_keras():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    images = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
    labels = np.arange(10) % 4
    expected = keras.losses.sparse_categorical_crossentropy(
        labels, model.predict(images, verbose=0), from_logits=True
    )
    np.testing.assert_allclose(per_sample_cross_entropy(model, images, labels), expected, rtol=1e-5)


def test_split_metrics_on_a_hand_made_case():
    metrics = split_metrics([0.9, 0.8, 0.2, 0.6], is_noisy=[False, False, True, True])
    assert metrics["clean_set_size"] == 3
    assert metrics["precision"] == pytest.approx(2 / 3) and metrics["recall"] == 1.0
    assert metrics["auc"] == 1.0
    assert split_metrics([0.9, 0.1]) == {"clean_set_size": 1}


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.5, 2])
def test_threshold_outside_zero_one_is_rejected(threshold):
    labels, logits, _ = _noisy_toy_problem(n=20)
    with pytest.raises(ValueError, match="threshold"):
        find_label_issues(labels, logits=logits, threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        divide(np.linspace(0, 1, 10), threshold)


def test_labels_out_of_range_and_bad_losses_are_rejected():
    labels, logits, _ = _noisy_toy_problem(n=20)
    with pytest.raises(ValueError, match="num_classes"):
        find_label_issues(labels + 4, logits=logits)
    with pytest.raises(ValueError, match="exactly one"):
        find_label_issues(labels)
    with pytest.raises(ValueError, match="NaN"):
        gmm_clean_probabilities([0.1, np.nan, 0.3])


def test_divide_falls_back_and_warns_when_a_set_is_empty():
    with pytest.warns(UserWarning, match="no sample"):
        labeled, unlabeled = divide(np.array([0.1, 0.2, 0.3, 0.05]), 0.5)
    np.testing.assert_array_equal(labeled, [1, 2])
    np.testing.assert_array_equal(unlabeled, [0, 3])
    with pytest.warns(UserWarning, match="every sample"):
        labeled, unlabeled = divide(np.array([0.9, 0.8, 0.7]), 0.5)
    assert len(labeled) == 3 and len(unlabeled) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labeled, unlabeled = divide(np.array([0.9, 0.1, 0.7]), 0.5)
    np.testing.assert_array_equal(labeled, [0, 2])
    np.testing.assert_array_equal(unlabeled, [1])


def test_co_divide_averages_the_last_epochs_normalised_losses(monkeypatch):
    from kerasssl.noisy_labels import co_divide as co_divide_module

    rng = np.random.default_rng(0)
    epochs = [rng.uniform(0, 5, (2, 40)) for _ in range(3)]  # [network, sample] per epoch
    calls = iter([losses[network] for losses in epochs for network in (0, 1)])
    monkeypatch.setattr(co_divide_module, "per_sample_cross_entropy", lambda *a, **k: next(calls))
    history = [[], []]
    for _ in epochs:
        probabilities, _ = co_divide_module.co_divide(
            [None, None], None, None, loss_history=history, average_epochs=2
        )
    # The last split: each network's mean of its last two epochs' min-max normalised losses.
    for network in (0, 1):
        normalised = [(e[network] - e[network].min()) / np.ptp(e[network]) for e in epochs[1:]]
        wanted = gmm_clean_probabilities(np.mean(normalised, axis=0))
        np.testing.assert_allclose(probabilities[network], wanted)
        assert len(history[network]) == 2
    with pytest.raises(ValueError, match="needs loss_history"):
        co_divide_module.co_divide([None, None], None, None, average_epochs=5)
    with pytest.raises(ValueError, match="average_epochs must be >= 1"):
        co_divide_module.co_divide([None, None], None, None, average_epochs=0)
