"""Image folders `<root>/<split>/<class>/*.jpg|png`, read with `tfds.folder_dataset.ImageFolder`."""

import os
import tempfile

import numpy as np
import tensorflow as tf

from kerasssl.data.image_data import ImageData
from kerasssl.data.resize import normalize_image_size, resize_image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_DECODE_BATCH_SIZE = 1024


def load_image_folder(root, split: str, image_size=None, channels: int = 3) -> ImageData:
    """Decodes one split of an image folder into a uint8 `ImageData`.

    The layout is the one `tfds.folder_dataset.ImageFolder` reads:
    `<root>/<split>/<class_name>/<file>.jpg|.jpeg|.png`. Class ids follow the sorted class
    folder names of all splits together, so every split folder of `root` must hold the same
    class folders (a class in one split only would shift the ids of the others and could never
    be learned or scored), each with at least one image. Images are decoded in
    parallel with tf.data straight into one array (the 8,000 32x32 JPEGs of
    ../shared/data/cifar10-subset take about 2 s on 2 cores); the example order is tfds'
    fixed per-split shuffle, the same on every call.

    Args:
        root: folder holding one subfolder per split.
        split: split folder name, e.g. "train" or "test".
        image_size: None to keep the files' size (all images must then share it), or an int
            or (height, width) to resize every image (bilinear, antialiased).
        channels: 3 decodes every image as RGB (grayscale is repeated, alpha dropped),
            1 as grayscale.

    Returns:
        An `ImageData` with images [N, H, W, channels].
    """
    image_size = normalize_image_size(image_size)
    if channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 or 3; got {channels!r}.")
    root = os.path.expanduser(os.fspath(root))
    split_dir = _check_layout(root, split)
    _check_class_folders(root)
    # Imported here: tensorflow_datasets adds ~1 s to `import kerasssl.data`.
    import tensorflow_datasets as tfds

    builder = _image_folder_builder(tfds, root, channels)
    class_names = tuple(builder.info.features["label"].names)
    dataset = builder.as_dataset(split=split, as_supervised=True)
    if image_size is not None:

        def resize_example(image, label):
            return resize_image(image, image_size), label

        dataset = dataset.map(resize_example, num_parallel_calls=tf.data.AUTOTUNE)
    image_batches, label_batches = [], []
    try:
        for images, labels in dataset.batch(_DECODE_BATCH_SIZE).as_numpy_iterator():
            image_batches.append(images)
            label_batches.append(labels)
    except tf.errors.OpError:
        # tf.data does not say which file failed; find it so the error can name it.
        _raise_for_bad_files(split_dir, channels, image_size)
        raise
    return ImageData(np.concatenate(image_batches), np.concatenate(label_batches), class_names)


def _check_layout(root: str, split: str) -> str:
    if not os.path.isdir(root):
        raise ValueError(
            f"Image folder `root` {root!r} does not exist or is not a folder; pass a folder laid "
            "out as <root>/<split>/<class_name>/*.jpg|png, e.g. ../shared/data/cifar10-subset."
        )
    split_dir = os.path.join(root, split)
    if not os.path.isdir(split_dir):
        splits = sorted(_subfolders(root))
        raise ValueError(
            f"Image folder {root!r} has no split folder {split!r}; its split folders are "
            f"{splits}. Pass one of them as `split` (config: train_split/test_split)."
        )
    class_folders = _subfolders(split_dir)
    if not class_folders:
        raise ValueError(
            f"Image folder split {split_dir!r} has no class folders; put each class's images in "
            f"its own subfolder: {split_dir}/<class_name>/*.jpg|png."
        )
    if not any(
        name.lower().endswith(IMAGE_EXTENSIONS)
        for folder in class_folders
        for name in os.listdir(os.path.join(split_dir, folder))
    ):
        raise ValueError(
            f"The class folders of {split_dir!r} hold no {'/'.join(IMAGE_EXTENSIONS)} files."
        )
    return split_dir


def _check_class_folders(root: str) -> None:
    """Every split folder of `root` holds the same class folders, none of them without images.

    tfds' ImageFolder numbers the classes over all split folders together and accepts a class
    folder without images; both would train or score classes that cannot be learned.
    """
    splits = sorted(_subfolders(root))
    classes = {split: set(_subfolders(os.path.join(root, split))) for split in splits}
    every_class = set().union(*classes.values())
    for split in splits:
        missing = sorted(every_class - classes[split])
        if missing:
            elsewhere = [other for other in splits if set(missing) & classes[other]]
            raise ValueError(
                f"Image folder {root!r}: the splits disagree on the classes: split {split!r} "
                f"lacks the class folders {missing} (found in {elsewhere}). Every split folder "
                "must hold the same class folders (class ids follow their sorted names over all "
                "splits): add the missing folders with images, or remove the extra ones."
            )
    for split in splits:
        for name in sorted(classes[split]):
            folder = os.path.join(root, split, name)
            if not any(entry.lower().endswith(IMAGE_EXTENSIONS) for entry in os.listdir(folder)):
                raise ValueError(
                    f"Class folder {folder!r} holds no {'/'.join(IMAGE_EXTENSIONS)} files: a class "
                    "without images cannot be learned or scored. Add its images or remove the "
                    "class folder from every split."
                )


def _subfolders(path: str) -> list[str]:
    return [name for name in os.listdir(path) if os.path.isdir(os.path.join(path, name))]


def _raise_for_bad_files(split_dir: str, channels: int, image_size) -> None:
    """Decodes each file of `split_dir` alone and raises a ValueError naming the first bad one."""
    shapes = {}
    for folder in sorted(_subfolders(split_dir)):
        for name in sorted(os.listdir(os.path.join(split_dir, folder))):
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            path = os.path.join(split_dir, folder, name)
            try:
                image = tf.io.decode_image(
                    tf.io.read_file(path), channels=channels, expand_animations=False
                )
            except tf.errors.OpError as error:
                message = error.message.splitlines()[0] if error.message else type(error).__name__
                raise ValueError(
                    f"Cannot read image file {path!r} ({message}). Replace or delete the file."
                ) from None
            shapes.setdefault(tuple(image.shape[:2]), path)
    if image_size is None and len(shapes) > 1:
        examples = ", ".join(f"{path} is {h}x{w}" for (h, w), path in list(shapes.items())[:3])
        raise ValueError(
            f"Images in {split_dir!r} differ in size ({examples}); pass `image_size` "
            "(config: data.image_size) to resize them all."
        )


def _image_folder_builder(tfds, root, channels):
    # The builder's DatasetInfo calls tempfile.mkdtemp("tfds") (for metadata it would fetch
    # from GCS, which tfds has disabled) and never removes it: one empty folder in /tmp per
    # load. Point tempfile at a folder of ours for the call and delete it after.
    with tempfile.TemporaryDirectory(prefix="kerasssl-image-folder-") as scratch:
        previous, tempfile.tempdir = tempfile.tempdir, scratch
        try:
            return tfds.folder_dataset.ImageFolder(root, shape=(None, None, channels))
        finally:
            tempfile.tempdir = previous
