import keras
import numpy as np
import pytest

from kerasssl.losses import CrossEntropy


def _reference(targets, logits):
    logits = logits - logits.max(-1, keepdims=True)
    log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return float(np.mean(-(targets * log_probabilities).sum(-1)))


def test_class_ids_and_one_hot_give_the_same_loss():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], np.float32)
    ids = np.array([0, 2])
    one_hot = np.eye(3, dtype=np.float32)[ids]
    loss = CrossEntropy()
    assert float(loss(ids, logits)) == pytest.approx(_reference(one_hot, logits), rel=1e-5)
    assert float(loss(one_hot, logits)) == pytest.approx(float(loss(ids, logits)), rel=1e-6)


def test_label_smoothing_matches_hand_computation():
    logits = np.array([[2.0, 0.5, -1.0]], np.float32)
    smoothed = 0.9 * np.eye(3)[[0]] + 0.1 / 3
    loss = CrossEntropy(label_smoothing=0.1)
    assert float(loss(np.array([0]), logits)) == pytest.approx(_reference(smoothed, logits), 1e-5)


def test_soft_targets_are_used_as_given():
    logits = np.array([[1.0, 2.0]], np.float32)
    soft = np.array([[0.3, 0.7]], np.float32)
    assert float(CrossEntropy()(soft, logits)) == pytest.approx(_reference(soft, logits), 1e-5)


def test_bfloat16_logits_give_float32_loss():
    logits = keras.ops.cast(np.array([[1.0, 2.0]]), "bfloat16")
    value = CrossEntropy()(np.array([1]), logits)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"


def test_serialization_round_trip():
    loss = CrossEntropy(label_smoothing=0.2)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, CrossEntropy) and restored.label_smoothing == 0.2


def test_bad_label_smoothing():
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropy(label_smoothing=1.0)
