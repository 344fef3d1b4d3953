"""MixMatch's mixup: one Beta coefficient, kept >= 0.5 so each mixed sample stays near its own."""

import keras
from keras import ops


def mix_coefficient(alpha, seed):
    """lambda' = max(lambda, 1 - lambda) with lambda ~ Beta(alpha, alpha).

    Args:
        alpha: Beta concentration > 0 (DivideMix uses 4 on CIFAR).
        seed: an int or a `keras.random.SeedGenerator`.
    """
    if not isinstance(alpha, int | float) or alpha <= 0:
        raise ValueError(f"alpha must be > 0 (e.g. 4 as DivideMix on CIFAR); got {alpha!r}.")
    coefficient = keras.random.beta((), alpha, alpha, seed=seed)
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
