"""Converting image folders, tfds splits and arrays to shards (`kerasssl prepare`), streaming.

Each converter feeds `kerasssl.data.shards.write_shards` one image at a time, so memory does
not grow with the data set: an image folder is walked with `os.scandir` (a class folder of
millions of files is never listed at once) and decoded by a parallel tf.data map; a tfds split
is iterated. Ids number the images of one `prepare_shards` call across its splits (train first),
so an id is unique in the data set.

Image order: an image folder is written class folder by class folder (sorted names), files in
directory order (`os.scandir`); a tfds split in its stored order. The order is fixed from then
on by the ids. (It differs from `load_image_folder`'s, which is tfds' shuffle of a full listing,
so a run on shards and one on the folder carve different, equally valid, splits.)
"""

import collections
import itertools
import os
import pathlib

import numpy as np
import tensorflow as tf

from kerasssl.data import shards
from kerasssl.data.image_folder import IMAGE_EXTENSIONS
from kerasssl.data.resize import normalize_image_size, resize_image

AUTOTUNE = tf.data.AUTOTUNE


def arrays_to_shards(directory, images, labels, *, split, class_names, first_id=0, **kwargs):
    """Writes uint8 [N, H, W, C] `images` and their class ids as split `split` of `directory`."""
    images = np.asarray(images)
    ids = np.arange(first_id, first_id + len(images), dtype=np.int64)
    return shards.write_shards(
        directory,
        images,
        labels,
        ids,
        split=split,
        classes=class_names,
        image_shape=images.shape[1:],
        **kwargs,
    )


def image_folder_to_shards(
    directory, root, split, *, image_size=None, channels=3, first_id=0, class_names=None, **kwargs
):
    """Writes the image folder split `<root>/<split>/<class>/*.jpg|png` as shards, streaming.

    Args:
        directory: the output folder of the split.
        root, split: the image folder and its split folder name.
        image_size: None keeps the files' size (all must share it), or an int / (h, w).
        channels: 3 (RGB) or 1 (grayscale).
        first_id: the first image's id.
        class_names: None takes the sorted class folder names; a list requires exactly them
            (so every split of a data set has the same classes).
        **kwargs: passed to `write_shards` (records_per_shard, overwrite).
    """
    image_size = normalize_image_size(image_size)
    split_dir = pathlib.Path(os.path.expanduser(os.fspath(root))) / split
    if not split_dir.is_dir():
        raise ValueError(
            f"Image folder split {split_dir} does not exist; pass a folder laid out as "
            "<root>/<split>/<class_name>/*.jpg|png (config: data.root, data.train_split)."
        )
    found = sorted(entry.name for entry in os.scandir(split_dir) if entry.is_dir())
    if not found:
        raise ValueError(f"{split_dir} has no class folders: put images in <class_name>/ folders.")
    if class_names is not None and list(class_names) != found:
        raise ValueError(
            f"the class folders of {split_dir} are {found}, but the data set's classes are "
            f"{list(class_names)}: every split folder must hold the same class folders."
        )

    def files():
        for label, name in enumerate(found):
            with os.scandir(split_dir / name) as entries:
                for entry in entries:
                    if entry.name.lower().endswith(IMAGE_EXTENSIONS) and entry.is_file():
                        yield entry.path, label

    def decode(path, label):
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=channels, expand_animations=False
        )
        if image_size is not None:
            image = resize_image(image, image_size)
        return path, image, label

    dataset = tf.data.Dataset.from_generator(
        files,
        output_signature=(tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.int64)),
    ).map(decode, num_parallel_calls=AUTOTUNE, deterministic=True)

    def examples():
        position = 0
        iterator = dataset.prefetch(AUTOTUNE).as_numpy_iterator()
        while True:
            try:
                path, image, label = next(iterator)
            except StopIteration:
                return
            except tf.errors.OpError as error:
                # Deterministic order: the failing element is the next file in walking order.
                path = next(itertools.islice(files(), position, None), ("?", 0))[0]
                message = error.message.splitlines()[0] if error.message else type(error).__name__
                raise ValueError(
                    f"Cannot read image file {path!r} ({message}). Replace or delete the file; "
                    f"nothing was written to {directory}."
                ) from None
            position += 1
            yield path.decode(), image, label

    stream = examples()
    first = next(stream, None)
    if first is None:
        raise ValueError(f"{split_dir} holds no {'/'.join(IMAGE_EXTENSIONS)} files.")
    image_shape = first[1].shape

    def checked():
        for path, image, label in itertools.chain([first], stream):
            if image.shape != image_shape:
                raise ValueError(
                    f"Images in {split_dir} differ in size: {path} is "
                    f"{image.shape[0]}x{image.shape[1]}, {first[0]} is "
                    f"{image_shape[0]}x{image_shape[1]}; pass image_size "
                    "(`kerasssl prepare --config.data.image_size=32`) to resize them all. "
                    f"Nothing was written to {directory}."
                )
            yield image, label

    return _write_pairs(directory, checked(), split, found, image_shape, first_id, kwargs)


def tfds_to_shards(
    directory, name, split, *, data_dir=None, image_size=None, first_id=0, download=False, **kwargs
):
    """Writes a tfds image classification split as shards, iterating it (never held whole)."""
    from kerasssl.data.tfds_source import prepared_builder

    image_size = normalize_image_size(image_size)
    builder, image_key, label_key, class_names = prepared_builder(name, data_dir, download)
    try:
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except ValueError as error:
        raise ValueError(
            f"TFDS data set {name!r} has no split {split!r}; its splits are "
            f"{sorted(builder.info.splits)}. ({error})"
        ) from None

    def to_uint8(example):
        image = example[image_key]
        if image_size is not None:
            image = resize_image(image, image_size)
        return tf.cast(image, tf.uint8), tf.cast(example[label_key], tf.int64)

    stream = dataset.map(to_uint8, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
    stream = stream.as_numpy_iterator()
    first = next(stream, None)
    if first is None:
        raise ValueError(f"Split {split!r} of TFDS data set {name!r} is empty.")
    image_shape = first[0].shape

    def checked():
        for position, (image, label) in enumerate(itertools.chain([first], stream)):
            if image.shape != image_shape:
                raise ValueError(
                    f"Images of TFDS data set {name!r} split {split!r} differ in size (image "
                    f"{position} is {image.shape[0]}x{image.shape[1]}, the first "
                    f"{image_shape[0]}x{image_shape[1]}); pass image_size "
                    "(config: data.image_size) to resize them. Nothing was written to "
                    f"{directory}."
                )
            yield image, label

    return _write_pairs(directory, checked(), split, class_names, image_shape, first_id, kwargs)


def _write_pairs(directory, pairs, split, class_names, image_shape, first_id, kwargs):
    # write_shards pulls an image, then its label: the labels of the pulled images wait in a
    # short queue (one entry), never the images.
    pending = collections.deque()

    def images():
        for image, label in pairs:
            pending.append(int(label))
            yield image

    return shards.write_shards(
        directory,
        images(),
        _Pending(pending),
        itertools.count(first_id),
        split=split,
        classes=class_names,
        image_shape=image_shape,
        **kwargs,
    )


class _Pending:
    """Iterates a queue that is filled while it is read (the labels of images already pulled)."""

    def __init__(self, queue):
        self.queue = queue

    def __iter__(self):
        while self.queue:
            yield self.queue.popleft()


def prepare_shards(
    data_config, output, records_per_shard=shards.DEFAULT_RECORDS_PER_SHARD, overwrite=False
):
    """Writes the train and test splits a recipe's `config.data` describes as shards.

    What `kerasssl prepare --config=RECIPE --output=DIR` runs: `<output>/<train_split>/` and
    `<output>/<test_split>/`, each a shard folder; train with `--config.data.source=shards
    --config.data.root=DIR`. image_folder and tfds sources are streamed; digits and npz are
    small in-memory sources, loaded then written.

    Returns:
        {split: manifest} of the splits written.
    """
    source = data_config.get("source")
    output = pathlib.Path(output)
    image_size = data_config.get("image_size") or None
    splits = [data_config.get("train_split") or "train", data_config.get("test_split") or "test"]
    options = {"records_per_shard": int(records_per_shard), "overwrite": bool(overwrite)}
    manifests, first_id, class_names = {}, 0, None
    if source == "shards":
        raise ValueError("data.source is already 'shards'; prepare reads another source.")
    if source in ("digits", "npz"):
        from kerasssl.data.sources import load_dataset

        data = load_dataset(data_config)
        for key, split in zip(("train", "test"), splits, strict=True):
            manifests[split] = arrays_to_shards(
                output / split,
                data[key].images,
                data[key].labels,
                split=split,
                class_names=data[key].class_names,
                first_id=first_id,
                **options,
            )
            first_id += len(data[key])
        return manifests
    if source == "image_folder":
        if not data_config.get("root"):
            raise ValueError("data.source='image_folder' needs data.root (the image folder).")
        class_names = _same_class_folders(data_config.get("root"), splits)
    for split in splits:
        if source == "image_folder":
            root = data_config.get("root")
            manifest = image_folder_to_shards(
                output / split,
                root,
                split,
                image_size=image_size,
                first_id=first_id,
                class_names=class_names,
                **options,
            )
        elif source == "tfds":
            if not data_config.get("name"):
                raise ValueError("data.source='tfds' needs data.name, e.g. cifar10.")
            manifest = tfds_to_shards(
                output / split,
                data_config.get("name"),
                split,
                data_dir=data_config.get("data_dir") or None,
                image_size=image_size,
                first_id=first_id,
                download=bool(data_config.get("download", False)),
                **options,
            )
        else:
            raise ValueError(
                f"data.source={source!r} cannot be prepared; use digits, image_folder, tfds or npz."
            )
        manifests[split] = manifest
        class_names = manifest["classes"]
        first_id += manifest["count"]
    return manifests


def _same_class_folders(root, splits):
    """The class folder names every split shares; checked before any split is written."""
    root = pathlib.Path(os.path.expanduser(os.fspath(root)))
    found = {}
    for split in splits:
        if not (root / split).is_dir():
            raise ValueError(
                f"Image folder {root} has no split folder {split!r} (config: data.train_split, "
                "data.test_split); lay it out as <root>/<split>/<class_name>/*.jpg|png."
            )
        found[split] = sorted(entry.name for entry in os.scandir(root / split) if entry.is_dir())
    first = found[splits[0]]
    for split in splits[1:]:
        if found[split] != first:
            raise ValueError(
                f"the class folders of {root / split} are {found[split]}, but those of "
                f"{root / splits[0]} are {first}: every split folder must hold the same class "
                "folders. Nothing was written."
            )
    return first
