"""Metrics that accept class ids or soft targets (mixup, cutmix, pseudo-label distributions)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasssl")
class Accuracy(keras.metrics.MeanMetricWrapper):
    """Top-1 accuracy against class ids, or against the argmax of soft/one-hot targets.

    `SparseCategoricalAccuracy` fails on the soft targets that batch mixing produces; with
    mixed targets this reports agreement with the dominant class, which is what a training
    curve needs.

    Example:
        >>> metric = Accuracy()
        >>> metric.update_state([1, 0], [[0.1, 0.9], [0.2, 0.8]])  # 0.5
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=_top1_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def _top1_accuracy(y_true, y_pred):
    predicted = ops.argmax(y_pred, axis=-1)
    if len(y_true.shape) == len(y_pred.shape):
        y_true = ops.argmax(y_true, axis=-1)
    y_true = ops.reshape(ops.cast(y_true, "int64"), ops.shape(predicted))
    return ops.cast(ops.equal(y_true, ops.cast(predicted, "int64")), "float32")
