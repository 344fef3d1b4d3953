"""AdaBound / AMSBound: the update against a hand computation, bounds, config, training."""

import json
import math

import keras
import numpy as np
import pytest

from kerasssl import recipe_defaults, train
from kerasssl.optimizers import AdaBound, build_optimizer, step_bounds
from kerasssl.testing import Interrupt, InterruptFit

BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-8


def _hand_computed(weights, gradients, learning_rate, final_learning_rate, gamma, amsbound):
    """The reference update written out one scalar at a time, in plain Python floats."""
    weights = list(weights)
    m = [0.0] * len(weights)
    v = [0.0] * len(weights)
    v_max = [0.0] * len(weights)
    regimes = []
    for t, step_gradients in enumerate(gradients, start=1):
        lower = final_learning_rate * (1 - 1 / (gamma * t + 1))
        upper = final_learning_rate * (1 + 1 / (gamma * t))
        alpha = learning_rate * math.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
        for i, g in enumerate(step_gradients):
            m[i] = BETA_1 * m[i] + (1 - BETA_1) * g
            v[i] = BETA_2 * v[i] + (1 - BETA_2) * g * g
            v_max[i] = max(v_max[i], v[i])
            rate = alpha / (math.sqrt(v_max[i] if amsbound else v[i]) + EPSILON)
            regimes.append("lower" if rate < lower else "upper" if rate > upper else "adam")
            weights[i] -= min(max(rate, lower), upper) * m[i]
    return weights, regimes


def _run(optimizer, weights, gradients):
    variable = keras.Variable(np.array(weights, np.float32))
    for step_gradients in gradients:
        optimizer.apply_gradients([(np.array(step_gradients, np.float32), variable)])
    return np.array(variable)


@pytest.mark.parametrize("amsbound", [False, True])
def test_two_steps_equal_the_hand_computed_update(amsbound):
    # gamma 0.5 makes the bounds tight enough at t = 1, 2 that the three coordinates take the
    # three regimes: Adam's rate inside the bounds, clipped at the upper and at the lower bound.
    # The last coordinate's gradient shrinks, so AMSBound's maximum of v differs from v.
    weights = [1.0, 2.0, 3.0, -1.0]
    gradients = [[1.0, 0.1, 10.0, 10.0], [-0.5, 0.1, 10.0, 0.1]]
    settings = {"learning_rate": 0.01, "final_learning_rate": 0.1, "gamma": 0.5}
    expected, regimes = _hand_computed(weights, gradients, amsbound=amsbound, **settings)
    assert {"adam", "lower", "upper"} <= set(regimes)
    optimizer = AdaBound(amsbound=amsbound, epsilon=EPSILON, **settings)
    np.testing.assert_allclose(_run(optimizer, weights, gradients), expected, rtol=1e-6)


def test_amsbound_differs_from_adabound_when_the_gradient_shrinks():
    # beta_2 = 0.5 lets v forget the first large gradient within a few steps; its maximum does not.
    gradients = [[10.0], [0.1], [0.1], [0.1]]
    settings = {"learning_rate": 0.01, "final_learning_rate": 0.1, "gamma": 1e-3, "beta_2": 0.5}
    adabound = _run(AdaBound(**settings), [0.0], gradients)
    amsbound = _run(AdaBound(amsbound=True, **settings), [0.0], gradients)
    assert abs(adabound[0] - amsbound[0]) > 0.1 * abs(amsbound[0])


def test_bounds_close_in_on_the_final_learning_rate():
    steps = np.array([1, 10, 1e3, 1e5, 1e7])
    lower, upper = step_bounds(0.1, 1e-3, steps)
    assert np.all(np.diff(lower) > 0) and np.all(np.diff(upper) < 0)
    assert np.all(lower < 0.1) and np.all(upper > 0.1)
    np.testing.assert_allclose([lower[-1], upper[-1]], [0.1, 0.1], rtol=1e-4)


def test_after_many_steps_the_update_is_sgd_at_the_final_rate():
    # Adam's own rates differ by 10^4 between the coordinates; the closed bounds override both.
    optimizer = AdaBound(learning_rate=1e-3, final_learning_rate=0.05)
    variable = keras.Variable(np.zeros(2, np.float32))
    optimizer.build([variable])
    optimizer.iterations.assign(10**8)
    gradient = np.array([1e-3, 10.0], np.float32)
    optimizer.apply_gradients([(gradient, variable)])
    # One step from zero moments: m = 0.1 * g.
    np.testing.assert_allclose(np.array(variable), -0.05 * 0.1 * gradient, rtol=1e-3)


def test_schedule_scales_the_bounds_with_the_learning_rate():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([1], [1e-3, 1e-4])
    optimizer = AdaBound(schedule, final_learning_rate=0.1, base_learning_rate=1e-3)
    variable = keras.Variable(np.zeros(1, np.float32))
    optimizer.build([variable])
    optimizer.iterations.assign(10**8)  # the schedule's second piece: lr 1e-4
    optimizer.apply_gradients([(np.array([1.0], np.float32), variable)])
    # final = 0.1 * 1e-4 / 1e-3 = 0.01; m = 0.1.
    np.testing.assert_allclose(np.array(variable), [-0.01 * 0.1], rtol=1e-3)


def test_get_config_round_trip():
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, 100)
    optimizer = AdaBound(
        schedule,
        final_learning_rate=0.2,
        gamma=2e-3,
        amsbound=True,
        base_learning_rate=1e-3,
        weight_decay=1e-4,
    )
    config = optimizer.get_config()
    restored = AdaBound.from_config(json.loads(json.dumps(config)))  # from_config edits its dict
    assert restored.get_config() == config
    serialized = keras.optimizers.serialize(optimizer)
    again = keras.optimizers.deserialize(serialized)
    assert isinstance(again, AdaBound) and again.get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"final_learning_rate": 0.0}, "final_learning_rate"),
        ({"final_learning_rate": -0.1}, "final_learning_rate"),
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": 1.0}, "gamma"),
        ({"beta_2": 1.0}, "beta_2"),
        ({"learning_rate": keras.optimizers.schedules.CosineDecay(1e-3, 10)}, "base_learning_rate"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdaBound(**kwargs)


def _model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2, name="head")(inputs))


@pytest.mark.parametrize("name", ["adabound", "amsbound"])
def test_build_optimizer_decoupled_decay_skips_biases(name):
    model = _model()
    optimizer = build_optimizer(
        name, 0.1, model, weight_decay=0.5, weight_decay_mode="decoupled", base_learning_rate=0.1
    )
    assert isinstance(optimizer, AdaBound) and optimizer.amsbound == (name == "amsbound")
    model.get_layer("head").bias.assign(np.ones(2, np.float32))
    kernel = np.array(model.get_layer("head").kernel)
    zero_gradients = [keras.ops.zeros_like(v) for v in model.trainable_weights]
    optimizer.apply_gradients(zip(zero_gradients, model.trainable_weights, strict=True))
    np.testing.assert_allclose(model.get_layer("head").kernel, kernel * (1 - 0.1 * 0.5), rtol=1e-6)
    np.testing.assert_allclose(model.get_layer("head").bias, np.ones(2), rtol=0)


def test_build_optimizer_coupled_mode_leaves_decay_to_the_loss():
    optimizer = build_optimizer("adabound", 1e-3, _model(), weight_decay=5e-4)
    assert not optimizer.weight_decay


def _smoke_config():
    config = recipe_defaults.smoke(recipe_defaults.base_config())  # digits, resnet_tiny
    config.train.optimizer = "amsbound"
    config.train.base_learning_rate = 2e-3
    config.train.steps_per_epoch = 3
    return config


@pytest.mark.long
def test_trains_a_smoke_recipe_and_resumes_exactly(tmp_path):
    metrics = train.train_and_evaluate(_smoke_config(), tmp_path / "straight")
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    straight = keras.saving.load_model(tmp_path / "straight" / "model.keras").get_weights()

    resumed = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        train.train_and_evaluate(_smoke_config(), resumed, [InterruptFit(0, epoch=0)])
    train.train_and_evaluate(_smoke_config(), resumed)
    for expected, actual in zip(
        straight, keras.saving.load_model(resumed / "model.keras").get_weights(), strict=True
    ):
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("amsbound", [False, True])
def test_with_bounds_that_never_bind_it_is_keras_adam(amsbound):
    # gamma -> 0 opens the bounds to [0, inf): AdaBound is then Adam (AMSBound is AMSGrad).
    rng = np.random.default_rng(0)
    gradients = rng.normal(0.0, 1.0, (6, 5)) * np.array([1e-3, 1e-2, 0.1, 1.0, 10.0])
    weights = rng.normal(0.0, 1.0, 5)
    adam = keras.optimizers.Adam(learning_rate=0.01, epsilon=EPSILON, amsgrad=amsbound)
    adabound = AdaBound(learning_rate=0.01, gamma=1e-30, epsilon=EPSILON, amsbound=amsbound)
    np.testing.assert_allclose(
        _run(adabound, weights, gradients), _run(adam, weights, gradients), rtol=1e-6
    )
