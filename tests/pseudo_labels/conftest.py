"""Fixtures of the pseudo-labeling tests."""

import numpy as np
import pytest

from kerasssl.pseudo_labels import label_images


@pytest.fixture
def labeled_job(tmp_path):
    """(folder, images): a finished labeling job of 50 random 2x2 images by a 4-class Dense
    teacher, in shards of 8 (the last one short)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((2, 2, 1))
    teacher = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs)))
    images = np.random.default_rng(0).integers(0, 256, (50, 2, 2, 1)).astype(np.uint8)
    label_images(teacher, images, tmp_path, shard_size=8, batch_size=4, verbose=0)
    return tmp_path, images
