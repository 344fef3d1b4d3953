"""Billion-scale selection: the top-K images of every class, each image in at most P classes."""

import heapq
import warnings

import numpy as np

from kerasssl.pseudo_labels.selection import Selection


class TopKPerClass:
    """Streams probability batches and keeps, per class, the K images scoring highest.

    An image is a candidate only for its P most probable classes. Memory is one min-heap of at
    most K (score, index) pairs per class, O(K x num_classes) whatever the pool size, so the
    pool can be streamed shard by shard from disk. Ties keep the earlier image (and, for the
    top-P classes of one image, the lower class id).

    Args:
        k: images kept per class, >= 1.
        p: classes an image may enter, >= 1 (the paper finds P = 10 best on ImageNet).
        num_classes: number of classes.

    Example:
        >>> top_k = TopKPerClass(k=16000, p=10, num_classes=1000)
        >>> for start, probabilities in read_shards("runs/x/pseudo_labels"):
        ...     top_k.update(probabilities, start)
        >>> selection = top_k.result()

    Reference: Yalniz et al., "Billion-scale semi-supervised learning for image
    classification", 2019 (https://arxiv.org/abs/1905.00546), section 3.
    """

    def __init__(self, k, p, num_classes):
        check_settings(k, p, num_classes)
        self.k, self.p, self.num_classes = int(k), int(p), int(num_classes)
        # heapq keeps the smallest at [0]: (score, -index) evicts the lowest score, and among
        # equal scores the latest image.
        self.heaps = [[] for _ in range(self.num_classes)]
        self.num_seen = 0

    def update(self, probabilities, start_index=None):
        """Offers a batch float [n, num_classes] whose first image has pool index start_index."""
        probabilities = np.asarray(probabilities, np.float32)
        if probabilities.ndim != 2 or probabilities.shape[1] != self.num_classes:
            raise ValueError(
                f"probabilities must be [n, {self.num_classes}], got {probabilities.shape}."
            )
        start_index = self.num_seen if start_index is None else int(start_index)
        self.num_seen = max(self.num_seen, start_index + len(probabilities))
        top_classes = candidate_classes(probabilities, self.p)
        for class_id in range(self.num_classes):
            rows = np.flatnonzero(np.any(top_classes == class_id, axis=1))
            if len(rows) == 0:
                continue
            scores = probabilities[rows, class_id]
            if len(rows) > self.k:
                # Only this batch's own top K can enter the heap; ties favour earlier rows.
                order = np.lexsort((rows, -scores))[: self.k]
                rows, scores = rows[order], scores[order]
            heap = self.heaps[class_id]
            for row, score in zip(rows.tolist(), scores.tolist(), strict=True):
                item = (score, -(start_index + row))
                if len(heap) < self.k:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)

    def result(self):
        """A `Selection` with hard targets, rows grouped by class, best first."""
        indices, targets, confidences = [], [], []
        for class_id, heap in enumerate(self.heaps):
            for score, negative_index in sorted(heap, reverse=True):
                indices.append(-negative_index)
                targets.append(class_id)
                confidences.append(score)
        if not indices:
            raise ValueError("no image was offered: call update with a non-empty pool first.")
        warn_about_result(
            self.num_seen, self.k, [len(heap) for heap in self.heaps], self.p, stacklevel=2
        )
        return Selection(
            np.asarray(indices, np.int64),
            np.asarray(targets, np.int64),
            np.asarray(confidences, np.float32),
        )


def select_top_k_per_class(batches, k, p):
    """Runs `TopKPerClass` over an iterable of (start index, probabilities) or arrays."""
    top_k = None
    for batch in batches:
        start, probabilities = batch if isinstance(batch, tuple) else (None, batch)
        probabilities = np.asarray(probabilities)
        if top_k is None:
            top_k = TopKPerClass(k, p, probabilities.shape[-1])
        top_k.update(probabilities, start)
    if top_k is None:
        raise ValueError("the pool is empty: label a non-empty unlabeled set first.")
    return top_k.result()


def check_settings(k, p, num_classes):
    """ValueError naming the config field unless k, p and num_classes are ints >= 1."""
    for name, value in (("k", k), ("p", p), ("num_classes", num_classes)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"{name} must be an int >= 1, got {value!r}: set config.billion_scale.{name} "
                "to a positive count."
            )


def candidate_classes(probabilities, p):
    """int [n, min(p, num_classes)]: each row's P most probable classes, best first.

    Stable sort: among equally probable classes the lower class id counts as higher. Shared
    with the Beam selection, so both break ties alike.
    """
    return np.argsort(-probabilities, axis=1, kind="stable")[:, : min(p, probabilities.shape[1])]


def warn_about_result(num_images, k, class_counts, p, stacklevel=1):
    """Warns when the pool is smaller than K, or when a class received no image."""
    if num_images < k:
        warnings.warn(
            f"the pool has {num_images} images, fewer than k={k} (config.billion_scale.k): "
            "every class keeps all its candidates and none reaches K; lower k or label a "
            "larger pool.",
            stacklevel=stacklevel + 1,
        )
    empty = [class_id for class_id, count in enumerate(class_counts) if count == 0]
    if empty:
        warnings.warn(
            f"classes {empty} receive no image: no image has them among its top p={p} classes "
            "(config.billion_scale.p); the student pre-trains without them. Raise p or train "
            "a better teacher if these classes matter.",
            stacklevel=stacklevel + 1,
        )
