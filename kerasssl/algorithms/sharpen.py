"""Temperature sharpening of class distributions (MixMatch, DivideMix)."""

from keras import ops


def sharpen(probabilities, temperature):
    """`p ** (1 / T)` renormalised over the last axis; T < 1 makes p more confident.

    Args:
        probabilities: float [..., C], non-negative, each row summing to 1.
        temperature: T > 0 (MixMatch and DivideMix use 0.5).

    Example:
        >>> sharpen([[0.6, 0.4]], 0.5)  # [[0.6923, 0.3077]] = [0.36, 0.16] / 0.52

    Reference: Berthelot et al., "MixMatch", NeurIPS 2019 (https://arxiv.org/abs/1905.02249).
    """
    check_temperature(temperature)
    powered = ops.power(ops.cast(probabilities, "float32"), 1.0 / temperature)
    return powered / ops.sum(powered, axis=-1, keepdims=True)


def check_temperature(temperature):
    if not isinstance(temperature, int | float) or temperature <= 0:
        raise ValueError(f"temperature must be > 0 (e.g. 0.5); got {temperature!r}.")
