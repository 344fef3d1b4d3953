import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from kerasssl.algorithms.mix_match import mix_coefficient, mix_match
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


def test_mix_match_keeps_targets_normalised():
    rng = np.random.default_rng(0)
    targets = ops.softmax(rng.normal(size=(6, 3)).astype("float32"))
    _, mixed = mix_match(rng.normal(size=(6, 2)), targets, 0.6, rng.permutation(6))
    np.testing.assert_allclose(ops.sum(mixed, axis=-1), np.ones(6), rtol=1e-6)
