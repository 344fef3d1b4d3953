"""Noisy-label tools: the GMM clean/noisy split of DivideMix, usable on its own."""

from kerasssl.noisy_labels.gmm_split import (
    find_label_issues,
    gmm_clean_probabilities,
    per_sample_cross_entropy,
)
from kerasssl.noisy_labels.split_metrics import split_metrics

__all__ = [
    "find_label_issues",
    "gmm_clean_probabilities",
    "per_sample_cross_entropy",
    "split_metrics",
]
