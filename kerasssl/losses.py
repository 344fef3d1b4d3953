"""Loss functions shared by kerasssl algorithms."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasssl")
class CrossEntropy(keras.losses.Loss):
    """Cross-entropy on logits that takes either class ids or soft targets, with label smoothing.

    Keras' `SparseCategoricalCrossentropy` has no label smoothing and `CategoricalCrossentropy`
    needs one-hot targets; pipelines here carry class ids, while mixup/cutmix produce soft
    targets, so this loss accepts both: `y_true` of rank `rank(logits) - 1` is read as ids.

    Args:
        label_smoothing: in [0, 1); targets become `(1 - eps) * y + eps / num_classes`.

    Example:
        >>> loss = CrossEntropy(label_smoothing=0.1)
        >>> loss([0, 2], [[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])

    Reference: Szegedy et al., "Rethinking the Inception Architecture", 2016 (label smoothing).
    """

    def __init__(self, label_smoothing=0.0, name="cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        num_classes = ops.shape(y_pred)[-1]
        if len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = ops.one_hot(ops.cast(y_true, "int32"), num_classes)
        y_true = ops.cast(y_true, "float32")
        return keras.losses.categorical_crossentropy(
            y_true, y_pred, from_logits=True, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
