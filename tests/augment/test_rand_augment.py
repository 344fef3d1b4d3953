"""RandAugment: per-image op choice, reproducibility, eager == tf.data, bad input."""

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment import RandAugment
from kerasssl.augment.image_checks import split_seed
from kerasssl.augment.rand_augment import RAND_AUGMENT_OPS

SEED = tf.constant([3, 7], tf.int32)


def test_eager_equals_dataset_map(images, in_dataset):
    rand_augment = RandAugment(num_ops=2, magnitude=10)
    eager = rand_augment(images[0], SEED)
    graph = in_dataset(rand_augment, images[0], SEED)
    assert eager.shape == (32, 32, 3) and eager.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(eager)) and float(tf.reduce_max(eager)) <= 255.0
    np.testing.assert_allclose(eager, graph, atol=1e-4)


def test_same_seed_same_output_and_uint8_equals_float(images):
    rand_augment = RandAugment(num_ops=3, magnitude=15, random_magnitude=True)
    first = rand_augment(images, SEED)
    np.testing.assert_array_equal(first, rand_augment(images, SEED))
    np.testing.assert_array_equal(first, rand_augment(images.astype(np.float32), SEED))
    assert not np.array_equal(first, rand_augment(images, tf.constant([3, 8])))


def test_images_of_one_batch_get_different_ops(images):
    rand_augment = RandAugment(num_ops=1, magnitude=10)
    batch = np.repeat(images[:1], 16, axis=0)
    image_seeds = split_seed(SEED, 16)
    chosen = [int(rand_augment.sample_ops(image_seeds[i])[0][0]) for i in range(16)]
    assert len(set(chosen)) > 1, chosen

    augmented = rand_augment(batch, SEED)
    image = tf.constant(images[0], tf.float32)
    for i in range(16):
        # Image i of the batch is exactly its own sampled op applied to the image.
        expected = rand_augment.apply_ops(image, *rand_augment.sample_ops(image_seeds[i]))
        np.testing.assert_allclose(augmented[i], expected, atol=1e-4)
    # Same input image, different ops: the batch rows differ.
    assert len({augmented[i].numpy().tobytes() for i in range(16)}) > 1


def test_magnitude_zero_geometric_ops_are_identity(images):
    rand_augment = RandAugment(
        num_ops=2, magnitude=0, ops=("rotate", "shear_x", "translate_y", "solarize")
    )
    np.testing.assert_allclose(rand_augment(images, SEED), images.astype(np.float32), atol=1e-3)


def test_grayscale_and_config_round_trip(images):
    rand_augment = RandAugment(num_ops=2, magnitude=27, interpolation="bilinear")
    assert rand_augment(images[:2, :8, :8, :1], SEED).shape == (2, 8, 8, 1)
    clone = RandAugment(**rand_augment.get_config())
    np.testing.assert_array_equal(clone(images[0], SEED), rand_augment(images[0], SEED))
    assert RandAugment().ops == RAND_AUGMENT_OPS and len(RAND_AUGMENT_OPS) == 14


BAD_ARGUMENTS = [
    ({"magnitude": 31}, ValueError, "magnitude"),
    ({"magnitude": -1}, ValueError, "magnitude"),
    ({"magnitude": "10"}, TypeError, "magnitude"),
    ({"num_ops": 0}, ValueError, "num_ops"),
    ({"num_ops": 1.5}, TypeError, "num_ops"),
    ({"ops": ("rotate", "blur")}, ValueError, "unknown op"),
    ({"interpolation": "cubic"}, ValueError, "interpolation"),
    ({"random_magnitude": 1}, TypeError, "random_magnitude"),
]


def test_bad_arguments():
    for kwargs, error, match in BAD_ARGUMENTS:
        with pytest.raises(error, match=match):
            RandAugment(**kwargs)


def test_bad_images_and_seed(images):
    rand_augment = RandAugment()
    with pytest.raises(ValueError, match=r"images.*rank"):
        rand_augment(images[0, :, :, 0], SEED)
    with pytest.raises(TypeError, match="images"):
        rand_augment(tf.constant(["a"]), SEED)
    with pytest.raises(ValueError, match="seed"):
        rand_augment(images[0], tf.constant([1, 2, 3]))
