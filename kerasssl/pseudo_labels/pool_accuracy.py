"""`PoolAccuracy`: how often the teacher's argmax is an unlabeled image's hidden label, streamed."""

import numpy as np


class PoolAccuracy:
    """Counts, batch by batch, the pool images whose argmax probability is their true label.

    A diagnostic (the pool's labels are hidden from training): the same value as
    `np.mean(np.argmax(probabilities, axis=1) == labels)` on the whole matrix, from two running
    counts instead of the [N, num_classes] probabilities.

    Args:
        labels: int [N], the pool's true labels, by pool index.

    Example:
        >>> accuracy = PoolAccuracy(data.unlabeled.labels)
        >>> for start, probabilities in read_shards("runs/x/pseudo_labels"):
        ...     accuracy.update(probabilities, start)
        >>> accuracy.result()
    """

    def __init__(self, labels):
        self.labels = labels
        self.num_correct = 0
        self.num_seen = 0

    def update(self, probabilities, start_index):
        """Counts a batch float [n, num_classes] whose first image has pool index start_index."""
        probabilities = np.asarray(probabilities)
        stop = start_index + len(probabilities)
        if probabilities.ndim != 2 or start_index < 0 or stop > len(self.labels):
            raise ValueError(
                f"probabilities must be [n, num_classes] rows of pool images [0, "
                f"{len(self.labels)}), got shape {probabilities.shape} from index {start_index}: "
                "label the pool whose labels were passed."
            )
        self._count(probabilities, np.asarray(self.labels[start_index:stop]))

    def update_ids(self, probabilities, ids):
        """Counts rows float [n, num_classes] of the pool images `ids` (int [n], any order)."""
        probabilities, ids = np.asarray(probabilities), np.asarray(ids, np.int64)
        if probabilities.ndim != 2 or len(ids) != len(probabilities):
            raise ValueError(
                f"probabilities must be [n, num_classes] rows of the n ids, got shape "
                f"{probabilities.shape} for {len(ids)} ids."
            )
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self.labels)):
            raise ValueError(
                f"ids must be pool indices in [0, {len(self.labels)}): label the pool whose "
                "labels were passed."
            )
        labels = np.asarray(self.labels)[ids] if len(ids) else np.zeros(0, np.int64)
        self._count(probabilities, labels)

    def _count(self, probabilities, labels):
        # The one count both update paths share, so they cannot drift apart.
        self.num_correct += int(np.count_nonzero(np.argmax(probabilities, axis=1) == labels))
        self.num_seen += len(probabilities)

    def result(self):
        """The fraction correct, a float; a ValueError when no image was counted."""
        if self.num_seen == 0:
            raise ValueError("no probabilities were counted: call update with each shard first.")
        # np.mean of a bool array divides the same exact float64 sum by the same count.
        return self.num_correct / self.num_seen
