"""Teacher and student class counts are checked even for networks made without an input shape."""

import keras
import numpy as np
import pytest

from kerasssl import losses
from kerasssl.algorithms.class_counts import check_same_classes
from kerasssl.algorithms.distiller import Distiller
from kerasssl.algorithms.meta_pseudo_labels import MetaPseudoLabels

MISMATCH = "teacher predicts 3 classes but student predicts 4"


def _unbuilt(num_classes):
    # No keras.Input: the model has no outputs until it first sees a batch.
    return keras.Sequential(
        [keras.layers.Dense(8, activation="relu"), keras.layers.Dense(num_classes)]
    )


def _built(num_classes):
    inputs = keras.Input((5,))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(inputs))


def _distiller(teacher, student):
    distiller = Distiller(teacher, student, temperature=2.0)
    distiller.compile(keras.optimizers.SGD(0.1), loss=losses.CrossEntropy())
    return distiller


def _mpl(teacher, student):
    algorithm = MetaPseudoLabels(teacher, student)
    algorithm.compile(
        optimizer=keras.optimizers.SGD(0.1),
        student_optimizer=keras.optimizers.SGD(0.1),
        loss=losses.CrossEntropy(),
    )
    return algorithm


def _images(n=8):
    return np.random.default_rng(0).normal(size=(n, 5)).astype("float32")


def _mpl_batch():
    images = _images()
    x = {"labeled": images, "unlabeled_weak": images, "unlabeled_strong": images + 0.1}
    return x, np.arange(8) % 3


def test_unbuilt_networks_are_checked_on_the_first_batch():
    distiller = _distiller(_unbuilt(3), _unbuilt(4))
    with pytest.raises(ValueError, match=MISMATCH):
        distiller.fit(_images(), np.arange(8) % 3, epochs=1, verbose=0)
    algorithm = _mpl(_unbuilt(3), _unbuilt(4))
    x, y = _mpl_batch()
    with pytest.raises(ValueError, match=MISMATCH):
        algorithm.train_on_batch(x, y)
    with pytest.raises(ValueError, match=MISMATCH):
        _mpl(_unbuilt(3), _unbuilt(4)).predict(_images(), verbose=0)


@pytest.mark.parametrize("built_side", ["teacher", "student"])
def test_an_unbuilt_network_is_checked_at_construction_on_the_other_ones_input(built_side):
    teacher, student = (
        (_built(3), _unbuilt(4)) if built_side == "teacher" else (_unbuilt(3), _built(4))
    )
    with pytest.raises(ValueError, match=MISMATCH):
        Distiller(teacher, student)
    teacher, student = (
        (_built(3), _unbuilt(4)) if built_side == "teacher" else (_unbuilt(3), _built(4))
    )
    with pytest.raises(ValueError, match=MISMATCH):
        MetaPseudoLabels(teacher, student)


def test_unbuilt_networks_with_the_same_classes_train():
    distiller = _distiller(_unbuilt(3), _unbuilt(3))
    distiller.fit(_images(), np.arange(8) % 3, epochs=1, verbose=0)
    assert distiller.student.outputs[0].shape[-1] == 3
    algorithm = _mpl(_unbuilt(3), _unbuilt(3))
    x, y = _mpl_batch()
    algorithm.train_on_batch(x, y)
    assert algorithm.num_classes == 3
    assert int(algorithm.student_optimizer.iterations) == 1


def test_check_same_classes_waits_for_a_shape_when_neither_has_one():
    teacher, student = _unbuilt(3), _unbuilt(4)
    assert check_same_classes(teacher, student) is None
    assert not teacher.built and not student.built
    with pytest.raises(ValueError, match=MISMATCH + ": build the student with num_classes=3"):
        check_same_classes(teacher, student, input_shape=(5,))
