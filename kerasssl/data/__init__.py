"""kerasssl.data: image sources, splits, label noise and tf.data pipelines."""

from kerasssl.data.arrays import load_arrays, load_npz
from kerasssl.data.digits import load_digits
from kerasssl.data.image_data import ImageData
from kerasssl.data.image_folder import load_image_folder
from kerasssl.data.label_noise import (
    CIFAR10_ASYMMETRIC_MAP,
    CIFAR10_CLASS_NAMES,
    LabelNoise,
    inject_label_noise,
    transition_matrix,
)
from kerasssl.data.pipelines import semi_supervised_dataset, supervised_dataset
from kerasssl.data.resize import resize_images
from kerasssl.data.shard_images import ShardImages
from kerasssl.data.sharded_image_data import ShardedImageData, load_shards
from kerasssl.data.shards import ShardReader, read_manifest, write_shards
from kerasssl.data.sources import SOURCES, load_dataset
from kerasssl.data.splits import labeled_unlabeled_split, validation_split
from kerasssl.data.tfds_source import load_tfds
from kerasssl.data.to_shards import prepare_shards

__all__ = [
    "CIFAR10_ASYMMETRIC_MAP",
    "CIFAR10_CLASS_NAMES",
    "SOURCES",
    "ImageData",
    "LabelNoise",
    "ShardImages",
    "ShardReader",
    "ShardedImageData",
    "inject_label_noise",
    "labeled_unlabeled_split",
    "load_arrays",
    "load_dataset",
    "load_digits",
    "load_image_folder",
    "load_npz",
    "load_shards",
    "load_tfds",
    "prepare_shards",
    "read_manifest",
    "resize_images",
    "semi_supervised_dataset",
    "supervised_dataset",
    "transition_matrix",
    "validation_split",
    "write_shards",
]
