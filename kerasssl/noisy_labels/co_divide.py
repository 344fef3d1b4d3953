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


def co_divide(
    networks,
    images,
    labels,
    threshold=0.5,
    is_noisy=None,
    seed=0,
    batch_size=256,
    loss_history=None,
    average_epochs=1,
):
    """Runs the GMM split under each network.

    Args:
        networks: sequence of 2 Keras models returning logits.
        images, labels: the whole noisy training set (no augmentation); `images` is an array
            or a `ShardImages`, predicted a batch at a time (`per_sample_cross_entropy`).
        threshold: tau in (0, 1).
        is_noisy: optional true flip mask, for the split metrics.
        seed: GMM seed.
        batch_size: prediction batch size.
        loss_history: with `average_epochs` > 1, one list per network of the previous
            co-divides' min-max normalised losses; this call appends its own and keeps the
            last `average_epochs` (the lists are updated in place, for the caller to save).
        average_epochs: the GMM is fitted to each image's normalised loss averaged over this
            many last co-divides (the reference's `history[-5:].mean(0)` at 90% noise, "to
            improve convergence stability"); 1: the current losses only.

    Returns:
        (clean probabilities [w_1, w_2] made by network 1 and 2, metrics dict with
        "<metric>_<k>" for k = 1, 2: clean_set_size and, with `is_noisy`, auc/precision/recall).
        Network 1 trains on w_2 and network 2 on w_1.
    """
    check_threshold(threshold)
    if isinstance(average_epochs, bool) or not isinstance(average_epochs, int):
        raise TypeError(f"average_epochs must be an int >= 1; got {average_epochs!r}.")
    if average_epochs < 1:
        raise ValueError(f"average_epochs must be >= 1; got {average_epochs}.")
    if average_epochs > 1 and (loss_history is None or len(loss_history) != len(networks)):
        raise ValueError(
            f"average_epochs={average_epochs} needs loss_history, one list per network "
            "(empty lists on the first co-divide)."
        )
    probabilities, metrics = [], {}
    for index, network in enumerate(networks, start=1):
        losses = per_sample_cross_entropy(network, images, labels, batch_size=batch_size)
        if average_epochs > 1:
            history = loss_history[index - 1]
            history.append(_min_max_normalised(losses))
            del history[:-average_epochs]
            losses = np.mean(history, axis=0)
        clean_probability = gmm_clean_probabilities(losses, seed=seed)
        probabilities.append(clean_probability)
        for name, value in split_metrics(clean_probability, is_noisy, threshold).items():
            metrics[f"{name}_{index}"] = value
    return probabilities, metrics


def _min_max_normalised(losses):
    # As the reference, each epoch's losses are scaled to [0, 1] before they are averaged.
    losses = np.asarray(losses, np.float64)
    spread = losses.max() - losses.min()
    return (losses - losses.min()) / spread if spread > 1e-12 else np.zeros_like(losses)
