"""Seeded, stratified index splits: labeled/unlabeled and train/validation."""

import numbers

import numpy as np


def labeled_unlabeled_split(labels, labels_per_class: int, seed: int, class_names=None):
    """Keeps exactly `labels_per_class` labels of every class; the rest become unlabeled.

    The two index sets are disjoint and together cover every example. FixMatch-style methods
    often also feed the labeled images as unlabeled ones; to do that pass the whole data set
    as the unlabeled stream instead of `data.subset(unlabeled_indices)`.

    Args:
        labels: integer class ids [N].
        labels_per_class: labeled examples to keep per class (>= 1).
        seed: the same seed gives the same split.
        class_names: optional, only to name a class in error messages.

    Returns:
        (labeled_indices, unlabeled_indices): sorted np.int64 arrays.

    Example:
    ```python
    labeled, unlabeled = labeled_unlabeled_split(data.labels, labels_per_class=25, seed=0)
    labeled_data, unlabeled_data = data.subset(labeled), data.subset(unlabeled)
    ```
    """
    labels = _check_labels(labels)
    if (
        not isinstance(labels_per_class, numbers.Integral)
        or isinstance(labels_per_class, bool)
        or labels_per_class < 1
    ):
        raise ValueError(f"`labels_per_class` must be an int >= 1; got {labels_per_class!r}.")
    counts = np.bincount(labels, minlength=len(class_names) if class_names is not None else 0)
    too_small = np.flatnonzero(counts < labels_per_class)
    if too_small.size:
        label = int(too_small[0])
        name = f" ({class_names[label]!r})" if class_names is not None else ""
        raise ValueError(
            f"`labels_per_class`={labels_per_class} is larger than class {label}{name}, which "
            f"has {counts[label]} examples; use labels_per_class <= {counts.min()} or drop "
            "that class."
        )
    rng = np.random.default_rng(seed)
    labeled = [
        rng.choice(np.flatnonzero(labels == label), size=labels_per_class, replace=False)
        for label in range(len(counts))
    ]
    labeled = np.sort(np.concatenate(labeled)).astype(np.int64)
    return labeled, _complement(labeled, len(labels))


def validation_split(labels, validation_size, seed: int):
    """Carves a stratified validation set out of a training set.

    Each class gives its proportional share of `validation_size`; shares are rounded down and
    the remaining slots go to the classes with the largest remainders (ties broken by the seed),
    so the total is exact and class proportions are kept as closely as integers allow.

    Args:
        labels: integer class ids [N].
        validation_size: an int count (1..N-1; a whole float above 1 such as 64.0 counts too) or a
            float fraction in (0, 1).
        seed: the same seed gives the same split.

    Returns:
        (train_indices, validation_indices): sorted, disjoint, covering np.int64 arrays.
    """
    labels = _check_labels(labels)
    total = len(labels)
    if isinstance(validation_size, bool):
        raise ValueError(f"`validation_size` must be an int or float; got {validation_size!r}.")
    if isinstance(validation_size, numbers.Integral):
        count = int(validation_size)
    elif isinstance(validation_size, numbers.Real) and 0.0 < validation_size < 1.0:
        count = int(round(validation_size * total))
    elif (
        isinstance(validation_size, numbers.Real)
        and float(validation_size).is_integer()
        and validation_size > 1
    ):
        # A recipe field that defaults to a fraction stores an overriding count as a float;
        # 1.0 stays an error (a 100% fraction or a one-image split: ambiguous).
        count = int(validation_size)
    else:
        raise ValueError(
            "`validation_size` must be an int count or a float fraction in (0, 1); got "
            f"{validation_size!r}."
        )
    if not 0 < count < total:
        raise ValueError(
            f"`validation_size` gives {count} validation examples out of {total}; it must leave "
            "at least one example on each side."
        )
    rng = np.random.default_rng(seed)
    classes, class_counts = np.unique(labels, return_counts=True)
    shares = class_counts * count / total
    allocation = np.floor(shares).astype(np.int64)
    remainder = shares - allocation
    # Seeded random tie-break, then the largest remainders get the leftover slots.
    order = np.lexsort((rng.random(len(classes)), -remainder))
    allocation[order[: count - allocation.sum()]] += 1
    validation = [
        rng.choice(np.flatnonzero(labels == label), size=size, replace=False)
        for label, size in zip(classes, allocation, strict=True)
    ]
    validation = np.sort(np.concatenate(validation)).astype(np.int64)
    return _complement(validation, total), validation


def _check_labels(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"`labels` must be a 1-D integer array; got dtype {labels.dtype}, shape {labels.shape}."
        )
    if labels.size == 0 or labels.min() < 0:
        raise ValueError("`labels` must be a non-empty array of class ids >= 0.")
    return labels


def _complement(indices: np.ndarray, total: int) -> np.ndarray:
    mask = np.ones(total, bool)
    mask[indices] = False
    return np.flatnonzero(mask).astype(np.int64)
