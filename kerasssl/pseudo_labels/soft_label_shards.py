"""Soft-label shards: a teacher's per-image probabilities as ArrayRecord files.

The same style as the image shards of `kerasssl.data.shards`: each record a serialized
`tf.train.Example` with
    id             int64   the image's id in the pool's shards
    probabilities  float   [num_classes], the teacher's softmax
and files `soft_labels-00000-of-00008.array_record`, one per pool shard, holding that shard's ids
in the same order. A file is written to a temporary name and renamed, so it is whole or absent.
The Beam labeler (`kerasssl.pseudo_labels.beam_labeling`) writes them beside its manifest.
"""

import os
import pathlib
import tempfile

import numpy as np

from kerasssl.data import shards

SPLIT = "soft_labels"


def file_name(index, num_shards):
    """`soft_labels-<index:05d>-of-<num_shards:05d>.array_record`."""
    return shards.shard_file_name(SPLIT, index, num_shards)


def encode_soft_label(image_id, probabilities) -> bytes:
    """A serialized `tf.train.Example` {id: int64, probabilities: float [num_classes]}."""
    from tensorflow.core.example import example_pb2, feature_pb2

    features = {
        "id": feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=[int(image_id)])),
        "probabilities": feature_pb2.Feature(
            float_list=feature_pb2.FloatList(value=np.asarray(probabilities, np.float32))
        ),
    }
    example = example_pb2.Example(features=feature_pb2.Features(feature=features))
    # deterministic: protobuf writes map entries (the features) in a per-process hash order
    # otherwise, and a rerun in another process would write other bytes.
    return example.SerializeToString(deterministic=True)


def decode_soft_label(data: bytes):
    """(int id, float32 [num_classes] probabilities) of a record `encode_soft_label` wrote."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    example.ParseFromString(data)
    feature = example.features.feature
    if "id" not in feature or "probabilities" not in feature:
        raise ValueError(
            f"a record lacks the features id/probabilities (it has {sorted(feature)}): it is "
            "not a soft label of kerasssl.pseudo_labels.soft_label_shards."
        )
    probabilities = np.asarray(feature["probabilities"].float_list.value, np.float32)
    return int(feature["id"].int64_list.value[0]), probabilities


def write_shard(path, ids, probabilities):
    """Writes one soft-label shard atomically: a temporary file, then `os.replace`."""
    from array_record.python import array_record_module

    path = pathlib.Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        writer = array_record_module.ArrayRecordWriter(temporary, shards.WRITER_OPTIONS)
        for image_id, row in zip(ids.tolist(), probabilities, strict=True):
            writer.write(encode_soft_label(image_id, row))
        writer.close()
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def read_shard(path):
    """(int64 ids [n], float32 probabilities [n, num_classes]) of one soft-label shard."""
    from array_record.python import array_record_module

    reader = array_record_module.ArrayRecordReader(str(path), shards.READER_OPTIONS)
    try:
        records = reader.read_all()
    finally:
        reader.close()
    decoded = [decode_soft_label(record) for record in records]
    ids = np.array([image_id for image_id, _ in decoded], np.int64)
    if not decoded:
        return ids, np.zeros((0, 0), np.float32)
    return ids, np.stack([row for _, row in decoded])
