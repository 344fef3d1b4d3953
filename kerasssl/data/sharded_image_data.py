"""`ShardedImageData`: an `ImageData` whose images stay in ArrayRecord shards, read on demand.

`load_dataset` returns it for `config.data.source="shards"`. Splits, subsets and label noise
work on its labels and on positions into the shards (8 bytes per image); the pixels are read
only by the pipelines, a batch at a time (`ShardImages.gather` inside tf.data), and by
instance label noise, a chunk at a time (`PixelFeatures`), so memory grows with the batch, not
with the data set.
"""

import dataclasses

import numpy as np

from kerasssl.data.image_data import ImageData, check_labels
from kerasssl.data.shard_images import ShardImages
from kerasssl.data.shards import ShardReader


@dataclasses.dataclass(frozen=True, eq=False)
class ShardedImageData(ImageData):
    """An `ImageData` whose `images` is a `ShardImages` view: labels in memory, pixels on disk.

    Everything that works on labels (splits, label noise, class counts, `subset`) works as for
    `ImageData`; the pipelines (`supervised_dataset`, `semi_supervised_dataset`,
    `student_dataset`, `label_images`, DivideMix's `warmup_dataset`, `divide_mix_dataset` and
    the co-divide's `per_sample_cross_entropy`) read the pixels a batch at a time. `load()`
    returns the in-memory `ImageData`.

    Args:
        images: a `ShardImages`.
        labels: int class ids [N] (-1 is refused: use `load_shards` on labeled splits only, or
            pass the labels you want).
        class_names: one name per class.

    Example:
    ```python
    train = load_shards("shards/train", "train")
    train.subset([0, 5]).load().images.shape  # (2, 32, 32, 3)
    ```
    """

    def __post_init__(self):
        if not isinstance(self.images, ShardImages):
            raise TypeError(
                f"ShardedImageData needs `images` as a ShardImages; got "
                f"{type(self.images).__name__}. Use ImageData for in-memory arrays."
            )
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise TypeError("`labels` must be a 1-D integer array of class ids.")
        if len(labels) != len(self.images):
            raise ValueError(
                f"`labels` has {len(labels)} entries but `images` has {len(self.images)}."
            )
        class_names = tuple(str(name) for name in self.class_names)
        if not class_names or len(set(class_names)) != len(class_names):
            raise ValueError(f"`class_names` must be distinct and non-empty: {class_names}.")
        check_labels(labels, len(class_names))
        object.__setattr__(self, "labels", labels.astype(np.int64, copy=False))
        object.__setattr__(self, "class_names", class_names)

    @property
    def image_shape(self):
        return tuple(int(size) for size in self.images.shape[1:])

    def subset(self, indices) -> "ShardedImageData":
        indices = np.asarray(indices)
        if indices.ndim != 1 or not (np.issubdtype(indices.dtype, np.integer) or indices.size == 0):
            raise TypeError("`indices` must be a 1-D integer array.")
        indices = indices.astype(np.int64, copy=False)
        return ShardedImageData(self.images.take(indices), self.labels[indices], self.class_names)

    def load(self) -> ImageData:
        """The in-memory `ImageData` (reads every image of the view)."""
        return ImageData(self.images.read_all(), self.labels, self.class_names)


def load_shards(directory, split, verify_checksums=False) -> ShardedImageData:
    """The labeled split in shard folder `directory` as a `ShardedImageData` (reads labels only).

    Raises:
        ValueError when a record has no label (-1): a training or test split needs labels.
    """
    reader = ShardReader(directory, split, verify_checksums=verify_checksums)
    labels = reader.labels()
    if (labels < 0).any():
        raise ValueError(
            f"split {split!r} in {directory} holds {int((labels < 0).sum())} unlabeled images "
            "(label -1): data.source='shards' reads labeled splits; hide labels with "
            "config.data.labels_per_class instead."
        )
    return ShardedImageData(ShardImages(reader), labels, reader.classes)


def concatenate(first: ImageData, second: ImageData) -> ImageData:
    """`first` then `second`: lazily when both view the same shards, else in memory."""
    if (
        isinstance(first, ShardedImageData)
        and isinstance(second, ShardedImageData)
        and first.images.reader is second.images.reader
    ):
        images = ShardImages(
            first.images.reader, np.concatenate([first.images.positions, second.images.positions])
        )
        labels = np.concatenate([first.labels, second.labels])
        return ShardedImageData(images, labels, first.class_names)
    return ImageData(
        np.concatenate([np.asarray(first.images), np.asarray(second.images)]),
        np.concatenate([first.labels, second.labels]),
        first.class_names,
    )
