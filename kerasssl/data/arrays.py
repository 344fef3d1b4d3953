"""In-memory numpy arrays and `.npz` files as `ImageData`."""

import os

import numpy as np

from kerasssl.data.image_data import ImageData

NPZ_IMAGE_KEYS = ("images", "x", "image", "inputs")
NPZ_LABEL_KEYS = ("labels", "y", "label", "targets")


def load_arrays(images, labels, class_names=None) -> ImageData:
    """Wraps numpy arrays as an `ImageData`, checking shape, dtype and labels.

    Args:
        images: [N, H, W, C] or grayscale [N, H, W] (a channel axis is added), np.uint8 or
            another integer dtype with values 0..255. Float images are refused: their scale
            (0..1 or 0..255) is ambiguous, so convert them yourself.
        labels: integer class ids [N].
        class_names: names in class-id order; default "0".."K-1" with K = max(labels) + 1.

    Returns:
        An `ImageData`.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(
            f"`images` must have shape [N, H, W, C] or [N, H, W]; got shape {images.shape}."
        )
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.integer):
            raise TypeError(
                f"`images` must be uint8 (0..255); got dtype {images.dtype}. For floats in "
                "[0, 1] pass `np.round(images * 255).astype(np.uint8)`."
            )
        if images.size and (images.min() < 0 or images.max() > 255):
            raise ValueError(
                f"`images` of dtype {images.dtype} must hold values 0..255; found "
                f"{images.min()}..{images.max()}. Rescale them to 0..255 first."
            )
        images = images.astype(np.uint8)
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # Keras' CIFAR arrays store labels as [N, 1].
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"`labels` must be 1-D integer class ids; got dtype {labels.dtype}, shape "
            f"{labels.shape}. For one-hot labels pass `labels.argmax(-1)`."
        )
    if class_names is None:
        if labels.size and labels.min() < 0:
            raise ValueError(
                f"`labels` must be class ids >= 0; found {labels.min()}. Remap them to "
                "0..num_classes-1."
            )
        num_classes = int(labels.max()) + 1 if labels.size else 1
        class_names = tuple(str(index) for index in range(num_classes))
    return ImageData(images, labels, tuple(class_names))


def load_npz(path, split: str | None = None) -> ImageData:
    """Loads images and labels from a `.npz` file (as written by `np.savez`).

    Expected keys, first match wins:
    - images: "images", "x", "image" or "inputs"; labels: "labels", "y", "label" or "targets";
    - with `split` given, only split-specific keys are used: "<key>_<split>" or
      "<split>_<key>", e.g. "x_train"/"y_train" (Keras' mnist.npz) or "train_images", so
      one file can hold every split;
    - optional "class_names": an array of strings.
    Images follow `load_arrays` ([N, H, W, C] or [N, H, W], 0..255 integers).

    Args:
        path: the `.npz` file.
        split: None, or a split name whose keys the file holds (see above).

    Returns:
        An `ImageData`.
    """
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise ValueError(f"`path` {path!r} is not a file; pass an existing .npz file.")
    with np.load(path, allow_pickle=False) as arrays:
        keys = set(arrays.files)
        image_key = _find_key(keys, NPZ_IMAGE_KEYS, split, path, "images")
        label_key = _find_key(keys, NPZ_LABEL_KEYS, split, path, "labels")
        class_names = arrays["class_names"].tolist() if "class_names" in keys else None
        return load_arrays(arrays[image_key], arrays[label_key], class_names)


def _find_key(keys, names, split, path, what) -> str:
    candidates = []
    if split is not None:
        for name in names:
            candidates += [f"{name}_{split}", f"{split}_{name}"]
    else:
        candidates = list(names)
    for candidate in candidates:
        if candidate in keys:
            return candidate
    raise ValueError(
        f"{path!r} has no {what} array: looked for keys {candidates}, found {sorted(keys)}. "
        "Save it with np.savez(path, images=..., labels=...), or per split with "
        "np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)."
    )
