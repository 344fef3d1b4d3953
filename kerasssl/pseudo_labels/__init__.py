"""Pseudo-labels: a resumable labeling job and the selections of Noisy Student and billion-scale
semi-supervised learning."""

from kerasssl.pseudo_labels.confident_balanced_selection import ConfidentBalancedSelection
from kerasssl.pseudo_labels.labeling_job import (
    label_images,
    load_probabilities,
    read_rows,
    read_shards,
)
from kerasssl.pseudo_labels.noisy_student_selection import select_confident_balanced
from kerasssl.pseudo_labels.selection import Selection
from kerasssl.pseudo_labels.top_k_per_class import TopKPerClass, select_top_k_per_class

__all__ = [
    "ConfidentBalancedSelection",
    "Selection",
    "TopKPerClass",
    "label_images",
    "load_probabilities",
    "read_rows",
    "read_shards",
    "select_confident_balanced",
    "select_top_k_per_class",
]
