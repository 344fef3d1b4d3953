import keras
import numpy as np
import pytest

from kerasssl import optimizers


def _model():
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x))


def test_only_kernels_are_decayed():
    names = sorted(v.path for v in optimizers.decayable_variables(_model()))
    assert names == ["conv/kernel", "head/kernel"]


def test_l2_penalty_gradient_is_weight_decay_times_weight():
    variable = keras.Variable(np.array([[1.0, -2.0]], np.float32))
    import tensorflow as tf

    with tf.GradientTape() as tape:
        penalty = optimizers.l2_penalty([variable], 0.1)
    np.testing.assert_allclose(penalty, 0.5 * 0.1 * 5.0, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(penalty, variable), [[0.1, -0.2]], rtol=1e-6)


def test_decoupled_decay_skips_biases_and_batch_norm():
    model = _model()
    optimizer = optimizers.build_optimizer(
        "sgd", 0.1, model, weight_decay=0.5, weight_decay_mode="decoupled", momentum=0.0
    )
    before = {v.path: np.array(v) for v in model.trainable_weights}
    zero_gradients = [keras.ops.zeros_like(v) for v in model.trainable_weights]
    optimizer.apply_gradients(zip(zero_gradients, model.trainable_weights, strict=True))
    for variable in model.trainable_weights:
        changed = not np.allclose(before[variable.path], np.array(variable))
        nonzero = np.any(before[variable.path] != 0)
        assert changed == (len(variable.shape) > 1 and nonzero), variable.path


def test_coupled_mode_leaves_the_optimizer_without_decay():
    optimizer = optimizers.build_optimizer("sgd", 0.1, _model(), weight_decay=5e-4)
    assert not optimizer.weight_decay


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "lamb"}, "optimizer name"),
        ({"name": "sgd", "weight_decay_mode": "both"}, "weight_decay_mode"),
        ({"name": "sgd", "weight_decay": -1.0}, "weight_decay"),
        ({"name": "sgd", "ema_momentum": 1.0}, "ema_momentum"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimizers.build_optimizer(learning_rate=0.1, model=_model(), **kwargs)


def test_ema_momentum_turns_on_keras_ema():
    optimizer = optimizers.build_optimizer("sgd", 0.1, _model(), ema_momentum=0.999)
    assert optimizer.use_ema and optimizer.ema_momentum == pytest.approx(0.999)
    assert not optimizers.build_optimizer("sgd", 0.1, _model()).use_ema
