"""Instance-dependent label noise (Xia et al., NeurIPS 2020): the image decides where it flips."""

import numpy as np
from scipy import optimize, special, stats

# The spread of the per-sample flip rates around the target rate (the reference's norm_std).
FLIP_RATE_STD = 0.1


def flip_rate_location(noise_rate, std=FLIP_RATE_STD):
    """The centre of N(centre, std^2) truncated to [0, 1] whose mean is `noise_rate`.

    The reference centres the truncated normal at the target rate itself, which raises the
    mean flip rate above the target once the truncation at 0 bites (0.1 -> 0.129, 0.05 ->
    0.10; within 0.006 of the target between 0.2 and 0.8). Solving for the centre makes
    `noise_rate` the expected fraction of labels that change, kerasssl's "flip" convention.
    """
    if noise_rate == 0:
        return 0.0

    def mean_minus_target(location):
        a, b = (0.0 - location) / std, (1.0 - location) / std
        # scipy also evaluates the skewness, which overflows harmlessly far in the tails.
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return stats.truncnorm.mean(a, b, loc=location, scale=std) - noise_rate

    # The truncated mean rises monotonically with the centre: 1e-4 at -100, 1 - 1e-4 at 101.
    low, high = -100.0, 101.0
    if not mean_minus_target(low) < 0 < mean_minus_target(high):
        raise ValueError(
            f"instance noise cannot reach a mean flip rate of {noise_rate} with a spread of "
            f"{std}; use a rate in [1e-4, 1 - 1e-4] (or 0 for no noise)."
        )
    return optimize.brentq(mean_minus_target, low, high, xtol=1e-12)


def instance_noise_probabilities(features, labels, num_classes, noise_rate, rng):
    """Per-sample P(noisy label = j | image i), Algorithm 2 of Xia et al.

    1. Each sample draws its flip rate q_i from N(centre, 0.1^2) truncated to [0, 1]
       (`flip_rate_location` puts the mean at `noise_rate`).
    2. Each class y draws a projection W_y ~ N(0, 1) of shape [features, classes].
    3. Sample i of class y: p = softmax(x_i W_y) over the other classes (p_y = 0), scaled by
       q_i; p_y = 1 - q_i. Where a label flips to thus depends on the image: two images with
       the same features and class share the distribution over wrong labels.

    Args:
        features: [N, ...] numbers (flattened to [N, S]); kerasssl passes the pixels in [0, 1].
        labels: int64 [N] true class ids.
        num_classes: C.
        noise_rate: in [0, 1), the expected fraction of labels that change.
        rng: a `np.random.Generator` (draws q, then W).

    Returns:
        float64 [N, C], each row summing to 1.

    Reference:
        Xia et al., "Part-dependent Label Noise: Towards Instance-dependent Label Noise",
        NeurIPS 2020, https://arxiv.org/abs/2006.07836 (Appendix, Algorithm 2).
    """
    features = np.asarray(features)
    if len(features) != len(labels) or features.ndim < 2:
        raise ValueError(
            f"instance noise needs `features` [N, ...] with one row per label ({len(labels)}); "
            f"got shape {features.shape}."
        )
    features = features.reshape(len(features), -1).astype(np.float32)
    location = flip_rate_location(noise_rate)
    a, b = (0.0 - location) / FLIP_RATE_STD, (1.0 - location) / FLIP_RATE_STD
    if noise_rate == 0:
        flip_rates = np.zeros(len(labels))
    else:
        flip_rates = stats.truncnorm.rvs(
            a, b, loc=location, scale=FLIP_RATE_STD, size=len(labels), random_state=rng
        )
    projections = rng.standard_normal((num_classes, features.shape[1], num_classes), np.float32)
    probabilities = np.zeros((len(labels), num_classes))
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)
        logits = (features[members] @ projections[label]).astype(np.float64)
        logits[:, label] = -np.inf
        flip_distribution = special.softmax(logits, axis=1)
        probabilities[members] = flip_rates[members, None] * flip_distribution
        probabilities[members, label] = 1.0 - flip_rates[members]
    return probabilities


def sample_labels(probabilities, rng):
    """One label per row of `probabilities` [N, C] (inverse-CDF sampling, one uniform each)."""
    cumulative = np.cumsum(probabilities, axis=1)
    uniforms = rng.random(len(probabilities)) * cumulative[:, -1]
    labels = (cumulative <= uniforms[:, None]).sum(axis=1)
    return np.minimum(labels, probabilities.shape[1] - 1).astype(np.int64)
