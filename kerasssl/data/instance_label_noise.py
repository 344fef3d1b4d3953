"""Instance-dependent label noise (Xia et al., NeurIPS 2020): the image decides where it flips."""

import numpy as np
from scipy import optimize, special, stats

# The spread of the per-sample flip rates around the target rate (the reference's norm_std).
FLIP_RATE_STD = 0.1
# Features are read and projected this many rows at a time: 154 MB of float32 at 224x224x3,
# whatever the data set's size. The chunks are part of the result (a matrix product's float
# rounding may depend on its row count), so every path uses the same ones.
CHUNK_SIZE = 256


class PixelFeatures:
    """The features instance noise flips by: the images' pixels scaled to [0, 1], read lazily.

    Slicing (`features[0:256]`) reads only those images, as float32 [n, H, W, C] = uint8 / 255,
    so `images` may be a `ShardImages` (config.data.source="shards"): the noise is computed a
    chunk at a time from the shards, and gives the labels an in-memory array of the same
    images gives.

    Args:
        images: uint8 array [N, H, W, C], or a `ShardImages`.
    """

    def __init__(self, images):
        self.images = images

    @property
    def shape(self):
        return tuple(self.images.shape)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, key):
        return np.asarray(self.images[key]) / np.float32(255)


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


def instance_noise_probabilities(
    features, labels, num_classes, noise_rate, rng, chunk_size=CHUNK_SIZE
):
    """Per-sample P(noisy label = j | image i), Algorithm 2 of Xia et al.

    1. Each sample draws its flip rate q_i from N(centre, 0.1^2) truncated to [0, 1]
       (`flip_rate_location` puts the mean at `noise_rate`).
    2. Each class y draws a projection W_y ~ N(0, 1) of shape [features, classes].
    3. Sample i of class y: p = softmax(x_i W_y) over the other classes (p_y = 0), scaled by
       q_i; p_y = 1 - q_i. Where a label flips to thus depends on the image: two images with
       the same features and class share the distribution over wrong labels.

    Args:
        features: [N, ...] numbers (flattened to [N, S]): an array, or an array-like with
            `shape` read by slices (`PixelFeatures`, which kerasssl passes: the pixels in
            [0, 1], also from shards). Rows are read and projected `chunk_size` at a time.
        labels: int64 [N] true class ids.
        num_classes: C.
        noise_rate: in [0, 1), the expected fraction of labels that change.
        rng: a `np.random.Generator` (draws q, then W).
        chunk_size: rows per read and matrix product, an int >= 1 (the same chunks give the
            same floats: an array and its shards give the same result).

    Returns:
        float64 [N, C], each row summing to 1.

    Reference:
        Xia et al., "Part-dependent Label Noise: Towards Instance-dependent Label Noise",
        NeurIPS 2020, https://arxiv.org/abs/2006.07836 (Appendix, Algorithm 2).
    """
    if not hasattr(features, "shape"):
        features = np.asarray(features)
    shape = tuple(features.shape)
    if len(shape) < 2 or shape[0] != len(labels):
        raise ValueError(
            f"instance noise needs `features` [N, ...] with one row per label ({len(labels)}); "
            f"got shape {shape}."
        )
    integer = isinstance(chunk_size, int | np.integer) and not isinstance(chunk_size, bool)
    if not integer or chunk_size < 1:
        raise ValueError(f"`chunk_size` must be an int >= 1; got {chunk_size!r}.")
    labels = np.asarray(labels)
    num_features = int(np.prod(shape[1:]))
    location = flip_rate_location(noise_rate)
    a, b = (0.0 - location) / FLIP_RATE_STD, (1.0 - location) / FLIP_RATE_STD
    if noise_rate == 0:
        flip_rates = np.zeros(len(labels))
    else:
        flip_rates = stats.truncnorm.rvs(
            a, b, loc=location, scale=FLIP_RATE_STD, size=len(labels), random_state=rng
        )
    projections = rng.standard_normal((num_classes, num_features, num_classes), np.float32)
    probabilities = np.zeros((len(labels), num_classes))
    for start in range(0, len(labels), chunk_size):
        stop = min(start + chunk_size, len(labels))
        chunk = np.asarray(features[start:stop]).reshape(stop - start, -1).astype(np.float32)
        chunk_labels = labels[start:stop]
        for label in np.unique(chunk_labels):
            members = np.flatnonzero(chunk_labels == label)
            logits = (chunk[members] @ projections[label]).astype(np.float64)
            logits[:, label] = -np.inf
            flip_distribution = special.softmax(logits, axis=1)
            rows = start + members
            probabilities[rows] = flip_rates[rows, None] * flip_distribution
            probabilities[rows, label] = 1.0 - flip_rates[rows]
    return probabilities


def sample_labels(probabilities, rng):
    """One label per row of `probabilities` [N, C] (inverse-CDF sampling, one uniform each)."""
    cumulative = np.cumsum(probabilities, axis=1)
    uniforms = rng.random(len(probabilities)) * cumulative[:, -1]
    labels = (cumulative <= uniforms[:, None]).sum(axis=1)
    return np.minimum(labels, probabilities.shape[1] - 1).astype(np.int64)
