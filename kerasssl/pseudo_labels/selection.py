"""`Selection`: which pool images a student trains on, and with which targets."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Selection:
    """Indices into the unlabeled pool (repeats allowed) and their targets.

    Attributes:
        indices: int64 [M], positions in the pool; an index repeats when balancing duplicates
            an image or when an image enters several classes (billion-scale, P > 1).
        targets: float32 [M, num_classes] soft probabilities, or int64 [M] class ids; soft
            ones may be held by reference, a `ProbabilityRows` of the labeling job's shards
            (row p read from probability row `indices[p]` when a batch needs it), so that a
            selection of 130M images x 1,000 classes is not 520 GB in memory.
        confidences: float32 [M], the probability of each row's class (its selection score).
    """

    indices: np.ndarray
    targets: np.ndarray
    confidences: np.ndarray

    def __len__(self):
        return len(self.indices)

    @property
    def hard_labels(self):
        """int64 [M] class ids (argmax of soft targets)."""
        if self.targets.ndim == 1:
            return self.targets
        if not isinstance(self.targets, np.ndarray):
            return self.targets.argmax()  # a ProbabilityRows: read a chunk at a time
        return np.argmax(self.targets, axis=1).astype(np.int64)
