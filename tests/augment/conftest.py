"""Fixtures of the augmentation tests: sample images and a runner inside tf.data."""

import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture
def images():
    """Eight 32x32 RGB uint8 images with structure (a bright square) and noise."""
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (8, 32, 32, 3)).astype(np.uint8)
    batch[:, 8:20, 10:24] = rng.integers(150, 220, (8, 12, 14, 3))
    return batch


@pytest.fixture
def in_dataset():
    """Runs `function(*arguments)` inside `Dataset.map` (graph mode) and returns the result.

    Eager and tf.data execution can differ (shapes, Python control flow), so every op is
    checked both ways.
    """

    def run(function, *arguments):
        dataset = tf.data.Dataset.from_tensors(tuple(tf.convert_to_tensor(a) for a in arguments))

        def call(*element):
            return function(*element)

        return next(iter(dataset.map(call)))

    return run
