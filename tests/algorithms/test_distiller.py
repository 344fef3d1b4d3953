import json

import keras
import numpy as np
import pytest

from kerasssl import losses
from kerasssl.algorithms.distiller import Distiller


def _constant_model(logits):
    """A model whose output is `logits` for every input (bias only), so losses are by hand."""
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(len(logits), kernel_initializer="zeros")
    model = keras.Model(inputs, dense(inputs))
    dense.bias.assign(np.asarray(logits, "float32"))
    return model


def _softmax(logits):
    exponentials = np.exp(logits - np.max(logits))
    return exponentials / exponentials.sum()


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_loss_is_alpha_hard_plus_one_minus_alpha_t_squared_kl(temperature):
    teacher_logits, student_logits = np.array([2.0, 0.0, -1.0]), np.array([0.5, 1.0, 0.0])
    distiller = Distiller(
        _constant_model(teacher_logits),
        _constant_model(student_logits),
        temperature=temperature,
        student_loss_weight=0.25,
    )
    distiller.compile("sgd", loss=losses.CrossEntropy())
    x, y = np.zeros((4, 2), "float32"), np.array([0, 0, 0, 0])
    loss = distiller.compute_loss(x, y, distiller(x))
    teacher = _softmax(teacher_logits / temperature)
    student = _softmax(student_logits / temperature)
    kl = np.sum(teacher * np.log(teacher / student))
    hard = -np.log(_softmax(student_logits)[0])
    expected = 0.25 * hard + 0.75 * temperature**2 * kl
    np.testing.assert_allclose(float(loss), expected, rtol=1e-4)


def test_teacher_is_frozen_and_call_returns_the_student():
    teacher, student = _constant_model([1.0, 0.0]), _constant_model([0.0, 1.0])
    distiller = Distiller(teacher, student)
    assert not teacher.trainable
    x = np.ones((3, 2), "float32")
    np.testing.assert_allclose(distiller(x), student(x))


def test_different_class_counts_name_the_fix():
    with pytest.raises(ValueError, match="num_classes=3"):
        Distiller(_constant_model([0.0, 0.0, 0.0]), _constant_model([0.0, 0.0]))
    with pytest.raises(ValueError, match="temperature"):
        Distiller(_constant_model([0.0, 0.0]), _constant_model([0.0, 0.0]), temperature=0)


def test_fit_and_get_config_round_trip():
    distiller = Distiller(
        _constant_model([1.0, 0.0]),
        _constant_model([0.0, 1.0]),
        temperature=3.0,
        student_loss_weight=0.1,
        l2_weight_decay=1e-4,
    )
    distiller.compile("sgd", loss=losses.CrossEntropy(), metrics=["accuracy"])
    history = distiller.fit(np.ones((8, 2), "float32"), np.zeros(8, "int64"), epochs=2, verbose=0)
    assert history.history["distillation_loss"][-1] < history.history["distillation_loss"][0]
    config = json.loads(json.dumps(distiller.get_config()))
    restored = Distiller.from_config(config)
    assert (restored.temperature, restored.student_loss_weight) == (3.0, 0.1)
    assert restored.l2_weight_decay == 1e-4


@pytest.mark.slow
def test_keras_file_save_and_load(tmp_path):
    distiller = Distiller(_constant_model([1.0, 0.0]), _constant_model([0.0, 1.0]), 2.0, 0.3)
    distiller.compile("sgd", loss=losses.CrossEntropy())
    x = np.ones((2, 2), "float32")
    distiller.save(tmp_path / "distiller.keras")
    restored = keras.saving.load_model(tmp_path / "distiller.keras", compile=False)
    assert restored.temperature == 2.0 and restored.student_loss_weight == 0.3
    np.testing.assert_allclose(restored(x), distiller(x))
