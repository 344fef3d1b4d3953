"""Noisy Student's data selection: a confidence threshold, then per-class balancing."""

import warnings

import numpy as np

from kerasssl.pseudo_labels.selection import Selection


def select_confident_balanced(
    probabilities, confidence_threshold=0.0, images_per_class=0, soft=True
):
    """Keeps confident pseudo-labels and balances the classes to `images_per_class` each.

    An image's class is its argmax, its confidence the argmax probability. Images below
    `confidence_threshold` are dropped. With `images_per_class` > 0 every class is brought to
    exactly that count: large classes keep their most confident images, small classes repeat
    theirs (all copies cycled in order of confidence), as Xie et al. do on ImageNet. A class
    left with no image warns and stays empty.

    This is the reference on an in-memory matrix (4 x num_classes bytes per image). A pool
    labeled to disk is selected shard by shard, with the same result row for row, by
    `ConfidentBalancedSelection` (what a Noisy Student run uses): its memory does not grow with
    the pool.

    Args:
        probabilities: float [N, num_classes], the teacher's softmax over the pool.
        confidence_threshold: in [0, 1); Noisy Student uses 0.3 on ImageNet.
        images_per_class: target count per class; 0 keeps every confident image unbalanced.
        soft: True: targets are the probability rows; False: class ids (hard pseudo-labels).

    Returns:
        A `Selection`, rows grouped by class, most confident first.

    Example:
        >>> selection = select_confident_balanced(probabilities, 0.3, images_per_class=500)
        >>> images = pool[selection.indices]

    Reference: Xie et al., "Self-training with Noisy Student improves ImageNet
    classification", CVPR 2020, section 3 (data balancing).
    """
    probabilities = np.asarray(probabilities, np.float32)
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError(
            "probabilities must be a non-empty [num_images, num_classes] array, got shape "
            f"{probabilities.shape}: label a non-empty unlabeled pool first."
        )
    check_settings(confidence_threshold, images_per_class)
    classes, confidences = argmax_confidences(probabilities)
    kept = np.flatnonzero(confidences >= confidence_threshold)
    if len(kept) == 0:
        raise everything_filtered_error(
            confidence_threshold, len(probabilities), float(confidences.max())
        )
    chosen, empty_classes = [], []
    for class_id in range(probabilities.shape[1]):
        members = kept[classes[kept] == class_id]
        # Stable sort: equal confidences keep pool order, so the selection is deterministic.
        members = members[np.argsort(-confidences[members], kind="stable")]
        if len(members) == 0:
            empty_classes.append(class_id)
            continue
        if images_per_class:
            members = np.resize(members, images_per_class)  # truncates or cycles copies
        chosen.append(members)
    if empty_classes:
        warn_empty_classes(empty_classes, confidence_threshold)
    indices = np.concatenate(chosen).astype(np.int64)
    targets = probabilities[indices] if soft else classes[indices].astype(np.int64)
    return Selection(indices, targets, confidences[indices])


def argmax_confidences(probabilities):
    """Each row's class (argmax, the lower id among ties) and its probability, float32.

    Shared with the Beam selection (`kerasssl.pseudo_labels.beam_selection`) so that both
    compare the same float32 confidences with the threshold.
    """
    classes = np.argmax(probabilities, axis=1)
    return classes, probabilities[np.arange(len(probabilities)), classes]


def everything_filtered_error(confidence_threshold, num_images, highest_confidence):
    return ValueError(
        f"confidence_threshold={confidence_threshold} filters out every one of the "
        f"{num_images} pseudo-labels (highest confidence {highest_confidence:.3f}): lower the "
        "threshold (config.noisy_student.confidence_threshold)."
    )


def warn_empty_classes(empty_classes, confidence_threshold, stacklevel=2):
    warnings.warn(
        f"classes {list(empty_classes)} receive no pseudo-label above confidence_threshold="
        f"{confidence_threshold}; balancing leaves them empty and continues. Lower the "
        "threshold (config.noisy_student.confidence_threshold) or train a better teacher if "
        "these classes matter.",
        stacklevel=stacklevel + 1,
    )


def check_settings(confidence_threshold, images_per_class):
    """ValueError naming the field unless the threshold is in [0, 1) and the count >= 0."""
    if not 0.0 <= confidence_threshold < 1.0:
        raise ValueError(
            f"confidence_threshold must be in [0, 1), got {confidence_threshold}: set "
            "config.noisy_student.confidence_threshold."
        )
    if (
        not isinstance(images_per_class, int | np.integer)
        or isinstance(images_per_class, bool)
        or images_per_class < 0
    ):
        raise ValueError(
            f"images_per_class must be an int >= 0, got {images_per_class!r}: set "
            "config.noisy_student.images_per_class (0: no balancing)."
        )
