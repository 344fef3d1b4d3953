"""`ShardedImageData`: an `ImageData` whose images stay in ArrayRecord shards, read on demand.

`load_dataset` returns it for `config.data.source="shards"`. Splits, subsets and label noise
work on its labels and on positions into the shards (8 bytes per image); the pixels are read
only by the pipelines, a batch at a time (`ShardImages.gather` inside tf.data), so memory grows
with the batch, not with the data set.
"""

import dataclasses
import hashlib

import numpy as np
import tensorflow as tf

from kerasssl.data.image_data import ImageData, check_labels
from kerasssl.data.shards import ShardReader


class ShardImages:
    """A read-only, array-like view of some images of a `ShardReader`, by position.

    Indexing (`images[3]`, `images[10:20]`, `images[[4, 1]]`) reads and decodes those images
    into a uint8 array; `gather` does the same inside a tf.data pipeline; `take` narrows the
    view without reading anything. `np.asarray(images)` reads them all (the in-memory paths,
    e.g. DivideMix, use it).

    Args:
        reader: the `ShardReader` of a split.
        positions: int64 positions into `reader` (repeats allowed), or None for all of them.
    """

    def __init__(self, reader: ShardReader, positions=None):
        self.reader = reader
        if positions is None:
            positions = np.arange(len(reader), dtype=np.int64)
        self.positions = np.asarray(positions, np.int64).reshape(-1)
        self.dtype = np.dtype(np.uint8)

    @property
    def shape(self):
        return (len(self.positions), *self.reader.image_shape)

    @property
    def ndim(self):
        return 4

    def __len__(self):
        return len(self.positions)

    def __repr__(self):
        return f"ShardImages({self.reader.directory}, shape={self.shape})"

    def take(self, indices) -> "ShardImages":
        """The view of the images at `indices` (positions in this view); reads nothing."""
        return ShardImages(self.reader, self.positions[np.asarray(indices, np.int64)])

    @classmethod
    def with_ids(cls, reader: ShardReader, ids) -> "ShardImages":
        """The view of the images whose `id` feature is in `ids`, in that order (a pseudo-label
        table keyed by image id, e.g. the Beam labeler's, selects its images with it)."""
        return cls(reader, reader.positions(ids))

    def ids(self) -> np.ndarray:
        """int64 [len] global image ids (the `id` feature), from the manifest alone."""
        return self.reader.ids(self.positions)

    def __getitem__(self, key):
        if isinstance(key, int | np.integer):
            return self.reader.read(self.positions[[key]])[0][0]
        return self.reader.read(self.positions[key])[0]

    def __array__(self, dtype=None, copy=None):
        images = self.read_all()
        return images if dtype is None else images.astype(dtype)

    def read_all(self, chunk_size=4096) -> np.ndarray:
        """Every image of the view, uint8 [len, h, w, c] (materialises the view)."""
        output = np.empty(self.shape, np.uint8)
        for start in range(0, len(self), chunk_size):
            output[start : start + chunk_size] = self[start : start + chunk_size]
        return output

    def fingerprint(self) -> str:
        """SHA-256 of the shards' checksums and the view's positions (no image is read)."""
        digest = hashlib.sha256()
        for shard in self.reader.manifest["shards"]:
            digest.update(f"{shard['first_id']}:{shard['count']}:{shard['sha256']};".encode())
        digest.update(self.positions.tobytes())
        return digest.hexdigest()

    def gather(self, indices):
        """uint8 [B, h, w, c] tensor of the images at int64 `indices` (a tensor); graph-safe.

        The records are read in Python (`tf.py_function`: ArrayRecord has no TensorFlow op),
        decoded in the graph.
        """
        positions, reader = self.positions, self.reader

        def read(indices_tensor):
            return np.asarray(reader.read_serialized(positions[indices_tensor.numpy()]), object)

        indices = tf.convert_to_tensor(indices, tf.int64)
        serialized = tf.py_function(read, [indices], tf.string)
        # The static batch size of `indices` carries over: a model traced on [B, ...] runs the
        # kernels (and the float rounding) of an in-memory pipeline's batches.
        serialized.set_shape(indices.shape)
        images = decode_images(serialized, self.reader.image_shape)
        return tf.ensure_shape(images, [indices.shape[0], *self.reader.image_shape])


def decode_images(serialized, image_shape):
    """uint8 [B, h, w, c] images of serialized shard records (a string tensor [B])."""
    features = tf.io.parse_example(serialized, {"image": tf.io.FixedLenFeature([], tf.string)})
    channels = int(image_shape[2])
    return tf.map_fn(
        lambda png: tf.io.decode_png(png, channels=channels),
        features["image"],
        fn_output_signature=tf.TensorSpec(image_shape, tf.uint8),
    )


@dataclasses.dataclass(frozen=True, eq=False)
class ShardedImageData(ImageData):
    """An `ImageData` whose `images` is a `ShardImages` view: labels in memory, pixels on disk.

    Everything that works on labels (splits, label noise, class counts, `subset`) works as for
    `ImageData`; the pipelines (`supervised_dataset`, `semi_supervised_dataset`,
    `student_dataset`, `label_images`) read the pixels a batch at a time. `load()` returns the
    in-memory `ImageData`.

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
