"""Shard-backed data: the same batches as in memory, read a batch at a time from disk."""

import keras
import numpy as np
import pytest

from kerasssl import recipe_defaults
from kerasssl.data import ImageData, divide_mix_pipeline, pipelines, shards
from kerasssl.data.prepare import prepare_data
from kerasssl.data.shard_images import ShardImages
from kerasssl.data.sharded_image_data import ShardedImageData, concatenate, load_shards
from kerasssl.noisy_labels.gmm_split import per_sample_cross_entropy
from kerasssl.pseudo_labels.fingerprints import images_fingerprint
from kerasssl.pseudo_labels.selection import Selection
from kerasssl.pseudo_labels.student_dataset import student_dataset

CLASSES = ("a", "b", "c")


def _both(tmp_path, count=40, split="train", seed=0):
    """The same images in memory and in shards (4 shards, so batches cross shard files)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(count) % len(CLASSES)
    shards.write_shards(
        tmp_path / split, images, labels, split=split, classes=CLASSES, image_shape=(8, 8, 3),
        records_per_shard=count // 4 + 1,
    )  # fmt: skip
    return ImageData(images, labels, CLASSES), load_shards(tmp_path / split, split)


def _assert_same_batches(first, second, count):
    for a, b in zip(first.take(count), second.take(count), strict=True):
        for x, y in zip(_leaves(a), _leaves(b), strict=True):
            np.testing.assert_array_equal(x, y)


def _leaves(element):
    if isinstance(element, dict):
        return [value for key in sorted(element) for value in _leaves(element[key])]
    if isinstance(element, tuple | list):
        return [value for item in element for value in _leaves(item)]
    return [np.asarray(element)]


def test_a_lazy_view_reads_only_what_is_asked(tmp_path):
    memory, sharded = _both(tmp_path)
    assert isinstance(sharded, ShardedImageData) and len(sharded) == 40
    assert sharded.image_shape == (8, 8, 3) and sharded.images.shape == (40, 8, 8, 3)
    subset = sharded.subset([5, 2, 2, 39])
    np.testing.assert_array_equal(subset.images[1:3], memory.images[[2, 2]])
    np.testing.assert_array_equal(subset.load().images, memory.images[[5, 2, 2, 39]])
    np.testing.assert_array_equal(subset.images.ids(), [5, 2, 2, 39])
    by_id = ShardImages.with_ids(sharded.images.reader, [39, 5])
    np.testing.assert_array_equal(by_id[:], memory.images[[39, 5]])
    np.testing.assert_array_equal(np.asarray(sharded.images), memory.images)
    np.testing.assert_array_equal(sharded.class_counts(), memory.class_counts())
    both = concatenate(sharded.subset([1]), sharded.subset([3]))
    assert isinstance(both, ShardedImageData)
    np.testing.assert_array_equal(both.load().images, memory.images[[1, 3]])
    # The pool hash of the labeling job reads no image, and follows the positions.
    assert images_fingerprint(subset.images) != images_fingerprint(sharded.subset([5]).images)


@pytest.mark.parametrize("training", [True, False])
def test_supervised_batches_equal_in_memory(tmp_path, training):
    memory, sharded = _both(tmp_path)
    make = lambda data: pipelines.supervised_dataset(  # noqa: E731
        data, 16, training=training, seed=3, augment="weak", start_step=2 if training else 0
    )
    _assert_same_batches(make(memory), make(sharded), 7 if training else 3)


def test_semi_supervised_and_student_batches_equal_in_memory(tmp_path):
    memory, sharded = _both(tmp_path)
    labeled, unlabeled = np.arange(0, 40, 5), np.setdiff1d(np.arange(40), np.arange(0, 40, 5))
    make = lambda data: pipelines.semi_supervised_dataset(  # noqa: E731
        data.subset(labeled), data.subset(unlabeled), 4, unlabeled_ratio=2, views=("weak",), seed=1,
        include_unlabeled_labels=True, include_unlabeled_indices=True,
    )  # fmt: skip
    _assert_same_batches(make(memory), make(sharded), 3)
    selection = Selection(
        np.array([3, 3, 0, 7, 20]), np.array([0, 0, 1, 2, 1]), np.ones(5, np.float32)
    )
    make = lambda data: student_dataset(  # noqa: E731
        data.subset(labeled), data.subset(unlabeled).images, selection, 4, 2,
        labeled_view="weak", pseudo_view="weak", seed=2, start_step=1,
    )  # fmt: skip
    _assert_same_batches(make(memory), make(sharded), 3)


def test_divide_mix_batches_equal_in_memory(tmp_path, shard_reads):
    """Warm-up and MixMatch streams read the shards a batch at a time, by index."""
    memory, sharded = _both(tmp_path)
    make = lambda data: divide_mix_pipeline.warmup_dataset(  # noqa: E731
        data, 8, seed=2, augment="weak", start_step=3
    )
    _assert_same_batches(make(memory), make(sharded), 7)
    rng = np.random.default_rng(0)
    clean_probabilities = [rng.uniform(size=40), rng.uniform(size=40)]
    make = lambda data: divide_mix_pipeline.divide_mix_dataset(  # noqa: E731
        data, clean_probabilities, 0.5, 4, seed=1, epoch=2, augment="weak"
    )
    (memory_batches, memory_sizes), (sharded_batches, sharded_sizes) = make(memory), make(sharded)
    assert memory_sizes == sharded_sizes
    _assert_same_batches(memory_batches, sharded_batches, 6)
    assert shard_reads and max(shard_reads) <= 8  # batches, never a split


def test_per_sample_losses_equal_in_memory(tmp_path, shard_reads):
    """The co-divide's loss pass reads the shards a batch at a time, with the same floats."""
    memory, sharded = _both(tmp_path, count=45)  # 45: the last batch of 16 is short
    inputs = keras.Input((8, 8, 3))
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(inputs / 255.0)
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(hidden))
    model = keras.Model(inputs, outputs)
    expected = per_sample_cross_entropy(model, memory.images, memory.labels, batch_size=16)
    actual = per_sample_cross_entropy(model, sharded.images, sharded.labels, batch_size=16)
    assert actual.shape == (45,)
    np.testing.assert_array_equal(actual, expected)
    assert shard_reads and max(shard_reads) <= 16
    with pytest.raises(ValueError, match="one label per image"):
        per_sample_cross_entropy(model, sharded.images, sharded.labels[:3])


def test_prepare_data_on_shards_keeps_the_images_on_disk(tmp_path):
    _both(tmp_path, 60, "train")
    _both(tmp_path, 9, "test", seed=1)
    config = recipe_defaults.base_config().data
    config.source, config.root, config.labels_per_class = "shards", str(tmp_path), 4
    config.verify_checksums = True
    config.noise.rate = 0.2
    data = prepare_data(config, seed=0)
    for split in (data.labeled, data.unlabeled, data.validation, data.test):
        assert isinstance(split, ShardedImageData)
    assert len(data.validation) == 6 and len(data.labeled) == 12 and len(data.unlabeled) == 42
    assert data.input_shape == (8, 8, 3) and data.label_noise is not None
    config.noise.rate, config.image_size = 0.0, 16
    with pytest.raises(ValueError, match="data.image_size=16 .* 8x8"):
        prepare_data(config, seed=0)
