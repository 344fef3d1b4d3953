"""supervised_dataset and semi_supervised_dataset: shapes, determinism, epochs, views, errors."""

import time

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment.views import register_view
from kerasssl.data import (
    load_arrays,
    load_image_folder,
    semi_supervised_dataset,
    supervised_dataset,
)


def _indexed_data(count=50, size=8, num_classes=5):
    """Each image is filled with its own index, so a batch tells which examples it holds."""
    images = np.broadcast_to(
        np.arange(count, dtype=np.uint8)[:, None, None, None], [count, size, size, 3]
    )
    return load_arrays(images.copy(), np.arange(count) % num_classes)


def _ids(images):
    """Example ids from a batch of constant images (weak_augment keeps them constant)."""
    images = np.asarray(images)
    return images.reshape(len(images), -1)[:, 0].astype(np.int64)


def _take(dataset, count):
    return [tf.nest.map_structure(np.asarray, batch) for batch in dataset.take(count)]


def _probe_seed(image, seed):
    """A view whose output is its seed (channels 0 and 1), to check which seed it received."""
    seed = tf.cast(seed, tf.float64)  # float64 holds any int32 exactly.
    return tf.cast(
        tf.zeros_like(image, tf.float64) + tf.stack([seed[0], seed[1], 0.0]), image.dtype
    )


register_view("test_probe_a", _probe_seed, overwrite=True)
register_view("test_probe_b", _probe_seed, overwrite=True)


def test_supervised_training_batches():
    data = _indexed_data()
    images, labels = next(iter(supervised_dataset(data, 16, training=True, seed=0)))
    assert images.shape == (16, 8, 8, 3) and images.dtype == tf.float32
    assert labels.shape == (16,) and labels.dtype == tf.int64
    np.testing.assert_array_equal(labels.numpy(), _ids(images) % 5)


def test_supervised_epochs_are_seeded_permutations():
    data = _indexed_data()
    batches = _take(supervised_dataset(data, 10, training=True, seed=3, augment=None), 10)
    ids = np.concatenate([_ids(images) for images, _ in batches])
    first_epoch, second_epoch = ids[:50], ids[50:]
    np.testing.assert_array_equal(np.sort(first_epoch), np.arange(50))
    np.testing.assert_array_equal(np.sort(second_epoch), np.arange(50))
    assert not np.array_equal(first_epoch, second_epoch)
    assert not np.array_equal(first_epoch, np.arange(50))
    other = _take(supervised_dataset(data, 10, training=True, seed=4, augment=None), 1)
    assert not np.array_equal(_ids(other[0][0]), ids[:10])


def test_supervised_same_seed_same_batches_with_augmentation(cifar10_subset):
    data = load_image_folder(cifar10_subset, "test")
    first = _take(supervised_dataset(data, 64, training=True, seed=5), 3)
    second = _take(supervised_dataset(data, 64, training=True, seed=5), 3)
    for (images_a, labels_a), (images_b, labels_b) in zip(first, second, strict=True):
        np.testing.assert_array_equal(images_a, images_b)
        np.testing.assert_array_equal(labels_a, labels_b)
    # Augmented: some images differ from every stored image.
    stored = {image.tobytes() for image in data.images}
    changed = [image.astype(np.uint8).tobytes() not in stored for image in first[0][0]]
    assert sum(changed) > 32


def test_supervised_evaluation_single_pass_in_order():
    data = _indexed_data(count=23)
    batches = _take(supervised_dataset(data, 10, training=False), 100)
    assert [len(labels) for _, labels in batches] == [10, 10, 3]
    np.testing.assert_array_equal(
        np.concatenate([_ids(images) for images, _ in batches]), np.arange(23)
    )
    assert batches[0][0].dtype == np.float32


def test_supervised_augment_choices():
    data = _indexed_data()

    def darken(image, seed):
        del seed
        return image * 0.5

    for augment in ("weak_no_flip", "identity", None, darken):
        images, _ = next(iter(supervised_dataset(data, 4, True, augment=augment)))
        assert images.shape == (4, 8, 8, 3)
    with pytest.raises(ValueError, match=r"Unknown view 'fancy'.*'weak'"):
        supervised_dataset(data, 4, True, augment="fancy")
    with pytest.raises(ValueError, match="batch_size"):
        supervised_dataset(data, 0, True)
    with pytest.raises(TypeError, match="ImageData"):
        supervised_dataset(data.images, 4, True)


def test_semi_supervised_structure_and_views():
    data = _indexed_data(count=60)
    labeled, unlabeled = data.subset(np.arange(20)), data.subset(np.arange(20, 60))
    dataset = semi_supervised_dataset(
        labeled,
        unlabeled,
        4,
        unlabeled_ratio=3,
        views=("identity", "weak"),
        include_unlabeled_labels=True,
    )
    inputs, targets = next(iter(dataset))
    assert set(inputs) == {"labeled", "unlabeled_identity", "unlabeled_weak", "unlabeled_labels"}
    assert inputs["labeled"].shape == (4, 8, 8, 3) and targets.shape == (4,)
    assert inputs["unlabeled_weak"].shape == (12, 8, 8, 3)
    # Views hold the same unlabeled images, in the same order.
    unlabeled_ids = _ids(inputs["unlabeled_identity"])
    np.testing.assert_array_equal(_ids(inputs["unlabeled_weak"]), unlabeled_ids)
    assert np.all(unlabeled_ids >= 20)
    np.testing.assert_array_equal(inputs["unlabeled_labels"].numpy(), unlabeled_ids % 5)
    np.testing.assert_array_equal(targets.numpy(), _ids(inputs["labeled"]) % 5)
    assert np.all(_ids(inputs["labeled"]) < 20)


def test_semi_supervised_views_get_their_own_seeds_and_repeat_identically():
    data = _indexed_data(count=40)

    def build():
        return semi_supervised_dataset(
            data.subset(np.arange(10)),
            data.images[10:],
            2,
            4,
            views=("test_probe_a", "test_probe_b"),
            seed=1,
        )

    first, second = _take(build(), 8), _take(build(), 8)
    for (inputs_a, targets_a), (inputs_b, targets_b) in zip(first, second, strict=True):
        for key in inputs_a:
            np.testing.assert_array_equal(inputs_a[key], inputs_b[key])
        np.testing.assert_array_equal(targets_a, targets_b)
    seeds_a = np.concatenate([inputs["unlabeled_test_probe_a"][:, 0, 0, :2] for inputs, _ in first])
    seeds_b = np.concatenate([inputs["unlabeled_test_probe_b"][:, 0, 0, :2] for inputs, _ in first])
    # Each view of an image has its own seed, and every image of a view a different one.
    assert np.all(np.any(seeds_a != seeds_b, axis=1))
    assert len(np.unique(seeds_a, axis=0)) == len(seeds_a) == 64


def test_semi_supervised_bad_input():
    data = _indexed_data(count=20)
    with pytest.raises(ValueError, match=r"Unknown view 'no_such_view'.*registered views"):
        semi_supervised_dataset(data, data, 2, 2, views=("weak", "no_such_view"))
    with pytest.raises(ValueError, match="unlabeled_ratio"):
        semi_supervised_dataset(data, data, 2, 0, views=("weak",))
    with pytest.raises(ValueError, match="views"):
        semi_supervised_dataset(data, data, 2, 2, views=())
    with pytest.raises(ValueError, match="include_unlabeled_labels"):
        semi_supervised_dataset(
            data, data.images, 2, 2, views=("weak",), include_unlabeled_labels=True
        )
    with pytest.raises(ValueError, match="image_size"):
        semi_supervised_dataset(data, np.zeros([5, 4, 4, 3], np.uint8), 2, 2, views=("weak",))
    with pytest.raises(TypeError, match="unlabeled"):
        semi_supervised_dataset(data, [1, 2], 2, 2, views=("weak",))


@pytest.mark.slow
def test_supervised_training_throughput(cifar10_subset):
    data = load_image_folder(cifar10_subset, "train")
    iterator = iter(supervised_dataset(data, 128, training=True, seed=0))
    for _ in range(20):
        next(iterator)
    start = time.perf_counter()
    for _ in range(200):
        next(iterator)
    images_per_second = 200 * 128 / (time.perf_counter() - start)
    print(f"supervised_dataset training, batch 128, 32x32: {images_per_second:.0f} img/s")
    assert images_per_second > 5000


def test_batch_larger_than_data_set_spans_epochs():
    data = _indexed_data(count=3, num_classes=3)
    batches = _take(supervised_dataset(data, 8, training=True, seed=0, augment="weak"), 3)
    ids = np.concatenate([_ids(images) for images, _ in batches])
    for epoch in range(8):
        np.testing.assert_array_equal(np.sort(ids[3 * epoch : 3 * epoch + 3]), [0, 1, 2])
    single = _take(supervised_dataset(_indexed_data(count=1, num_classes=1), 2, True), 1)
    np.testing.assert_array_equal(_ids(single[0][0]), [0, 0])


def test_start_step_continues_the_stream():
    data = _indexed_data(count=30)
    full = _take(supervised_dataset(data, 8, training=True, seed=2), 6)
    resumed = _take(supervised_dataset(data, 8, training=True, seed=2, start_step=4), 2)
    for (images_a, labels_a), (images_b, labels_b) in zip(full[4:], resumed, strict=True):
        np.testing.assert_array_equal(images_a, images_b)
        np.testing.assert_array_equal(labels_a, labels_b)
    semi = semi_supervised_dataset(data, data, 2, 2, views=("weak",), seed=2, start_step=3)
    semi_full = semi_supervised_dataset(data, data, 2, 2, views=("weak",), seed=2)
    np.testing.assert_array_equal(
        _take(semi, 1)[0][0]["unlabeled_weak"], _take(semi_full, 4)[3][0]["unlabeled_weak"]
    )
    with pytest.raises(ValueError, match="start_step"):
        supervised_dataset(data, 8, training=True, start_step=-1)


def test_semi_supervised_unlabeled_indices_point_at_the_images():
    data = _indexed_data(count=60)
    labeled, unlabeled = data.subset(np.arange(20)), data.subset(np.arange(20, 60))
    dataset = semi_supervised_dataset(
        labeled,
        unlabeled,
        4,
        unlabeled_ratio=3,
        views=("weak", "strong"),
        include_unlabeled_indices=True,
    )
    for inputs, _ in _take(dataset, 3):
        # Image i of `unlabeled` holds the id 20 + i.
        np.testing.assert_array_equal(
            inputs["unlabeled_index"] + 20, _ids(inputs["unlabeled_weak"])
        )
