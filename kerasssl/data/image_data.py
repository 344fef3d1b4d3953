"""`ImageData`: an in-memory labeled image set, the unit every data function passes around."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class ImageData:
    """Images, their class ids and the class names, validated on construction.

    Every source (`load_digits`, `load_image_folder`, `load_tfds`, `load_arrays`, `load_npz`)
    returns one; splits and label noise work on its `labels`; the tf.data pipelines read it.
    Use `dataclasses.replace(data, labels=new_labels)` for a copy with other labels (for example
    noisy ones): the copy is validated again.

    Args:
        images: np.uint8 array [N, H, W, C] with values 0..255.
        labels: integer class ids [N] in [0, len(class_names)); stored as np.int64.
        class_names: one name per class, in class-id order; stored as a tuple of str.

    Example:
    ```python
    data = ImageData(np.zeros([4, 8, 8, 1], np.uint8), np.array([0, 1, 1, 0]), ("a", "b"))
    data.num_classes  # 2
    data.subset([0, 3]).labels  # array([0, 0])
    ```

    Reference:
        None (container; see the sources for their data sets).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self):
        images = self.images
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
            raise TypeError(
                "`images` must be a np.uint8 array [N, H, W, C]; got "
                f"{_describe(images)}. Use `load_arrays`, which converts grayscale [N, H, W] "
                "and integer arrays."
            )
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(
                f"`labels` must be a 1-D integer array of class ids; got {_describe(labels)}."
            )
        if len(labels) != len(images):
            raise ValueError(
                f"`labels` has {len(labels)} entries but `images` has {len(images)}; "
                "pass one label per image."
            )
        class_names = tuple(str(name) for name in self.class_names)
        if not class_names:
            raise ValueError("`class_names` is empty; pass one name per class.")
        if len(set(class_names)) != len(class_names):
            raise ValueError(f"`class_names` has duplicates: {class_names}.")
        check_labels(labels, len(class_names))
        object.__setattr__(self, "labels", labels.astype(np.int64, copy=False))
        object.__setattr__(self, "class_names", class_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(size) for size in self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"ImageData(num_examples={len(self)}, image_shape={self.image_shape}, "
            f"num_classes={self.num_classes})"
        )

    def subset(self, indices) -> "ImageData":
        """The examples at `indices` (an integer array, e.g. from `labeled_unlabeled_split`)."""
        indices = np.asarray(indices)
        if indices.ndim != 1 or not (np.issubdtype(indices.dtype, np.integer) or indices.size == 0):
            raise TypeError(f"`indices` must be a 1-D integer array; got {_describe(indices)}.")
        indices = indices.astype(np.int64, copy=False)
        return ImageData(self.images[indices], self.labels[indices], self.class_names)

    def class_counts(self) -> np.ndarray:
        """Number of examples of each class, shape [num_classes]."""
        return np.bincount(self.labels, minlength=self.num_classes)


def check_labels(labels, num_classes: int) -> np.ndarray:
    """Raises ValueError unless every label is an integer class id in [0, num_classes)."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ValueError(
            f"`labels` must lie in [0, num_classes={num_classes}); found {bad.size} outside, "
            f"e.g. {bad[:5].tolist()}. Pass the right `num_classes`/`class_names` or remap "
            "the labels to 0..num_classes-1."
        )
    return labels


def _describe(array) -> str:
    if isinstance(array, np.ndarray):
        return f"dtype {array.dtype}, shape {array.shape}"
    return f"a {type(array).__name__}"
