"""Random erasing: probability, erased area, fill, reproducibility, eager == tf.data."""

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment import RandomErasing

SEED = tf.constant([4, 4], tf.int32)


def test_erased_area_in_range_and_probability():
    zeros = np.zeros((32, 32, 32, 3), np.uint8)
    always = RandomErasing(probability=1.0, area=(0.1, 0.3), fill_value=255)(zeros, SEED)
    fractions = (always.numpy()[..., 0] == 255).mean(axis=(1, 2))
    # Rounding the sides to whole pixels moves the area a little.
    assert fractions.min() >= 0.08 and fractions.max() <= 0.34
    never = RandomErasing(probability=0.0)(zeros, SEED)
    np.testing.assert_array_equal(never, zeros)
    half = RandomErasing(probability=0.5, fill_value=255)(zeros, SEED).numpy()
    assert 4 < (half.max(axis=(1, 2, 3)) == 255).sum() < 28


def test_random_fill_eager_equals_dataset_map(images, in_dataset):
    random_erasing = RandomErasing(probability=1.0)
    eager = random_erasing(images[0], SEED)
    assert eager.dtype == tf.float32 and not np.array_equal(eager, images[0])
    assert 0.0 <= float(tf.reduce_min(eager)) and float(tf.reduce_max(eager)) <= 255.0
    np.testing.assert_allclose(eager, in_dataset(random_erasing, images[0], SEED), atol=1e-4)
    np.testing.assert_array_equal(random_erasing(images, SEED), random_erasing(images, SEED))


def test_bad_arguments():
    for kwargs in [
        {"probability": 1.5},
        {"area": (0.5, 0.2)},
        {"area": (0.0, 0.2)},
        {"area": 0.3},
        {"aspect_ratio": (-1, 2)},
        {"fill_value": 256},
        {"fill_value": "zero"},
    ]:
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            RandomErasing(**kwargs)
