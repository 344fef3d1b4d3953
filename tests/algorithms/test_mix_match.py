import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from kerasssl.algorithms.mix_match import beta_quantile, mix_coefficient, mix_match
from kerasssl.algorithms.sharpen import sharpen


def test_sharpen_by_hand():
    # [0.6, 0.4] ** 2 = [0.36, 0.16], normalised by 0.52.
    np.testing.assert_allclose(sharpen([[0.6, 0.4]], 0.5), [[0.36 / 0.52, 0.16 / 0.52]], rtol=1e-6)
    np.testing.assert_allclose(sharpen([[0.6, 0.4]], 1.0), [[0.6, 0.4]], rtol=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        sharpen([[0.5, 0.5]], 0.0)


def test_sharpen_in_tf_data_matches_eager():
    probabilities = np.array([[0.7, 0.2, 0.1]], np.float32)

    def sharpen_element(p):
        return sharpen(p, 0.5)

    dataset = tf.data.Dataset.from_tensors(probabilities).map(sharpen_element)
    np.testing.assert_allclose(next(iter(dataset)), sharpen(probabilities, 0.5), rtol=1e-6)


def test_mix_match_by_hand():
    inputs = np.array([[0.0], [10.0]], np.float32)
    targets = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    mixed_inputs, mixed_targets = mix_match(inputs, targets, 0.75, np.array([1, 0]))
    np.testing.assert_allclose(mixed_inputs, [[2.5], [7.5]])
    np.testing.assert_allclose(mixed_targets, [[0.75, 0.25], [0.25, 0.75]])


def test_mix_coefficient_is_at_least_one_half():
    generator = keras.random.SeedGenerator(0)
    values = np.array([float(mix_coefficient(4.0, generator)) for _ in range(50)])
    assert values.min() >= 0.5 and values.max() <= 1.0 and values.std() > 0
    with pytest.raises(ValueError, match="alpha"):
        mix_coefficient(0.0, generator)


def beta_function(alpha, beta):
    return math.exp(math.lgamma(alpha) + math.lgamma(beta) - math.lgamma(alpha + beta))


@pytest.mark.parametrize("alpha", [0.5, 0.75, 4.0])
def test_beta_quantile_of_uniforms_has_the_moments_of_beta(alpha):
    count = 20_000
    uniforms = np.random.default_rng(0).uniform(size=count).astype("float32")
    samples = np.asarray(beta_quantile(uniforms, alpha, alpha), np.float64)
    # Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)); five standard errors of tolerance.
    variance = 1.0 / (4.0 * (2.0 * alpha + 1.0))
    assert samples.mean() == pytest.approx(0.5, abs=5 * math.sqrt(variance / count))
    assert samples.var() == pytest.approx(variance, rel=0.05)
    # max(l, 1 - l), as mix_coefficient returns: mean 1/2 + E|l - 1/2|, with the mean
    # absolute deviation of Beta(a, a) E|l - 1/2| = 1 / (a 4^a B(a, a)).
    folded = np.maximum(samples, 1.0 - samples)
    deviation = 1.0 / (alpha * 4.0**alpha * beta_function(alpha, alpha))
    assert folded.mean() == pytest.approx(0.5 + deviation, abs=5 * math.sqrt(variance / count))
    assert folded.var() == pytest.approx(variance - deviation**2, rel=0.05)


def test_beta_quantile_inverts_the_beta_cdf():
    probabilities = np.linspace(0.001, 0.999, 101).astype("float32")
    for alpha, beta in [(4.0, 4.0), (0.5, 0.5), (2.0, 5.0)]:
        quantiles = beta_quantile(probabilities, alpha, beta)
        np.testing.assert_allclose(
            tf.math.betainc(alpha, beta, quantiles), probabilities, atol=1e-5
        )
    # Beta(1, 1) is uniform: the quantile is the probability itself.
    np.testing.assert_allclose(beta_quantile(probabilities, 1.0, 1.0), probabilities, atol=1e-6)


# Long: XLA compiles the bisection (tests/test_jit_compile.py compiles the whole steps).
@pytest.mark.long
def test_mix_coefficient_compiles_with_xla_and_repeats_with_its_seed():
    # keras.random.beta (StatelessRandomGammaV3) has no XLA kernel; this draw must compile.
    def draws(seed):
        generator = keras.random.SeedGenerator(seed)
        step = tf.function(lambda: mix_coefficient(4.0, generator), jit_compile=True)
        return [float(step()) for _ in range(5)]

    first = draws(3)
    assert first == draws(3) and first != draws(4)
    assert all(0.5 <= value <= 1.0 for value in first) and len(set(first)) == 5


def test_mix_match_keeps_targets_normalised():
    rng = np.random.default_rng(0)
    targets = ops.softmax(rng.normal(size=(6, 3)).astype("float32"))
    _, mixed = mix_match(rng.normal(size=(6, 2)), targets, 0.6, rng.permutation(6))
    np.testing.assert_allclose(ops.sum(mixed, axis=-1), np.ones(6), rtol=1e-6)
