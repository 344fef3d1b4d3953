"""Instance-dependent label noise: realised rate, dependence on features, seeds, bad input."""

import numpy as np
import pytest
from scipy import stats

from kerasssl import recipe_defaults
from kerasssl.data import inject_label_noise
from kerasssl.data.instance_label_noise import (
    CHUNK_SIZE,
    FLIP_RATE_STD,
    PixelFeatures,
    flip_rate_location,
    instance_noise_probabilities,
)
from kerasssl.data.prepare import prepare_data
from kerasssl.data.sharded_image_data import ShardedImageData
from kerasssl.data.to_shards import prepare_shards

NUM_CLASSES = 10
FEATURES = np.zeros((100, 2))


def _data(num_examples, num_features=16, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, num_examples)
    features = rng.uniform(0, 1, (num_examples, num_features)).astype(np.float32)
    return labels, features


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.4, 0.7])
def test_realised_rate_is_within_one_point_of_the_target(rate):
    labels, features = _data(50_000)
    noise = inject_label_noise(labels, NUM_CLASSES, rate, "instance", features=features, seed=0)
    assert noise.realised_rate == pytest.approx(rate, abs=0.01)
    assert noise.flip_probabilities.mean() == pytest.approx(rate, abs=0.002)
    np.testing.assert_array_equal(noise.is_noisy, noise.noisy_labels != labels)
    np.testing.assert_allclose(noise.noisy_label_probabilities.sum(axis=1), 1.0)


def test_flip_rates_vary_per_example_and_are_kept():
    labels, features = _data(5_000)
    noise = inject_label_noise(labels, NUM_CLASSES, 0.4, "instance", features=features, seed=0)
    rates = noise.flip_probabilities
    assert rates.shape == (5_000,) and rates.min() >= 0 and rates.max() <= 1
    # The reference's spread: a normal of std 0.1 barely truncated at 0.4.
    assert rates.std() == pytest.approx(FLIP_RATE_STD, rel=0.1)
    # Examples that drew a higher rate flip more often.
    high = rates > np.median(rates)
    assert noise.is_noisy[high].mean() > noise.is_noisy[~high].mean() + 0.1


def test_same_features_and_class_share_the_distribution_over_wrong_labels():
    labels, features = _data(2_000)
    features[1], labels[1] = features[0], labels[0]  # a duplicate image
    noise = inject_label_noise(labels, NUM_CLASSES, 0.4, "instance", features=features, seed=3)
    wrong = np.arange(NUM_CLASSES) != labels[0]
    distribution = noise.noisy_label_probabilities[:, wrong]
    np.testing.assert_allclose(
        distribution[0] / noise.flip_probabilities[0],
        distribution[1] / noise.flip_probabilities[1],
        rtol=1e-9,
    )
    # ... and where an image flips depends on it: images of one class do not all flip alike.
    same_class = np.flatnonzero(labels == labels[0])
    favourite = np.argmax(noise.noisy_label_probabilities[same_class], axis=1)
    assert len(np.unique(favourite[favourite != labels[0]])) > 1


def test_the_seed_fixes_the_result():
    labels, features = _data(3_000)

    def noisy(seed):
        return inject_label_noise(
            labels, NUM_CLASSES, 0.4, "instance", features=features, seed=seed
        )

    first, again, other = noisy(7), noisy(7), noisy(8)
    np.testing.assert_array_equal(first.noisy_labels, again.noisy_labels)
    np.testing.assert_array_equal(first.noisy_label_probabilities, again.noisy_label_probabilities)
    assert np.mean(first.noisy_labels != other.noisy_labels) > 0.1


def test_zero_rate_changes_nothing():
    labels, features = _data(500)
    noise = inject_label_noise(labels, NUM_CLASSES, 0.0, "instance", features=features)
    np.testing.assert_array_equal(noise.noisy_labels, labels)
    assert not noise.flip_probabilities.any()


def test_centre_of_the_truncated_normal_puts_its_mean_on_the_rate():
    for rate in (0.01, 0.1, 0.4, 0.9):
        centre = flip_rate_location(rate)
        a, b = -centre / FLIP_RATE_STD, (1 - centre) / FLIP_RATE_STD
        assert stats.truncnorm.mean(a, b, centre, FLIP_RATE_STD) == pytest.approx(rate, abs=1e-9)
    # Far from the bounds the truncation does not matter: the reference's centre = rate.
    assert flip_rate_location(0.5) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_rate_outside_zero_one_is_an_error(rate):
    labels, features = _data(100)
    with pytest.raises(ValueError, match="noise_rate"):
        inject_label_noise(labels, NUM_CLASSES, rate, "instance", features=features)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"noise_type": "instance"}, "features"),
        ({"noise_type": "symmetric", "features": FEATURES}, "features"),
        ({"noise_type": "instance", "features": np.zeros((99, 2))}, "one row per label"),
        (
            {
                "noise_type": "instance",
                "features": np.zeros((100, 2)),
                "rate_convention": "resample",
            },
            "flip",
        ),
    ],
)
def test_bad_input(kwargs, message):
    labels, _ = _data(100)
    with pytest.raises(ValueError, match=message):
        inject_label_noise(labels, NUM_CLASSES, 0.4, **kwargs)


def test_recipe_field_injects_instance_noise_from_the_images():
    config = recipe_defaults.base_config()  # digits
    config.data.noise.rate = 0.4
    config.data.noise.type = "instance"
    data = prepare_data(config.data, seed=0)
    noise = data.label_noise
    assert noise.noisy_label_probabilities.shape == (len(data.labeled), 10)
    assert noise.realised_rate == pytest.approx(0.4, abs=0.05)
    np.testing.assert_array_equal(data.labeled.labels, noise.noisy_labels)


def test_instance_noise_on_digits_shards_gives_the_in_memory_labels(tmp_path, shard_reads):
    """The flips are computed a chunk at a time from the shards, as from the in-memory array."""
    config = recipe_defaults.base_config()  # digits, with a validation split carved first
    config.data.noise.rate = 0.4
    config.data.noise.type = "instance"
    memory = prepare_data(config.data, seed=5)
    prepare_shards(recipe_defaults.base_config().data, tmp_path, records_per_shard=300)
    config.data.source, config.data.root = "shards", str(tmp_path)
    sharded = prepare_data(config.data, seed=5)
    assert isinstance(sharded.labeled, ShardedImageData)
    np.testing.assert_array_equal(sharded.labeled.labels, memory.labeled.labels)
    np.testing.assert_array_equal(
        sharded.label_noise.noisy_label_probabilities, memory.label_noise.noisy_label_probabilities
    )
    assert memory.label_noise.realised_rate == pytest.approx(0.4, abs=0.05)
    assert shard_reads and max(shard_reads) <= CHUNK_SIZE  # a chunk, never the training set


def test_pixel_features_are_the_scaled_images_and_chunking_is_checked():
    images = np.random.default_rng(0).integers(0, 256, (5, 2, 2, 3), dtype=np.uint8)
    features = PixelFeatures(images)
    assert features.shape == (5, 2, 2, 3) and len(features) == 5
    np.testing.assert_array_equal(features[1:3], images[1:3] / np.float32(255))
    assert features[1:3].dtype == np.float32
    labels = np.arange(5) % NUM_CLASSES
    for chunk_size in (0, 2.0, True):
        with pytest.raises(ValueError, match="chunk_size"):
            instance_noise_probabilities(
                features, labels, NUM_CLASSES, 0.4, np.random.default_rng(0), chunk_size
            )


def test_recipe_with_instance_noise_and_the_resample_convention_fails_even_at_rate_zero():
    config = recipe_defaults.base_config()
    config.data.noise.type = "instance"
    config.data.noise.rate_convention = "resample"
    with pytest.raises(ValueError, match="rate_convention='flip'"):
        prepare_data(config.data, seed=0)
