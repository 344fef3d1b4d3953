"""How well a clean/noisy split matches the real flip mask (when the true labels are known)."""

import numpy as np
from sklearn.metrics import roc_auc_score


def split_metrics(clean_probability, is_noisy=None, threshold=0.5):
    """Clean-set size, and against the real flip mask: AUC, precision and recall of the clean set.

    Args:
        clean_probability: float [N], w of each sample.
        is_noisy: optional bool [N], True where the label is wrong.
        threshold: tau; samples with w >= tau form the clean (labeled) set.

    Returns:
        dict with "clean_set_size" and, when `is_noisy` is given, "auc" (w ranks clean above
        noisy; NaN when only one kind is present), "precision" (share of the clean set that is
        truly clean) and "recall" (share of the truly clean samples in the clean set).
    """
    clean_probability = np.asarray(clean_probability, np.float64)
    selected = clean_probability >= threshold
    metrics = {"clean_set_size": int(selected.sum())}
    if is_noisy is None:
        return metrics
    truly_clean = ~np.asarray(is_noisy, bool)
    if truly_clean.shape != selected.shape:
        raise ValueError(
            f"is_noisy has shape {truly_clean.shape} but clean_probability {selected.shape}."
        )
    both_kinds = 0 < truly_clean.sum() < len(truly_clean)
    metrics["auc"] = (
        float(roc_auc_score(truly_clean, clean_probability)) if both_kinds else float("nan")
    )
    metrics["precision"] = float(truly_clean[selected].mean()) if selected.any() else 0.0
    metrics["recall"] = float(selected[truly_clean].mean()) if truly_clean.any() else float("nan")
    return metrics
