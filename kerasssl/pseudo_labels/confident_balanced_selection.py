"""Noisy Student's selection streamed over probability shards, in memory independent of the pool."""

import numpy as np

from kerasssl.pseudo_labels import noisy_student_selection
from kerasssl.pseudo_labels.selection import Selection


class ConfidentBalancedSelection:
    """Streams probability batches and selects as `select_confident_balanced` does.

    The same `Selection` (indices, targets, confidences, row for row) as
    `select_confident_balanced` on the whole [N, num_classes] matrix, which at JFT scale (130M
    images x 1000 classes) would take 520 GB. Memory, whatever the pool size N:
    - `images_per_class` > 0: per class, its most confident `images_per_class` (confidence,
      index) pairs so far and the candidates offered since, merged into them (a stable sort,
      then truncation) once more than `images_per_class` are pending: at most 2 x
      images_per_class pairs of 12 bytes per class between batches, O(images_per_class x
      num_classes). Once a class holds its count, an image enters only if it beats the
      class's least confident one;
    - `images_per_class` == 0 (no balancing): the index, confidence and class (16 bytes) of
      every kept image, which is the size of the output itself;
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
        # Balanced: per class, the best (confidences, indices) so far, best first, at most
        # images_per_class; and the candidates offered since, merged in when they outnumber it.
        self.best = [(np.zeros(0, np.float32), np.zeros(0, np.int64))] * self.num_classes
        self.pending = [[] for _ in range(self.num_classes)]
        self.pending_sizes = [0] * self.num_classes
        # Unbalanced: every kept image's (indices, confidences, classes), one part per batch.
        self.kept = []
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
        if not self.images_per_class:
            self.kept.append((start_index + rows, confidences[rows], classes[rows]))
            return
        # Grouped by class, each group best first, ties to the earlier row.
        rows = rows[np.lexsort((rows, -confidences[rows], classes[rows]))]
        boundaries = np.flatnonzero(np.diff(classes[rows])) + 1
        for group in np.split(rows, boundaries) if len(rows) else ():
            # Only the batch's own most confident images_per_class can enter.
            group = group[: self.images_per_class]
            self._offer(int(classes[group[0]]), confidences[group], start_index + group)

    def _offer(self, class_id, confidences, indices):
        best_confidences, best_indices = self.best[class_id]
        if len(best_indices) == self.images_per_class:
            # A full class only takes images that beat its least confident one (ties: the
            # earlier image): the others can never be among its final best.
            last_confidence, last_index = best_confidences[-1], best_indices[-1]
            enters = (confidences > last_confidence) | (
                (confidences == last_confidence) & (indices < last_index)
            )
            confidences, indices = confidences[enters], indices[enters]
            if len(indices) == 0:
                return
        self.pending[class_id].append((confidences, indices))
        self.pending_sizes[class_id] += len(indices)
        if self.pending_sizes[class_id] > self.images_per_class:
            self._merge(class_id)

    def _merge(self, class_id):
        """Merges a class's pending candidates into its best, keeping images_per_class."""
        parts = [self.best[class_id], *self.pending[class_id]]
        confidences = np.concatenate([part[0] for part in parts])
        indices = np.concatenate([part[1] for part in parts])
        order = np.lexsort((indices, -confidences))[: self.images_per_class]
        self.best[class_id] = confidences[order], indices[order]
        self.pending[class_id], self.pending_sizes[class_id] = [], 0

    def result(self, probabilities_of=None):
        """The `Selection`, rows grouped by class, most confident first.

        Args:
            probabilities_of: for soft targets, a function of pool indices int64 [m] returning
                their probability rows float32 [m, num_classes] (e.g. `labeling_job.read_rows`
                of the job's folder), or a reader of them with `gather` (a `ProbabilityRows`:
                targets by reference, nothing read); None gives hard targets (class ids).

        Raises the error and warns the warning `select_confident_balanced` would.
        """
        if self.num_seen == 0:
            raise ValueError(
                "no probabilities were offered: label a non-empty unlabeled pool first, then "
                "call update with each shard."
            )
        indices, confidences, classes = (
            self._balanced() if self.images_per_class else self._unbalanced()
        )
        if len(indices) == 0:
            raise noisy_student_selection.everything_filtered_error(
                self.confidence_threshold, self.num_seen, self.highest_confidence
            )
        empty_classes = np.setdiff1d(np.arange(self.num_classes), classes).tolist()
        if empty_classes:
            noisy_student_selection.warn_empty_classes(empty_classes, self.confidence_threshold)
        if probabilities_of is None:
            targets = classes
        else:
            targets = probabilities_of(indices)
            # A reader with `gather` (`ProbabilityRows`) is kept by reference, unread.
            if not hasattr(targets, "gather"):
                targets = np.asarray(targets, np.float32)
        return Selection(indices, targets, confidences)

    def _balanced(self):
        """Every class's best, its copies cycled in order of confidence to images_per_class."""
        parts = []
        for class_id in range(self.num_classes):
            if self.pending[class_id]:
                self._merge(class_id)
            confidences, indices = self.best[class_id]
            if len(indices):
                order = np.resize(np.arange(len(indices)), self.images_per_class)
                classes = np.full(self.images_per_class, class_id, np.int64)
                parts.append((indices[order], confidences[order], classes))
        return _concatenate(parts)

    def _unbalanced(self):
        """Every kept image, grouped by class, best first, ties to the earlier image."""
        indices, confidences, classes = _concatenate(self.kept)
        order = np.lexsort((indices, -confidences, classes))
        return indices[order], confidences[order], classes[order]


def _concatenate(parts):
    """(indices int64, confidences float32, classes int64) of (indices, confidences, classes)."""
    return (
        np.concatenate([np.zeros(0, np.int64), *(part[0] for part in parts)]).astype(np.int64),
        np.concatenate([np.zeros(0, np.float32), *(part[1] for part in parts)]),
        np.concatenate([np.zeros(0, np.int64), *(part[2] for part in parts)]).astype(np.int64),
    )
