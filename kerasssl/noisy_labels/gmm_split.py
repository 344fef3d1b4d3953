"""DivideMix's clean/noisy split: a two-component GMM on per-sample losses.

Networks fit clean labels before noisy ones, so early in training the per-sample loss is
bimodal: a low-loss mode of clean samples and a high-loss mode of mislabeled ones. The clean
probability of a sample is the posterior of the low-mean component.
"""

import warnings

import numpy as np
import tensorflow as tf
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from kerasssl.data.batch_stream import ordered_image_batches


def gmm_clean_probabilities(losses, reg_covar=5e-4, tol=1e-2, max_iter=10, seed=0):
    """Clean probability w of each sample from its loss (DivideMix, Li et al. 2020, eq. 1).

    Losses are min-max normalised to [0, 1], then a 2-component `GaussianMixture` is fitted
    with the reference settings (reg_covar=5e-4, tol=1e-2, max_iter=10: the reference stops
    early on purpose, so its non-convergence warning is silenced).

    Args:
        losses: float [N] per-sample losses (e.g. cross-entropy against the given labels).
        reg_covar, tol, max_iter: `GaussianMixture` arguments.
        seed: GMM initialisation seed.

    Returns:
        float64 [N] in [0, 1]: posterior of the low-mean component. When every loss is the same
        (nothing to separate) every sample gets 1.0.

    Example:
        >>> w = gmm_clean_probabilities(per_sample_cross_entropy(model, images, labels))
        >>> suspects = np.flatnonzero(w < 0.5)

    Reference: Li et al., "DivideMix: Learning with Noisy Labels as Semi-supervised
    Learning", ICLR 2020 (https://arxiv.org/abs/2002.07394).
    """
    losses = np.asarray(losses, np.float64)
    if losses.ndim != 1:
        raise ValueError(f"losses must be 1-D [N]; got shape {losses.shape}.")
    if len(losses) < 2:
        raise ValueError(
            f"losses needs at least 2 samples to fit a 2-component GMM; got {len(losses)}."
        )
    if not np.all(np.isfinite(losses)):
        raise ValueError("losses contains NaN or inf; check the network's logits.")
    spread = losses.max() - losses.min()
    if spread <= 1e-12:
        return np.ones(len(losses))
    normalised = ((losses - losses.min()) / spread).reshape(-1, 1)
    gmm = GaussianMixture(
        n_components=2, max_iter=max_iter, tol=tol, reg_covar=reg_covar, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(normalised)
    posterior = gmm.predict_proba(normalised)
    return posterior[:, int(np.argmin(gmm.means_.reshape(-1)))]


def per_sample_cross_entropy(model, images, labels, batch_size=256):
    """Cross-entropy of each (image, label) under `model` in inference mode, no augmentation.

    Args:
        model: a Keras model returning logits.
        images: array [N, ...] as the model expects (kerasssl models take [0, 255] floats), or
            a `ShardImages`: read from the shards a batch at a time, so a data set larger than
            memory is scored with memory for one batch (and N losses).
        labels: int [N] class ids (the possibly noisy labels).
        batch_size: prediction batch size.

    Returns:
        float64 [N].
    """
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise ValueError(
            f"labels has {len(labels)} entries but images has {len(images)}; pass one label "
            "per image."
        )
    # Arrays and shards go through the same batches, so both give the same losses.
    batches = ordered_image_batches(images, batch_size).prefetch(tf.data.AUTOTUNE)
    logits = np.asarray(model.predict(batches, verbose=0), np.float64)
    _check_labels(labels, logits.shape[-1])
    return _cross_entropy(logits, labels)


def find_label_issues(labels, logits=None, pred_probs=None, threshold=0.5, seed=0):
    """Flags samples whose label looks wrong, like cleanlab's `find_label_issues`.

    Pass the out-of-sample `logits` or `pred_probs` of a model trained briefly (before it
    memorises the noise); the GMM split of the per-sample cross-entropy decides.

    Args:
        labels: int [N] given labels.
        logits: float [N, C], or
        pred_probs: float [N, C] predicted probabilities (exactly one of the two).
        threshold: tau in (0, 1); a sample is an issue when its clean probability < tau.
        seed: GMM seed.

    Returns:
        (is_issue bool [N], clean_probability float [N]).

    Example:
        >>> is_issue, w = find_label_issues(labels, pred_probs=model.predict(images))
    """
    check_threshold(threshold)
    if (logits is None) == (pred_probs is None):
        raise ValueError("pass exactly one of logits= or pred_probs=.")
    labels = np.asarray(labels)
    if logits is not None:
        scores = np.asarray(logits, np.float64)
    else:
        scores = np.log(np.clip(np.asarray(pred_probs, np.float64), 1e-12, 1.0))
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(
            f"logits/pred_probs must be [N, C] with N = len(labels) = {len(labels)}; got "
            f"shape {scores.shape}."
        )
    _check_labels(labels, scores.shape[1])
    clean_probability = gmm_clean_probabilities(_cross_entropy(scores, labels), seed=seed)
    return clean_probability < threshold, clean_probability


def check_threshold(threshold):
    if not isinstance(threshold, int | float) or not 0.0 < threshold < 1.0:
        raise ValueError(
            f"threshold (tau) must be in (0, 1), e.g. 0.5 as DivideMix; got {threshold!r}."
        )


def _check_labels(labels, num_classes):
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be 1-D integer class ids; got {labels.dtype} {labels.shape}.")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must be in [0, num_classes={num_classes}); got values in "
            f"[{labels.min()}, {labels.max()}]."
        )


def _cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]
