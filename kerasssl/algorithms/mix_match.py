"""MixMatch's mixup: one Beta coefficient, kept >= 0.5 so each mixed sample stays near its own."""

import keras
import tensorflow as tf
from keras import ops

# Bisection halves [0, 1] this many times: 2**-32 is far below float32's spacing near the
# coefficient's range [0.5, 1] (6e-8), so the quantile is exact to float32.
BISECTION_STEPS = 32


def beta_quantile(probability, alpha, beta):
    """The `probability` quantile of Beta(alpha, beta): x with I_x(alpha, beta) = probability.

    Bisection on the regularized incomplete beta function (`tf.math.betainc`), a fixed number
    of steps, so it compiles with XLA and keeps static shapes (TensorFlow has no `betaincinv`).
    """
    probability = ops.convert_to_tensor(probability, "float32")
    alpha = ops.full_like(probability, alpha)
    beta = ops.full_like(probability, beta)
    low, high = ops.zeros_like(probability), ops.ones_like(probability)
    for _ in range(BISECTION_STEPS):
        middle = 0.5 * (low + high)
        below = tf.math.betainc(alpha, beta, middle) < probability
        low = ops.where(below, middle, low)
        high = ops.where(below, high, middle)
    return 0.5 * (low + high)


def mix_coefficient(alpha, seed):
    """lambda' = max(lambda, 1 - lambda) with lambda ~ Beta(alpha, alpha).

    lambda is drawn by inverse transform sampling (`beta_quantile` of one uniform draw), not
    `keras.random.beta`: that draws two Gamma variables with TensorFlow's
    `StatelessRandomGammaV3`, which has no XLA kernel, so a step calling it cannot compile with
    `jit_compile=True` (TPUs). The draw stays in the step, from `seed`: one seed per call as
    before, so a fixed seed repeats it and a checkpointed `SeedGenerator` resumes it exactly.
    Kept in the step rather than drawn in the tf.data pipeline: the batches, their checkpoint
    and the step's inputs stay as they are, and the scalar bisection (32 `betainc` calls per
    step) costs nothing next to the networks. As every stateless draw, an XLA-compiled step
    draws another (equally distributed) sequence than an uncompiled one from the same seed.

    Args:
        alpha: Beta concentration > 0 (DivideMix uses 4 on CIFAR).
        seed: an int or a `keras.random.SeedGenerator`.
    """
    if not isinstance(alpha, int | float) or alpha <= 0:
        raise ValueError(f"alpha must be > 0 (e.g. 4 as DivideMix on CIFAR); got {alpha!r}.")
    coefficient = beta_quantile(keras.random.uniform((), seed=seed), alpha, alpha)
    return ops.maximum(coefficient, 1.0 - coefficient)


def mix_match(inputs, targets, coefficient, permutation):
    """Mixes every sample with the sample `permutation` points at: `l * a + (1 - l) * b`.

    Args:
        inputs: float [N, ...] (labeled and unlabeled views concatenated).
        targets: float [N, C] soft targets in the same order.
        coefficient: scalar lambda' in [0.5, 1] (see `mix_coefficient`).
        permutation: int [N] partner of each sample (a random shuffle of range(N)).

    Returns:
        (mixed inputs, mixed targets).

    Example:
        >>> x, y = mix_match(x, y, mix_coefficient(4.0, seed), keras.random.shuffle(ops.arange(n)))

    Reference: Berthelot et al., "MixMatch", NeurIPS 2019 (https://arxiv.org/abs/1905.02249).
    """
    coefficient = ops.cast(coefficient, "float32")
    inputs = ops.cast(inputs, "float32")
    targets = ops.cast(targets, "float32")
    partner_inputs = ops.take(inputs, permutation, axis=0)
    partner_targets = ops.take(targets, permutation, axis=0)
    mixed_inputs = coefficient * inputs + (1.0 - coefficient) * partner_inputs
    mixed_targets = coefficient * targets + (1.0 - coefficient) * partner_targets
    return mixed_inputs, mixed_targets
