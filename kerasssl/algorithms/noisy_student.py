"""The student phase of Noisy Student: labeled and pseudo-labeled images, one loss."""

import keras
import tensorflow as tf
from keras import ops

from kerasssl import losses, optimizers
from kerasssl.algorithms.seed_generator_checkpointing import SeedGeneratorCheckpointing


@keras.saving.register_keras_serializable(package="kerasssl")
class NoisyStudent(SeedGeneratorCheckpointing, keras.Model):
    """Trains a noised student on labeled images plus the teacher's pseudo-labeled images.

    Loss = CE(labels, student(labeled)) + pseudo_label_weight * ratio * CE(targets,
    student(pseudo_labeled)) + coupled L2, each CE a batch mean and `ratio` the number of
    pseudo-labeled images per labeled one in the batch: with `pseudo_label_weight=1` every
    image counts the same, as the reference's `lab_loss + unlabel_ratio * unl_loss` (noisystudent
    `main.py`). Targets are soft probabilities or class ids (`kerasssl.losses.CrossEntropy`
    takes both); label smoothing applies to class ids only (the labels and hard
    pseudo-labels), never to soft targets, as the reference. Labeled and pseudo-labeled images
    go through the student in one forward pass (concatenated), so BatchNorm normalises both
    with one set of batch statistics, as the reference.

    The noise lives outside this class: dropout and stochastic depth in the student network
    (`dropout_rate`, `stochastic_depth_rate`), RandAugment in the input views
    (`kerasssl.pseudo_labels.student_dataset`). Overrides only `compute_loss` (and
    `compute_metrics`, to score the labeled part); `call` on a plain image batch returns the
    student's logits, so `evaluate` and `predict` work on the algorithm, and on the training
    dict it returns the logits of the labeled images followed by the pseudo-labeled ones.

    Inputs: `x` = {"labeled": [B, H, W, C], "pseudo_labeled": [B * ratio, H, W, C],
    "pseudo_targets": [B * ratio, num_classes] or [B * ratio]}; `y` = int labels [B].

    Args:
        model: the student `keras.Model` (images -> logits).
        pseudo_label_weight: weight of a pseudo-labeled image relative to a labeled one, >= 0
            (1: the reference's equal weighting).
        label_smoothing: in [0, 1), applied to class ids (labels, hard pseudo-labels) only.
        l2_weight_decay: coupled L2 on kernels (0 when the optimizer decays itself).

    Example:
        >>> student = kerasssl.models.get_model("resnet_cifar_small", num_classes=10,
        ...     input_shape=(32, 32, 3), dropout_rate=0.5, stochastic_depth_rate=0.2)
        >>> algorithm = NoisyStudent(student)
        >>> algorithm.compile(optimizer="sgd", metrics=["sparse_categorical_accuracy"])
        >>> algorithm.fit(student_dataset(labeled, pool, selection, 64, 3), steps_per_epoch=50)

    Reference: Xie et al., "Self-training with Noisy Student improves ImageNet
    classification", CVPR 2020 (https://arxiv.org/abs/1911.04252).
    """

    def __init__(
        self, model, pseudo_label_weight=1.0, label_smoothing=0.0, l2_weight_decay=0.0, **kwargs
    ):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        if pseudo_label_weight < 0 or l2_weight_decay < 0:
            raise ValueError(
                "pseudo_label_weight and l2_weight_decay must be >= 0, got "
                f"{pseudo_label_weight} and {l2_weight_decay}."
            )
        self.model = model
        self.pseudo_label_weight = pseudo_label_weight
        self.label_smoothing = label_smoothing
        self.l2_weight_decay = l2_weight_decay
        self.classification_loss = losses.CrossEntropy(label_smoothing=label_smoothing)
        # The reference smooths one-hot targets only; soft targets are the teacher's own.
        self.soft_target_loss = losses.CrossEntropy()
        self.labeled_loss_tracker = keras.metrics.Mean(name="labeled_loss")
        self.pseudo_loss_tracker = keras.metrics.Mean(name="pseudo_label_loss")
        self.built = model.built

    def call(self, inputs, training=False):
        if isinstance(inputs, dict):
            if "pseudo_labeled" not in inputs:
                return self.model(inputs["labeled"], training=training)
            # One pass: BatchNorm sees labeled and pseudo-labeled images in one batch.
            inputs = ops.concatenate([inputs["labeled"], inputs["pseudo_labeled"]], axis=0)
        return self.model(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        num_labeled = ops.shape(y)[0]
        labeled_logits = y_pred[:num_labeled]
        # Loss objects already divide by the replica count; trackers show the per-replica mean.
        loss = self.classification_loss(y, labeled_logits, sample_weight=sample_weight)
        self.labeled_loss_tracker.update_state(loss * replicas)
        if isinstance(x, dict) and "pseudo_labeled" in x:
            pseudo_logits = y_pred[num_labeled:]
            targets = x["pseudo_targets"]
            soft = len(targets.shape) == len(pseudo_logits.shape)
            pseudo_loss = (self.soft_target_loss if soft else self.classification_loss)(
                targets, pseudo_logits
            )
            self.pseudo_loss_tracker.update_state(pseudo_loss * replicas)
            # Batch means times the ratio: each pseudo-labeled image weighs as a labeled one.
            ratio = ops.cast(ops.shape(pseudo_logits)[0], "float32") / ops.cast(
                num_labeled, "float32"
            )
            loss = loss + self.pseudo_label_weight * ratio * pseudo_loss
        if self.l2_weight_decay and training:
            penalty = optimizers.model_l2_penalty(self.model, self.l2_weight_decay)
            loss = loss + penalty / replicas
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # Metrics score the labeled images, the only ones whose labels are known.
        return super().compute_metrics(x, y, y_pred[: ops.shape(y)[0]], sample_weight)

    def get_config(self):
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.model),
            "pseudo_label_weight": self.pseudo_label_weight,
            "label_smoothing": self.label_smoothing,
            "l2_weight_decay": self.l2_weight_decay,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)
