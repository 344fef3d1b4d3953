"""Supervised training: the algorithm every other kerasssl algorithm starts from."""

import keras
import tensorflow as tf

from kerasssl import losses, optimizers
from kerasssl.algorithms.seed_generator_checkpointing import SeedGeneratorCheckpointing


@keras.saving.register_keras_serializable(package="kerasssl")
class Supervised(SeedGeneratorCheckpointing, keras.Model):
    """Trains one classifier with cross-entropy, label smoothing and coupled L2 weight decay.

    Overrides only `compute_loss`, so mixed precision, `tf.distribute`, `steps_per_execution`
    and callbacks behave as in plain Keras. `call` returns the wrapped model's logits, so
    `evaluate` and `predict` work on the algorithm object directly.

    Args:
        model: a `keras.Model` mapping images to logits (see `kerasssl.models`).
        label_smoothing: in [0, 1) (Bag of Tricks section 5.2 uses 0.1).
        l2_weight_decay: coupled L2 strength (PyTorch `SGD(weight_decay=...)` semantics) on
            kernels only, never on biases or normalization parameters. Use 0 with an optimizer
            that already decays (decoupled mode).

    Example:
        >>> algorithm = Supervised(kerasssl.models.get_model("resnet_tiny", num_classes=10))
        >>> algorithm.compile(optimizer="sgd", metrics=["sparse_categorical_accuracy"])
        >>> algorithm.fit(dataset, epochs=1, steps_per_epoch=10)

    Reference: He et al., "Bag of Tricks for Image Classification with CNNs", CVPR 2019.
    """

    def __init__(self, model, label_smoothing=0.0, l2_weight_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        if l2_weight_decay < 0:
            raise ValueError(f"l2_weight_decay must be >= 0, got {l2_weight_decay}.")
        self.model = model
        self.label_smoothing = label_smoothing
        self.l2_weight_decay = l2_weight_decay
        self.classification_loss = losses.CrossEntropy(label_smoothing=label_smoothing)
        self.classification_loss_tracker = keras.metrics.Mean(name="classification_loss")
        # The wrapper owns no weights of its own: it is built once the network is, which
        # BackupAndRestore needs before fit.
        self.built = model.built

    def call(self, inputs, training=False):
        return self.model(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # The Loss object already divides by the replica count under tf.distribute.
        loss = self.classification_loss(y, y_pred, sample_weight=sample_weight)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.classification_loss_tracker.update_state(loss * replicas)
        if self.l2_weight_decay and training:
            penalty = optimizers.model_l2_penalty(self.model, self.l2_weight_decay)
            # Each replica adds the same penalty and gradients are summed across replicas.
            loss = loss + penalty / replicas
        return loss

    def get_config(self):
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.model),
            "label_smoothing": self.label_smoothing,
            "l2_weight_decay": self.l2_weight_decay,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)
