"""Noisy Student's selection streamed over probability shards, in memory independent of the pool."""

import heapq

import numpy as np

from kerasssl.pseudo_labels import noisy_student_selection
from kerasssl.pseudo_labels.selection import Selection


class ConfidentBalancedSelection:
    """Streams probability batches and selects as `select_confident_balanced` does.

    The same `Selection` (indices, targets, confidences, row for row) as
    `select_confident_balanced` on the whole [N, num_classes] matrix, which at JFT scale (130M
    images x 1000 classes) would take 520 GB. Memory, whatever the pool size N:
    - `images_per_class` > 0: one min-heap per class of at most `images_per_class`
      (confidence, index) pairs, O(images_per_class x num_classes);
    - `images_per_class` == 0 (no balancing): the index and confidence (12 bytes) of every
      kept image, which is the size of the output itself;
    plus the batch being offered. Soft targets are O(selected x num_classes): `result` asks
    `probabilities_of` for the selected rows only (`labeling_job.read_rows` reads them from
    the shards, one shard at a time).

    Ties keep the earlier pool index, as the stable sort of `select_confident_balanced` does.

    Args:
        num_classes: classes of the probabilities, >= 1.
        confidence_threshold: in [0, 1); images whose argmax probability is below are dropped.
        images_per_class: every class brought to this count (its most confident images,
            copies cycled in order of confidence when it has fewer); 0 keeps every confident
            image, unbalanced.

    Example:
        >>> selector = ConfidentBalancedSelection(1000, 0.3, images_per_class=130_000)
        >>> for start, probabilities in read_shards("runs/x/pseudo_labels"):
        ...     selector.update(probabilities, start)
        >>> selection = selector.result(lambda ids: read_rows("runs/x/pseudo_labels", ids))

    Reference: Xie et al., "Self-training with Noisy Student improves ImageNet
    classification", CVPR 2020, section 3 (data balancing).
    """

    def __init__(self, num_classes, confidence_threshold=0.0, images_per_class=0):
        if (
            not isinstance(num_classes, int | np.integer)
            or isinstance(num_classes, bool)
            or num_classes < 1
        ):
            raise ValueError(
                f"num_classes must be an int >= 1, got {num_classes!r}: pass the teacher's "
                "number of classes (the probabilities' last dimension)."
            )
        noisy_student_selection.check_settings(confidence_threshold, images_per_class)
        self.num_classes = int(num_classes)
        self.confidence_threshold = confidence_threshold
        self.images_per_class = int(images_per_class)
        # Balanced: heapq keeps the smallest at [0]; (confidence, -index) evicts the least
        # confident, and among equal confidences the later image.
        self.heaps = [[] for _ in range(self.num_classes)]
        # Unbalanced: every kept image's (indices, confidences) parts, per class.
        self.kept = [[] for _ in range(self.num_classes)]
        self.num_seen = 0
        self.highest_confidence = -np.inf

    def update(self, probabilities, start_index=None):
        """Offers a batch float [n, num_classes] whose first image has pool index start_index."""
        probabilities = np.asarray(probabilities, np.float32)
        if probabilities.ndim != 2 or probabilities.shape[1] != self.num_classes:
            raise ValueError(
                f"probabilities must be [n, {self.num_classes}] (num_classes={self.num_classes}),"
                f" got shape {probabilities.shape}: offer the teacher's softmax over the pool."
            )
        if len(probabilities) == 0:
            return
        start_index = self.num_seen if start_index is None else int(start_index)
        self.num_seen = max(self.num_seen, start_index + len(probabilities))
        classes, confidences = noisy_student_selection.argmax_confidences(probabilities)
        self.highest_confidence = max(self.highest_confidence, float(confidences.max()))
        rows = np.flatnonzero(confidences >= self.confidence_threshold)
        # Grouped by class, each group best first, ties to the earlier row.
        rows = rows[np.lexsort((rows, -confidences[rows], classes[rows]))]
        boundaries = np.flatnonzero(np.diff(classes[rows])) + 1
        for group in np.split(rows, boundaries) if len(rows) else ():
            class_id = int(classes[group[0]])
            if not self.images_per_class:
                self.kept[class_id].append((start_index + group, confidences[group]))
                continue
            # Only the batch's own most confident images_per_class can enter the heap.
            group = group[: self.images_per_class]
            self._offer(self.heaps[class_id], group, confidences, start_index)

    def _offer(self, heap, group, confidences, start_index):
        """Pushes a class's best-first rows into its heap until one cannot enter."""
        for row, confidence in zip(group.tolist(), confidences[group].tolist(), strict=True):
            item = (confidence, -(start_index + row))
            if len(heap) < self.images_per_class:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
            else:
                break  # the rest are no better: the group is sorted best first

    def result(self, probabilities_of=None):
        """The `Selection`, rows grouped by class, most confident first.

        Args:
            probabilities_of: for soft targets, a function of pool indices int64 [m] returning
                their probability rows float32 [m, num_classes] (e.g. `labeling_job.read_rows`
                of the job's folder); None gives hard targets (class ids).

        Raises the error and warns the warning `select_confident_balanced` would.
        """
        if self.num_seen == 0:
            raise ValueError(
                "no probabilities were offered: label a non-empty unlabeled pool first, then "
                "call update with each shard."
            )
        chosen, classes, empty_classes = [], [], []
        for class_id in range(self.num_classes):
            indices, confidences = self._members(class_id)
            if len(indices) == 0:
                empty_classes.append(class_id)
                continue
            if self.images_per_class:
                # Cycles copies in order of confidence (the heap holds at most the count).
                order = np.resize(np.arange(len(indices)), self.images_per_class)
                indices, confidences = indices[order], confidences[order]
            chosen.append((indices, confidences))
            classes.append(np.full(len(indices), class_id, np.int64))
        if not chosen:
            raise noisy_student_selection.everything_filtered_error(
                self.confidence_threshold, self.num_seen, self.highest_confidence
            )
        if empty_classes:
            noisy_student_selection.warn_empty_classes(empty_classes, self.confidence_threshold)
        indices = np.concatenate([part for part, _ in chosen]).astype(np.int64)
        confidences = np.concatenate([part for _, part in chosen]).astype(np.float32)
        if probabilities_of is None:
            targets = np.concatenate(classes)
        else:
            targets = np.asarray(probabilities_of(indices), np.float32)
        return Selection(indices, targets, confidences)

    def _members(self, class_id):
        """(indices int64, confidences float32) of a class's selected images, best first."""
        if self.images_per_class:
            ranked = sorted(self.heaps[class_id], reverse=True)
            indices = np.array([-negative for _, negative in ranked], np.int64)
            return indices, np.array([confidence for confidence, _ in ranked], np.float32)
        parts = self.kept[class_id]
        indices = np.concatenate([np.zeros(0, np.int64), *(part for part, _ in parts)])
        confidences = np.concatenate([np.zeros(0, np.float32), *(part for _, part in parts)])
        order = np.lexsort((indices, -confidences))
        return indices[order].astype(np.int64), confidences[order]
