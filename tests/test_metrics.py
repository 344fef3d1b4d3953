import keras
import numpy as np
import pytest

from kerasssl.metrics import Accuracy


def test_ids_and_soft_targets():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], np.float32)
    metric = Accuracy()
    metric.update_state(np.array([1, 1, 1]), logits)
    assert float(metric.result()) == pytest.approx(2 / 3)
    metric.reset_state()
    soft = np.array([[0.3, 0.7], [0.6, 0.4], [0.9, 0.1]], np.float32)
    metric.update_state(soft, logits)
    assert float(metric.result()) == pytest.approx(2 / 3)


def test_serializes():
    restored = keras.metrics.deserialize(keras.metrics.serialize(Accuracy(name="acc")))
    assert isinstance(restored, Accuracy) and restored.name == "acc"
