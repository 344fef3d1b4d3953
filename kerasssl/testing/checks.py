"""Checks every kerasssl algorithm and model passes; shipped so users can test their own.

Each function raises `AssertionError` with a message that says what differs.
"""

import json
import pathlib
import tempfile

import keras
import numpy as np
import tensorflow as tf


def check_config_round_trip(instance):
    """`from_config(get_config())` through JSON rebuilds an object with the same config."""
    config = json.loads(json.dumps(instance.get_config()))
    restored = type(instance).from_config(config)
    again = json.loads(json.dumps(restored.get_config()))
    assert again == config, f"get_config changed after a round trip:\n{config}\n!=\n{again}"
    return restored


def check_keras_file_round_trip(model, inputs, rtol=1e-5, atol=1e-6):
    """Saving to `.keras` and loading gives a model with the same class and the same outputs."""
    expected = model(inputs, training=False)
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "model.keras"
        model.save(path)
        restored = keras.saving.load_model(path)
    assert type(restored) is type(model), f"{type(restored)} != {type(model)}"
    actual = restored(inputs, training=False)
    for left, right in zip(keras.tree.flatten(expected), keras.tree.flatten(actual), strict=True):
        np.testing.assert_allclose(np.asarray(right), np.asarray(left), rtol=rtol, atol=atol)
    return restored


def check_nonzero_gradient(loss_function, variables, name="loss", atol=1e-6):
    """The gradient of `loss_function()` reaches `variables` and is not (numerically) all zero.

    Guards against silently dead loss terms, e.g. a soft target `stop_gradient(softmax(z))` of
    the same logits, or Keras' fused cross-entropy differentiated with respect to its labels.
    """
    with tf.GradientTape() as tape:
        value = loss_function()
    gradients = tape.gradient(value, variables)
    assert any(g is not None for g in gradients), f"{name}: no gradient reaches the variables"
    # Float round-off leaves ~1e-8 where the exact gradient is zero, hence a tolerance.
    largest = max(float(tf.reduce_max(tf.abs(g))) for g in gradients if g is not None)
    assert largest > atol, f"{name}: the gradient is zero (largest entry {largest:.2e})"
    return gradients
