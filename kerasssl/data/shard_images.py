"""`ShardImages`: an array-like view of images in ArrayRecord shards, read on demand."""

import hashlib

import numpy as np
import tensorflow as tf


class ShardImages:
    """A read-only, array-like view of some images of a `ShardReader`, by position.

    Indexing (`images[3]`, `images[10:20]`, `images[[4, 1]]`) reads and decodes those images
    into a uint8 array; `gather` does the same inside a tf.data pipeline; `take` narrows the
    view without reading anything. `np.asarray(images)` reads them all (the in-memory paths,
    e.g. `ShardedImageData.load`, use it; the training pipelines read a batch at a time).

    Args:
        reader: the `ShardReader` of a split (or a `TfdsReader`: any reader with `read`,
            `ids`, `image_shape`, `content_fingerprint` and `__len__`).
        positions: int64 positions into `reader` (repeats allowed), or None for all of them.
    """

    def __init__(self, reader, positions=None):
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
        where = getattr(self.reader, "directory", None) or getattr(self.reader, "name", "")
        return f"ShardImages({where}, shape={self.shape})"

    def take(self, indices) -> "ShardImages":
        """The view of the images at `indices` (positions in this view); reads nothing."""
        return ShardImages(self.reader, self.positions[np.asarray(indices, np.int64)])

    @classmethod
    def with_ids(cls, reader, ids) -> "ShardImages":
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
        """SHA-256 of the reader's content (the shards' checksums) and the view's positions;
        no image is read."""
        digest = hashlib.sha256(self.reader.content_fingerprint().encode())
        digest.update(self.positions.tobytes())
        return digest.hexdigest()

    def gather(self, indices):
        """uint8 [B, h, w, c] tensor of the images at int64 `indices` (a tensor); graph-safe.

        The records are read in Python (`tf.py_function`: ArrayRecord has no TensorFlow op);
        shard records are decoded in the graph, a `TfdsReader`'s by tfds.
        """
        positions, reader = self.positions, self.reader
        indices = tf.convert_to_tensor(indices, tf.int64)
        if hasattr(reader, "read_serialized"):

            def read(indices_tensor):
                return np.asarray(reader.read_serialized(positions[indices_tensor.numpy()]), object)

            serialized = tf.py_function(read, [indices], tf.string)
            serialized.set_shape(indices.shape)
            images = decode_images(serialized, self.reader.image_shape)
        else:
            images = tf.py_function(
                lambda indices_tensor: reader.read(positions[indices_tensor.numpy()])[0],
                [indices],
                tf.uint8,
            )
        # The static batch size of `indices` carries over: a model traced on [B, ...] runs the
        # kernels (and the float rounding) of an in-memory pipeline's batches.
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
