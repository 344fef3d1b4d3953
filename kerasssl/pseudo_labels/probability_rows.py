"""`ProbabilityRows`: soft targets by reference, rows of a labeling job's shards read on demand."""

import collections
import pathlib
import threading

import numpy as np
import tensorflow as tf

from kerasssl.pseudo_labels import labeling_job

# Each memory map holds a file descriptor: a JFT-size job has ~16k shards, past the usual
# limit of 1,024 open files, so only the most recently read shards stay mapped.
OPEN_SHARDS = 64


class ProbabilityRows:
    """A read-only, array-like view of the probabilities of pool images `indices`, by position.

    Row p is the teacher's probabilities of pool image `indices[p]`, read from the labeling
    job's `.npy` shards (which are in pool order) when asked for: `gather` reads a batch inside
    a tf.data pipeline, `np.asarray(rows)` reads them all. A `Selection` carries its soft
    targets as one so that the student's stream holds the indices (8 bytes per row), not
    [M, num_classes] floats: 520 GB for Noisy Student's 130M selected JFT images x 1,000
    classes. The values are the shards' bytes, so batches are bit for bit those of
    `read_rows(output_dir, indices)` held in memory.

    Args:
        output_dir: folder of a finished labeling job (`labeling_job.label_images`).
        indices: int64 [M] pool positions (repeats and any order allowed).

    Example:
        >>> targets = ProbabilityRows("runs/x/round_1/pseudo_labels", selection_indices)
        >>> batch = targets.gather(tf.constant([0, 5, 2], tf.int64))  # float32 [3, classes]
    """

    def __init__(self, output_dir, indices):
        self.output_dir = pathlib.Path(output_dir)
        manifest = labeling_job.finished_manifest(self.output_dir)
        self.shard_size = int(manifest["shard_size"])
        self.num_shards = int(manifest["num_shards"])
        self._init_view(indices, int(manifest["num_classes"]), int(manifest["num_images"]))

    def _init_view(self, indices, num_classes, num_images):
        """The view's rows and the shard cache; ValueError for an index outside the job."""
        self.indices = np.asarray(indices, np.int64).reshape(-1)
        self.num_classes = num_classes
        if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= num_images):
            raise ValueError(
                f"indices must be in [0, {num_images}) (the job in {self.output_dir} labeled "
                f"{num_images} images), got {self.indices.min()} .. {self.indices.max()}."
            )
        self.dtype = np.dtype(np.float32)
        # Memory-mapped lazily: a batch reads its rows' pages, not whole shards. tf.data calls
        # `read` from several threads, hence the lock around the least-recently-used maps.
        self._shards = collections.OrderedDict()
        self._lock = threading.Lock()

    @property
    def shape(self):
        return (len(self.indices), self.num_classes)

    @property
    def ndim(self):
        return 2

    def __len__(self):
        return len(self.indices)

    def __repr__(self):
        return f"ProbabilityRows({self.output_dir}, shape={self.shape})"

    def _open(self, shard):
        """The opened shard `shard` (subclasses read other shard formats)."""
        path = self.output_dir / labeling_job.shard_name(shard, self.num_shards)
        return np.load(path, mmap_mode="r")

    def _locate(self, pool_indices):
        """(shard, offset in it) of each pool index: the job's shards hold shard_size each."""
        shards = pool_indices // self.shard_size
        return shards, pool_indices - shards * self.shard_size

    def _rows(self, opened, offsets, pool_indices):
        """float32 [n, num_classes] rows at `offsets` of an opened shard."""
        del pool_indices  # a .npy shard holds no ids to check
        return opened[offsets]

    def _shard(self, shard):
        with self._lock:
            if shard in self._shards:
                self._shards.move_to_end(shard)
                return self._shards[shard]
            self._shards[shard] = opened = self._open(shard)
            while len(self._shards) > OPEN_SHARDS:
                # Closed once no batch being read still holds it.
                self._shards.popitem(last=False)
            return opened

    def read(self, positions) -> np.ndarray:
        """float32 [len(positions), num_classes] rows at `positions` (positions in this view)."""
        pool_indices = self.indices[np.asarray(positions, np.int64).reshape(-1)]
        rows = np.empty((len(pool_indices), self.num_classes), np.float32)
        shards, offsets = self._locate(pool_indices)
        for shard in np.unique(shards).tolist():
            chosen = np.flatnonzero(shards == shard)
            rows[chosen] = self._rows(self._shard(shard), offsets[chosen], pool_indices[chosen])
        return rows

    def __array__(self, dtype=None, copy=None):
        rows = labeling_job.read_rows(self.output_dir, self.indices)
        return rows if dtype is None else rows.astype(dtype)

    def argmax(self, chunk_size=65536) -> np.ndarray:
        """int64 [M] class ids of the rows, read a chunk at a time (memory O(chunk x classes))."""
        classes = np.empty(len(self), np.int64)
        for start in range(0, len(self), chunk_size):
            positions = np.arange(start, min(len(self), start + chunk_size))
            classes[positions] = np.argmax(self.read(positions), axis=1)
        return classes

    def gather(self, positions):
        """float32 [B, num_classes] tensor of the rows at int64 `positions` (a tensor); graph-safe.

        Read in Python (`tf.numpy_function`): the shards are numpy files, not a TensorFlow op's.
        """
        positions = tf.convert_to_tensor(positions, tf.int64)
        rows = tf.numpy_function(self.read, [positions], tf.float32, stateful=False)
        # The static shape of an in-memory `tf.gather`, so a model traces the same kernels.
        return tf.ensure_shape(rows, [positions.shape[0], self.num_classes])
