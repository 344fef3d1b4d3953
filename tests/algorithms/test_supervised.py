import json

import keras
import numpy as np
import pytest

from kerasssl import optimizers
from kerasssl.algorithms.supervised import Supervised
from kerasssl.testing import run_on_two_cpus


def _tiny_model(num_classes=3):
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))


def _blobs(seed=0, n=96):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centers = np.eye(3, 4) * 4.0
    return (centers[labels] + rng.normal(size=(n, 4))).astype("float32"), labels


def test_fit_learns_and_call_returns_the_model_logits():
    images, labels = _blobs()
    model = _tiny_model()
    algorithm = Supervised(model, label_smoothing=0.1, l2_weight_decay=1e-4)
    algorithm.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    history = algorithm.fit(images, labels, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(algorithm.predict(images, verbose=0), expected)
    assert "classification_loss" in history.history


def test_l2_penalty_is_added_in_training_only():
    images, labels = _blobs(n=8)
    algorithm = Supervised(_tiny_model(), l2_weight_decay=0.5)
    logits = algorithm(images)
    train_loss = algorithm.compute_loss(y=labels, y_pred=logits, training=True)
    eval_loss = algorithm.compute_loss(y=labels, y_pred=logits, training=False)
    penalty = optimizers.l2_penalty(optimizers.decayable_variables(algorithm.model), 0.5)
    np.testing.assert_allclose(float(train_loss) - float(eval_loss), float(penalty), rtol=1e-5)


def test_get_config_round_trip_is_json_and_rebuilds_the_model():
    algorithm = Supervised(_tiny_model(), label_smoothing=0.1, l2_weight_decay=5e-4)
    config = json.loads(json.dumps(algorithm.get_config()))
    restored = Supervised.from_config(config)
    assert restored.label_smoothing == 0.1 and restored.l2_weight_decay == 5e-4
    assert restored.model.count_params() == algorithm.model.count_params()


def test_keras_file_round_trip(tmp_path):
    images, _ = _blobs(n=4)
    algorithm = Supervised(_tiny_model(), label_smoothing=0.1)
    expected = algorithm.predict(images, verbose=0)
    path = tmp_path / "supervised.keras"
    algorithm.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, Supervised)
    np.testing.assert_allclose(restored.predict(images, verbose=0), expected, rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(TypeError, match="model"):
        Supervised("resnet")
    with pytest.raises(ValueError, match="l2_weight_decay"):
        Supervised(_tiny_model(), l2_weight_decay=-1.0)


MIRRORED_SCRIPT = """
    import json, sys
    import numpy as np, tensorflow as tf, keras
    from kerasssl.algorithms.supervised import Supervised

    def run(strategy):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 4)).astype("float32")
        y = rng.integers(0, 3, 64)
        with strategy.scope():
            inputs = keras.Input((4,))
            model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
            algorithm = Supervised(model, l2_weight_decay=0.05)
            algorithm.compile(optimizer=keras.optimizers.SGD(0.5))
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
        history = algorithm.fit(dataset, epochs=3, verbose=0, shuffle=False)
        return history.history["loss"], model.get_weights()[0].tolist()

    one = run(tf.distribute.OneDeviceStrategy("/cpu:0"))
    two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    print(json.dumps({"one": one, "two": two}))
    """


def test_mirrored_strategy_matches_one_device():
    values = run_on_two_cpus(MIRRORED_SCRIPT)
    np.testing.assert_allclose(values["two"][0], values["one"][0], rtol=1e-4)
    np.testing.assert_allclose(values["two"][1], values["one"][1], rtol=1e-4, atol=1e-6)
