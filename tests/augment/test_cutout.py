"""Cutout: patch size and value, reproducibility, eager == tf.data, bad input."""

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment import Cutout

SEED = tf.constant([1, 2], tf.int32)


def test_patch_is_at_most_half_side_square_of_fill_value(in_dataset):
    zeros = np.zeros((32, 32, 32, 3), np.uint8)
    cut = Cutout(size_fraction=0.5, fill_value=128)(zeros, SEED).numpy()
    assert cut.dtype == np.float32 and set(np.unique(cut)) <= {0.0, 128.0}
    patched_pixels = (cut[..., 0] == 128).sum(axis=(1, 2))
    assert patched_pixels.max() == 16 * 16  # Patches fully inside are 16 x 16 ...
    assert (patched_pixels < 16 * 16).any()  # ... and the border cuts others.
    assert (cut[..., 0] == cut[..., 2]).all()  # All channels share the patch.


def test_eager_equals_dataset_map_and_reproducible(images, in_dataset):
    cutout = Cutout()
    eager = cutout(images[0], SEED)
    np.testing.assert_array_equal(eager, in_dataset(cutout, images[0], SEED))
    np.testing.assert_array_equal(cutout(images, SEED), cutout(images.astype(np.float32), SEED))
    np.testing.assert_array_equal(Cutout(size_fraction=0.0)(images, SEED), images)


def test_bad_arguments(images):
    for kwargs, error in [
        ({"size_fraction": 1.5}, ValueError),
        ({"fill_value": 300}, ValueError),
        ({"size_fraction": None}, TypeError),
    ]:
        with pytest.raises(error, match=next(iter(kwargs))):
            Cutout(**kwargs)
    with pytest.raises(ValueError, match="images"):
        Cutout()(images[0, :, :, 0], SEED)
