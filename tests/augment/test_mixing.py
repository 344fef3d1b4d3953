"""MixUp, CutMix, RICAP: soft labels sum to 1 and match the mixed pixels, reproducibility,
eager == tf.data, and clear errors for labels that are not one-hot floats."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment import RICAP, CutMix, MixUp, mix_batches

SEED = tf.constant([9, 1], tf.int32)
MIXINGS = [MixUp(alpha=1.0), CutMix(alpha=1.0), RICAP(beta=0.3)]
IDS = ["mix_up", "cut_mix", "ricap"]


def _constant_images(batch_size=16, size=32):
    """Image i is constant i + 1 with class i, so pixel values reveal the label mix."""
    values = np.arange(1, batch_size + 1, dtype=np.float32)
    images = np.broadcast_to(values[:, None, None, None], (batch_size, size, size, 3)).copy()
    labels = np.asarray(keras.ops.one_hot(np.arange(batch_size), batch_size))
    return images, labels


@pytest.mark.parametrize("mixing", MIXINGS, ids=IDS)
def test_soft_labels_sum_to_one_and_equal_the_pixel_mix(mixing):
    images, labels = _constant_images()
    mixed_images, mixed_labels = mixing(images, labels, SEED)
    assert mixed_images.dtype == tf.float32 and mixed_labels.dtype == tf.float32
    assert mixed_images.shape == images.shape and mixed_labels.shape == labels.shape
    np.testing.assert_allclose(tf.reduce_sum(mixed_labels, axis=1), 1.0, atol=1e-5)
    assert float(tf.reduce_min(mixed_labels)) >= 0.0
    # Mean pixel value = sum over classes of weight * (class + 1), for every image.
    class_values = np.arange(1, 17, dtype=np.float32)
    np.testing.assert_allclose(
        tf.reduce_mean(mixed_images, axis=[1, 2, 3]),
        mixed_labels.numpy() @ class_values,
        rtol=1e-4,
    )
    assert not np.allclose(mixed_labels, labels)  # Something was mixed.


@pytest.mark.parametrize("mixing", [CutMix(alpha=1.0), RICAP(beta=0.3)], ids=IDS[1:])
def test_label_weights_equal_patch_areas(mixing):
    images, labels = _constant_images()
    for seed in range(5):
        mixed_images, mixed_labels = mixing(images, labels, seed)
        # Fraction of the pixels taken from image c, per output image and class.
        values = np.rint(mixed_images.numpy()[..., 0]).astype(int) - 1
        areas = np.stack([(values == c).mean(axis=(1, 2)) for c in range(16)], axis=1)
        np.testing.assert_allclose(mixed_labels, areas, atol=1e-6)


@pytest.mark.parametrize("mixing", MIXINGS, ids=IDS)
def test_reproducible_and_eager_equals_dataset_map(mixing, images, in_dataset):
    labels = keras.ops.one_hot(np.arange(8) % 4, 4)
    eager = mixing(images, labels, SEED)
    again = mixing(images.astype(np.float32), labels, SEED)
    graph = in_dataset(mixing, images, labels, SEED)
    for first, second, third in zip(eager, again, graph, strict=True):
        np.testing.assert_array_equal(first, second)
        np.testing.assert_allclose(first, third, atol=1e-4)
    assert 0.0 <= float(tf.reduce_min(eager[0])) and float(tf.reduce_max(eager[0])) <= 255.0


@pytest.mark.parametrize("mixing", MIXINGS, ids=IDS)
def test_bad_labels_and_images(mixing, images):
    with pytest.raises(TypeError, match=r"keras\.ops\.one_hot"):
        mixing(images, np.arange(8), SEED)
    with pytest.raises(ValueError, match="one-hot"):
        mixing(images, np.ones(8, np.float32), SEED)
    with pytest.raises(ValueError, match="rows"):
        mixing(images, keras.ops.one_hot(np.arange(4), 4), SEED)
    with pytest.raises(ValueError, match=r"images.*\[B, H, W, C\]"):
        mixing(images[0], keras.ops.one_hot(np.arange(8), 8), SEED)


def test_bad_concentration():
    for make in (MixUp, CutMix, RICAP):
        for value, error in (
            (0.0, ValueError),
            (-1.0, ValueError),
            (1000.0, ValueError),
            ("1", TypeError),
        ):
            with pytest.raises(error, match="alpha|beta"):
                make(value)


def test_mix_batches_on_sparse_label_dataset(images):
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(8) % 4)).batch(4)
    mixed = list(mix_batches(dataset, CutMix(), num_classes=4, seed=3))
    again = list(mix_batches(dataset, CutMix(), num_classes=4, seed=3))
    assert len(mixed) == 2
    for (batch_images, batch_labels), (images_again, _) in zip(mixed, again, strict=True):
        assert batch_labels.shape == (4, 4)
        np.testing.assert_allclose(tf.reduce_sum(batch_labels, axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(batch_images, images_again)
    with pytest.raises(ValueError, match="num_classes"):
        mix_batches(dataset, CutMix(), num_classes=1, seed=0)


def test_mix_batches_start_step_continues_the_seed_stream():
    import numpy as np
    import tensorflow as tf

    from kerasssl.augment import MixUp, mix_batches

    images = np.random.default_rng(0).uniform(0, 255, (12, 4, 4, 3)).astype("float32")
    labels = np.arange(12) % 3
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    full = list(mix_batches(batches, MixUp(), 3, seed=5))
    resumed = list(mix_batches(batches.skip(1), MixUp(), 3, seed=5, start_step=1))
    for (full_images, full_labels), (images_, labels_) in zip(full[1:], resumed, strict=True):
        np.testing.assert_allclose(images_, full_images)
        np.testing.assert_allclose(labels_, full_labels)
