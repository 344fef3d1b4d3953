"""DivideMix's per-epoch co-divide, in plain Python: each network splits the data for the other."""

import warnings

import numpy as np

from kerasssl.noisy_labels.gmm_split import (
    check_threshold,
    gmm_clean_probabilities,
    per_sample_cross_entropy,
)
from kerasssl.noisy_labels.split_metrics import split_metrics


def divide(clean_probability, threshold):
    """Indices of the labeled (w >= tau) and unlabeled (w < tau) sets, never empty.

    A split that leaves one set empty falls back with a `UserWarning` instead of failing:
    no labeled sample -> the half with the highest w is labeled; no unlabeled sample -> the
    unlabeled set is the whole data (its labels are ignored there anyway).

    Returns:
        (labeled indices, unlabeled indices), int64 arrays.
    """
    check_threshold(threshold)
    clean_probability = np.asarray(clean_probability, np.float64)
    if len(clean_probability) < 2:
        raise ValueError(f"co-divide needs at least 2 samples; got {len(clean_probability)}.")
    labeled = np.flatnonzero(clean_probability >= threshold)
    unlabeled = np.flatnonzero(clean_probability < threshold)
    if len(labeled) == 0:
        warnings.warn(
            f"co-divide: no sample has clean probability >= tau={threshold}; using the half "
            "with the highest clean probability as the labeled set. Lower the threshold or "
            "warm up longer if this persists.",
            stacklevel=2,
        )
        order = np.argsort(-clean_probability, kind="stable")
        half = len(order) // 2
        labeled, unlabeled = np.sort(order[:half]), np.sort(order[half:])
    elif len(unlabeled) == 0:
        warnings.warn(
            f"co-divide: every sample has clean probability >= tau={threshold}; the unlabeled "
            "set falls back to the whole data.",
            stacklevel=2,
        )
        unlabeled = np.arange(len(clean_probability))
    return labeled.astype(np.int64), unlabeled.astype(np.int64)


def co_divide(networks, images, labels, threshold=0.5, is_noisy=None, seed=0, batch_size=256):
    """Runs the GMM split under each network.

    Args:
        networks: sequence of 2 Keras models returning logits.
        images, labels: the whole noisy training set (no augmentation).
        threshold: tau in (0, 1).
        is_noisy: optional true flip mask, for the split metrics.
        seed: GMM seed.
        batch_size: prediction batch size.

    Returns:
        (clean probabilities [w_1, w_2] made by network 1 and 2, metrics dict with
        "<metric>_<k>" for k = 1, 2: clean_set_size and, with `is_noisy`, auc/precision/recall).
        Network 1 trains on w_2 and network 2 on w_1.
    """
    check_threshold(threshold)
    probabilities, metrics = [], {}
    for index, network in enumerate(networks, start=1):
        losses = per_sample_cross_entropy(network, images, labels, batch_size=batch_size)
        clean_probability = gmm_clean_probabilities(losses, seed=seed)
        probabilities.append(clean_probability)
        for name, value in split_metrics(clean_probability, is_noisy, threshold).items():
            metrics[f"{name}_{index}"] = value
    return probabilities, metrics
