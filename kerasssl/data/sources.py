"""`load_dataset`: reads a recipe's `config.data` into {"train": ImageData, "test": ImageData}."""

from kerasssl.data.arrays import load_npz
from kerasssl.data.digits import load_digits
from kerasssl.data.image_data import ImageData
from kerasssl.data.image_folder import load_image_folder
from kerasssl.data.resize import normalize_image_size, resize_images
from kerasssl.data.tfds_source import load_tfds

SOURCES = ("digits", "image_folder", "tfds", "npz", "shards")


def load_dataset(data_config) -> dict[str, ImageData]:
    """Loads the train and test splits that a data config describes.

    Fields of `data_config` (an `ml_collections.ConfigDict` or a dict; absent fields take the
    defaults):
    - `source`: "digits" (built in, no download), "image_folder", "tfds", "npz" or "shards"
      (the output of `kerasssl prepare`, streamed from disk: see `ShardedImageData`).
    - `root`: image_folder root, laid out as <root>/<split>/<class>/*.jpg|png; shards: the
      folder `kerasssl prepare` wrote, <root>/<split>/manifest.json.
    - `verify_checksums`: shards only; True checks every shard's SHA-256 before training.
    - `name`, `data_dir`, `download`: tfds name, the local folder holding it, and whether to
      download and prepare it there when absent (default False here; recipes say True).
    - `streaming`: tfds only; True reads batches through tfds' random-access data source
      (a data set built with --file_format=array_record) instead of loading the split.
    - `path`: npz file; either with a "{split}" placeholder ("data/{split}.npz", one file per
      split with keys images/labels) or one file with per-split keys (x_train, y_train, ...).
    - `image_size`: None (keep), an int or (height, width); every source is resized to it.
    - `train_split`, `test_split`: split names, default "train" and "test".
    - `seed`: digits only, the seed of its fixed train/test split (default 0).

    Returns:
        {"train": ImageData, "test": ImageData}, with the same class names.
    """
    source = _field(data_config, "source", None)
    if source not in SOURCES:
        raise ValueError(
            f"Unknown data source {source!r} (config: data.source); use one of {list(SOURCES)}."
        )
    # Recipes write 0 for "keep the source's size" (ml_collections cannot override None).
    image_size = _field(data_config, "image_size", None) or None
    splits = {
        "train": _field(data_config, "train_split", "train"),
        "test": _field(data_config, "test_split", "test"),
    }
    if source == "digits":
        seed = _field(data_config, "seed", 0)
        data = {key: load_digits(split, seed=seed) for key, split in splits.items()}
    elif source == "image_folder":
        root = _required(data_config, "root", source, "../shared/data/cifar10-subset")
        data = {
            key: load_image_folder(root, split, image_size=image_size)
            for key, split in splits.items()
        }
    elif source == "tfds":
        name = _required(data_config, "name", source, "cifar10")
        data_dir = _field(data_config, "data_dir", None)
        data = {
            key: load_tfds(
                name,
                split,
                data_dir=data_dir,
                image_size=image_size,
                download=bool(_field(data_config, "download", False)),
                streaming=bool(_field(data_config, "streaming", False)),
            )
            for key, split in splits.items()
        }
        if _field(data_config, "streaming", False):
            image_size = None  # the reader resizes as it reads
    elif source == "shards":
        root = _required(data_config, "root", source, "shards/cifar10")
        data = {
            key: _load_shards(
                root, split, image_size, bool(_field(data_config, "verify_checksums", False))
            )
            for key, split in splits.items()
        }
        image_size = None  # _load_shards checked it
    else:
        path = str(_required(data_config, "path", source, "data/{split}.npz"))
        data = {
            key: load_npz(path.format(split=split))
            if "{split}" in path
            else load_npz(path, split=split)
            for key, split in splits.items()
        }
    if image_size is not None:
        data = {key: _resized(value, image_size) for key, value in data.items()}
    if data["train"].class_names != data["test"].class_names:
        raise ValueError(
            f"The train and test splits have different classes: {data['train'].class_names} vs "
            f"{data['test'].class_names}; both splits must hold the same class set."
        )
    check_every_class_has_examples(data["train"], f"the {splits['train']!r} split")
    return data


def check_every_class_has_examples(data: ImageData, what: str) -> None:
    """Raises ValueError naming the classes of `data` without a single example.

    A class without training images is still scored (and takes an output unit and a class
    id), but it can never be predicted right.
    """
    counts = data.class_counts()
    empty = [name for name, count in zip(data.class_names, counts, strict=True) if not count]
    if empty:
        raise ValueError(
            f"Classes {empty} have no images in {what} (of classes {list(data.class_names)}): "
            "every class needs training images. Add images of those classes, or remove them "
            "from the data set."
        )


def _load_shards(root, split, image_size, verify_checksums):
    import os

    from kerasssl.data.sharded_image_data import load_shards

    data = load_shards(os.path.join(os.fspath(root), split), split, verify_checksums)
    if image_size is not None:
        height, width = normalize_image_size(image_size)
        if (height, width) != data.image_shape[:2]:
            raise ValueError(
                f"data.image_size={image_size!r} but the shards of split {split!r} in {root} hold "
                f"{data.image_shape[0]}x{data.image_shape[1]} images: shards are read as "
                "written. Set data.image_size=0, or prepare them again at that size "
                "(`kerasssl prepare --config.data.image_size=...`)."
            )
    return data


def _resized(data: ImageData, image_size) -> ImageData:
    return ImageData(resize_images(data.images, image_size), data.labels, data.class_names)


def _field(config, name, default):
    value = config.get(name, default)
    return default if value is None else value


def _required(config, name, source, example):
    value = _field(config, name, None)
    if value in (None, ""):
        raise ValueError(
            f"data.source={source!r} needs `data.{name}`; pass e.g. --config.data.{name}={example}"
        )
    return value
