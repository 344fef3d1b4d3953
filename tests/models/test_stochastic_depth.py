"""Tests for kerasssl.models.stochastic_depth."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasssl.models.stochastic_depth import StochasticDepth


def _inputs(batch=4096, channels=3):
    rng = np.random.default_rng(0)
    shortcut = rng.normal(size=(batch, 2, 2, channels)).astype("float32")
    residual = np.ones((batch, 2, 2, channels), "float32")
    return shortcut, residual


def test_inference_is_plain_addition():
    shortcut, residual = _inputs(batch=8)
    layer = StochasticDepth(0.5)
    out = layer([shortcut, residual], training=False)
    np.testing.assert_allclose(out, shortcut + residual, rtol=1e-6)
    np.testing.assert_allclose(layer([shortcut, residual]), shortcut + residual, rtol=1e-6)


def test_training_drops_whole_examples_with_expected_value_scaling():
    rate = 0.3
    shortcut, residual = _inputs()
    out = keras.ops.convert_to_numpy(
        StochasticDepth(rate, seed=1)([shortcut, residual], training=True)
    )
    kept = out - shortcut
    per_example = kept.reshape(len(kept), -1)
    # Every element of an example shares one decision: 0 (dropped) or 1/(1-rate) (kept).
    assert np.allclose(per_example, per_example[:, :1], atol=1e-5)
    values = per_example[:, 0]
    assert np.all(np.isclose(values, 0.0, atol=1e-5) | np.isclose(values, 1 / (1 - rate)))
    drop_fraction = np.isclose(values, 0.0, atol=1e-5).mean()
    # 4096 Bernoulli(0.3) draws: 4 standard deviations is about 0.03.
    assert abs(drop_fraction - rate) < 0.03
    # Expected value matches inference.
    assert abs(values.mean() - 1.0) < 0.05


def test_rate_zero_is_identity_in_training():
    shortcut, residual = _inputs(batch=16)
    out = StochasticDepth(0.0)([shortcut, residual], training=True)
    np.testing.assert_allclose(out, shortcut + residual, rtol=1e-6)


def test_seeded_layers_repeat_and_draws_change_between_calls():
    shortcut, residual = _inputs(batch=256)
    first = StochasticDepth(0.5, seed=3)([shortcut, residual], training=True)
    again = StochasticDepth(0.5, seed=3)([shortcut, residual], training=True)
    np.testing.assert_allclose(first, again)
    layer = StochasticDepth(0.5, seed=3)
    one = layer([shortcut, residual], training=True)
    two = layer([shortcut, residual], training=True)
    assert not np.allclose(one, two)


def test_works_inside_tf_function_and_on_2d_and_3d_inputs():
    layer = StochasticDepth(0.5, seed=0)

    @tf.function
    def apply(shortcut, residual):
        return layer([shortcut, residual], training=True)

    for shape in [(64, 8), (64, 5, 8)]:
        shortcut = tf.zeros(shape)
        out = apply(shortcut, tf.ones(shape)).numpy().reshape(shape[0], -1)
        assert np.allclose(out, out[:, :1])
        assert set(np.round(np.unique(out), 4)) <= {0.0, 2.0}


def test_mixed_bfloat16_keeps_dtype():
    layer = StochasticDepth(0.2, dtype="mixed_bfloat16")
    shortcut = tf.zeros((8, 4), "bfloat16")
    out = layer([shortcut, tf.ones((8, 4), "bfloat16")], training=True)
    assert out.dtype == tf.bfloat16


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_rate_outside_unit_interval_raises(rate):
    with pytest.raises(ValueError, match="rate"):
        StochasticDepth(rate)


def test_non_numeric_rate_raises():
    with pytest.raises(TypeError, match="rate"):
        StochasticDepth("0.1")


def test_single_tensor_input_raises():
    with pytest.raises(ValueError, match="shortcut, residual"):
        StochasticDepth(0.1)(np.zeros((2, 3), "float32"))


def test_get_config_round_trip_and_functional_model():
    layer = StochasticDepth(0.25, seed=7, name="drop_path")
    config = json.loads(json.dumps(layer.get_config()))
    clone = StochasticDepth.from_config(config)
    assert clone.rate == 0.25 and clone.seed == 7 and clone.name == "drop_path"

    inputs = keras.Input((4,))
    residual = keras.layers.Dense(4)(inputs)
    model = keras.Model(inputs, StochasticDepth(0.25)([inputs, residual]))
    restored = keras.Model.from_config(
        json.loads(json.dumps(keras.saving.serialize_keras_object(model)))["config"]
    )
    restored.set_weights(model.get_weights())
    x = np.ones((3, 4), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), restored.predict(x, verbose=0))


def test_gradient_flows_through_kept_examples_only():
    shortcut = tf.zeros((128, 3))
    residual = tf.ones((128, 3))
    layer = StochasticDepth(0.5, seed=2)
    with tf.GradientTape() as tape:
        tape.watch(residual)
        out = layer([shortcut, residual], training=True)
        total = tf.reduce_sum(out)
    grad = tape.gradient(total, residual).numpy()
    assert set(np.unique(grad)) <= {0.0, 2.0}
    np.testing.assert_allclose(grad, out.numpy())


@pytest.mark.parametrize(
    "name",
    ["wrn_28_2", "resnet_cifar_small", "mixer_tiny"],
)
def test_model_block_rates_are_the_efficient_net_codes_rule(name):
    # Block i of N (0-based) drops with rate * i / N: the first block never drops and the last
    # drops rate * (N - 1) / N, as the EfficientNet / Noisy Student code and the docstrings say.
    from kerasssl.models import get_model

    model = get_model(name, num_classes=3, stochastic_depth_rate=0.4)
    rates = [layer.rate for layer in model.layers if isinstance(layer, StochasticDepth)]
    if name == "mixer_tiny":
        rates = rates[::2]  # token- and channel-mixing branches of a block share its rate
    num_blocks = len(rates) + 1  # block 0 (rate 0) has no StochasticDepth layer
    assert rates == pytest.approx([0.4 * index / num_blocks for index in range(1, num_blocks)])
    assert rates[-1] == pytest.approx(0.4 * (num_blocks - 1) / num_blocks)
    assert rates[-1] < 0.4  # not the full rate the docstrings used to promise
