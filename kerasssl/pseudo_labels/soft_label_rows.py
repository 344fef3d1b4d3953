"""`SoftLabelRows`: soft targets by reference into the Beam labeler's soft-label shards."""

import pathlib

import numpy as np

from kerasssl.data import shards
from kerasssl.pseudo_labels import beam_labeling, soft_label_shards
from kerasssl.pseudo_labels.probability_rows import ProbabilityRows


class SoftLabelRows(ProbabilityRows):
    """`ProbabilityRows` over a finished Beam labeling job: row p is the soft label of pool
    image `indices[p]`, read from the job's ArrayRecord soft-label shards when asked for.

    The job writes one soft-label shard per pool shard, its records in pool order (ids
    0..N-1 across the shards, the manifest's counts): a pool index is a shard and a record
    offset, read by random access. Every record read carries its image id, which is checked,
    so a shard out of order is an error, never another image's label.

    Args:
        output_dir: folder of a finished Beam labeling job (`beam_labeling.label_shards`).
        indices: int64 [M] pool positions (repeats and any order allowed).
    """

    def __init__(self, output_dir, indices):
        self.output_dir = pathlib.Path(output_dir)
        manifest = beam_labeling.finished_manifest(self.output_dir)
        self.files = [entry["file"] for entry in manifest["shards"]]
        counts = [int(entry["count"]) for entry in manifest["shards"]]
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._init_view(indices, int(manifest["num_classes"]), int(self.starts[-1]))

    def _open(self, shard):
        from array_record.python import array_record_module

        path = self.output_dir / self.files[shard]
        return array_record_module.ArrayRecordReader(str(path), shards.READER_OPTIONS)

    def _locate(self, pool_indices):
        shard_of = np.searchsorted(self.starts, pool_indices, side="right") - 1
        return shard_of, pool_indices - self.starts[shard_of]

    def _rows(self, opened, offsets, pool_indices):
        decoded = [soft_label_shards.decode_soft_label(r) for r in opened.read(offsets.tolist())]
        ids = np.array([image_id for image_id, _ in decoded], np.int64)
        if not np.array_equal(ids, pool_indices):
            raise ValueError(
                f"the soft-label shards in {self.output_dir} are not in pool order (asked for "
                f"images {pool_indices[:5].tolist()}, read {ids[:5].tolist()}): label the pool "
                "again (`kerasssl label --overwrite`)."
            )
        return np.stack([row for _, row in decoded]).astype(np.float32, copy=False)

    def __array__(self, dtype=None, copy=None):
        rows = beam_labeling.gather_soft_labels(self.output_dir, self.indices)
        return rows if dtype is None else rows.astype(dtype)
