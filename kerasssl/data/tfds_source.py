"""TensorFlow Datasets by name: prepared in `data_dir`, downloaded there first if asked to."""

import numpy as np
import tensorflow as tf

from kerasssl.data.image_data import ImageData
from kerasssl.data.resize import normalize_image_size, resize_image

_DECODE_BATCH_SIZE = 1024


def load_tfds(
    name: str, split: str, data_dir=None, image_size=None, download=False, streaming=False
) -> ImageData:
    """Reads a TFDS image classification data set into a uint8 `ImageData`.

    With `download=False` the data set must already be prepared in `data_dir` (e.g. with
    `tfds build cifar10 --data_dir=DIR` on a machine with internet, then copied); with
    `download=True` a data set not prepared yet is downloaded and prepared there first (what
    `kerasssl train` does by default, `config.data.download`). The image and label features
    are the builder's `supervised_keys`, or "image" and "label"; class names come from the
    label's `ClassLabel` feature.

    Args:
        name: TFDS name, optionally with config/version, e.g. "cifar10" or "mnist:3.*.*".
        split: TFDS split, e.g. "train", "test" or "train[:10%]".
        data_dir: folder holding the prepared data; None means ~/tensorflow_datasets.
        image_size: None, an int or (height, width) to resize every image.
        download: True downloads and prepares a data set that `data_dir` lacks.
        streaming: True returns a `ShardedImageData` that reads the split a batch at a time
            through tfds' random-access data source (the data set must be built with
            `--file_format=array_record`); only the labels are loaded.

    Returns:
        An `ImageData` of the split (a `ShardedImageData` when streaming).
    """
    image_size = normalize_image_size(image_size)
    builder, image_key, label_key, class_names = prepared_builder(name, data_dir, download)
    if streaming or _file_format(builder) == "array_record":
        # tfds reads ArrayRecord builds through their random-access data source only.
        data = _streamed(builder, name, split, image_key, label_key, class_names, image_size)
        return data if streaming else data.load()
    try:
        dataset = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
    except ValueError as error:
        raise ValueError(
            f"TFDS data set {name!r} has no split {split!r}; its splits are "
            f"{sorted(builder.info.splits)}. ({error})"
        ) from None

    def to_uint8(image, label):
        if image_size is not None:
            image = resize_image(image, image_size)
        return tf.cast(image, tf.uint8), tf.cast(label, tf.int64)

    dataset = dataset.map(to_uint8, num_parallel_calls=tf.data.AUTOTUNE)
    image_batches, label_batches = [], []
    try:
        for images, labels in dataset.batch(_DECODE_BATCH_SIZE).as_numpy_iterator():
            image_batches.append(images)
            label_batches.append(labels)
    except tf.errors.InvalidArgumentError:
        if image_size is None:
            raise ValueError(
                f"Images of TFDS data set {name!r} differ in size; pass `image_size` "
                "(config: data.image_size) to resize them."
            ) from None
        raise
    if not image_batches:
        raise ValueError(f"Split {split!r} of TFDS data set {name!r} is empty.")
    images = np.concatenate(image_batches)
    return ImageData(images, np.concatenate(label_batches), class_names)


def _streamed(builder, name, split, image_key, label_key, class_names, image_size):
    from kerasssl.data.shard_images import ShardImages
    from kerasssl.data.sharded_image_data import ShardedImageData
    from kerasssl.data.tfds_reader import TfdsReader

    file_format = _file_format(builder)
    if file_format != "array_record":
        raise ValueError(
            f"TFDS data set {name!r} is stored as {file_format}, which is read in order only: "
            "streaming (config: data.streaming) needs random access. Build it with `tfds build "
            f"{name} --file_format=array_record`, or convert it to shards once with `kerasssl "
            "prepare --config.data.source=tfds ...` and train with data.source=shards."
        )
    try:
        reader = TfdsReader(builder, split, image_key, label_key, class_names, image_size)
    except ValueError as error:
        if "split" in str(error).lower() and "varying" not in str(error):
            raise ValueError(
                f"TFDS data set {name!r} has no split {split!r}; its splits are "
                f"{sorted(builder.info.splits)}. ({error})"
            ) from None
        raise
    return ShardedImageData(ShardImages(reader), reader.labels(), class_names)


def _file_format(builder):
    return str(getattr(builder.info.file_format, "value", builder.info.file_format))


def _download_and_prepare(builder, name, where):
    try:
        builder.download_and_prepare()
    except Exception as error:  # noqa: BLE001 -- network, manual-download and quota errors
        raise ValueError(
            f"TFDS could not download and prepare {name!r} into {where} ({type(error).__name__}: "
            f"{str(error)[:300]}). Without internet, prepare it elsewhere (`tfds build {name} "
            "--data_dir=DIR`), copy DIR here, and pass it as data_dir (config: data.data_dir) "
            "with download=false (config: data.download=false)."
        ) from error


def prepared_builder(name, data_dir=None, download=False):
    """(builder, image feature, label feature, class names) of a prepared tfds data set.

    Downloads and prepares it first when `download` and it is absent; ValueError otherwise.
    """
    # Imported here: tensorflow_datasets adds ~1 s to `import kerasssl.data`.
    import tensorflow_datasets as tfds

    where = f"data_dir={data_dir!r}" if data_dir else "the default data_dir (~/tensorflow_datasets)"
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"TFDS has no data set named {name!r} (config: data.name) and none is prepared in "
            f"{where}; check the spelling against `tfds.list_builders()`."
        ) from None
    if not builder.is_prepared() and download:
        _download_and_prepare(builder, name, where)
    if not builder.is_prepared():
        raise ValueError(
            f"TFDS data set {name!r} has no local copy in {where} and download=False "
            "(config: data.download). With internet pass download=True; without, prepare it "
            f"elsewhere (`tfds build {name} --data_dir=DIR`), copy DIR here and pass it as "
            "`data_dir` (config: data.data_dir), or use source='image_folder'."
        )
    image_key, label_key = builder.info.supervised_keys or ("image", "label")
    features = builder.info.features
    if image_key not in features or label_key not in features:
        raise ValueError(
            f"TFDS data set {name!r} has no ({image_key!r}, {label_key!r}) features; "
            "kerasssl reads image classification data sets only."
        )
    label_feature = features[label_key]
    if isinstance(label_feature, tfds.features.ClassLabel):
        class_names = tuple(label_feature.names)
    else:
        raise ValueError(
            f"The label feature {label_key!r} of TFDS data set {name!r} is not a ClassLabel."
        )
    return builder, image_key, label_key, class_names
