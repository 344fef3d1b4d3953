"""Knowledge distillation: Keras' own `Distiller` with kerasssl's loss, checks and weight decay."""

import keras
import tensorflow as tf

from kerasssl import optimizers
from kerasssl.algorithms.class_counts import check_same_classes
from kerasssl.algorithms.seed_generator_checkpointing import SeedGeneratorCheckpointing


@keras.saving.register_keras_serializable(package="kerasssl")
class Distiller(SeedGeneratorCheckpointing, keras.distillation.Distiller):
    """`keras.distillation.Distiller` with one `LogitsDistillation` term and coupled L2.

    The loss is `alpha * CE(y, student) + (1 - alpha) * T^2 * KL(softmax(t / T) ||
    softmax(s / T))`: Keras' `LogitsDistillation` already divides both logits by the
    temperature and multiplies the KL term by T^2 (so its gradient keeps the size of the hard
    term whatever T). This subclass only adds what kerasssl needs: a clear error when teacher
    and student predict different numbers of classes, coupled L2 on the student's kernels
    (PyTorch `SGD(weight_decay=...)` semantics, as the CIFAR recipes use) and a `get_config`
    holding the hyperparameters instead of loss objects. The class counts are checked at
    construction, or on the first batch for networks made without an input shape. Compile it
    with the student loss:
    `compile(optimizer, loss=kerasssl.losses.CrossEntropy(), metrics=[...])`.

    Args:
        teacher: a `keras.Model` mapping images to logits; frozen.
        student: a `keras.Model` with the same input and number of classes.
        temperature: softmax temperature T > 0 of the soft term (Hinton et al. use 2-20).
        student_loss_weight: alpha in [0, 1], the weight of the hard (label) term.
        l2_weight_decay: coupled L2 strength on the student's kernels (0 with an optimizer
            that decays itself).

    Example:
        >>> distiller = Distiller(teacher, student, temperature=4.0, student_loss_weight=0.1)
        >>> distiller.compile("sgd", loss=kerasssl.losses.CrossEntropy(), metrics=["accuracy"])
        >>> distiller.fit(dataset, epochs=1, steps_per_epoch=10)

    Reference: Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network", 2015.
    """

    def __init__(
        self,
        teacher,
        student,
        temperature=4.0,
        student_loss_weight=0.5,
        l2_weight_decay=0.0,
        **kwargs,
    ):
        for name, model in (("teacher", teacher), ("student", student)):
            if not isinstance(model, keras.Model):
                raise TypeError(f"{name} must be a keras.Model, got {type(model).__name__}.")
        # Unbuilt networks are built (and checked) on the other's input shape, else in `build`.
        check_same_classes(teacher, student)
        if not isinstance(temperature, int | float) or temperature <= 0:
            raise ValueError(f"temperature must be a number > 0, got {temperature!r}.")
        if l2_weight_decay < 0:
            raise ValueError(f"l2_weight_decay must be >= 0, got {l2_weight_decay}.")
        # Keras' own config keys; the hyperparameters above rebuild them.
        for key in ("distillation_losses", "distillation_loss_weights"):
            kwargs.pop(key, None)
        super().__init__(
            teacher,
            student,
            # A KLDivergence instance, not Keras' default "kl_divergence" string: the string
            # resolves to a plain function, which LogitsDistillation then applies to raw
            # logits / T without softmax and without the T^2 factor (Keras 3.15).
            distillation_losses=keras.distillation.LogitsDistillation(
                temperature=temperature, loss=keras.losses.KLDivergence()
            ),
            student_loss_weight=float(student_loss_weight),
            **kwargs,
        )
        self.temperature = temperature
        self.l2_weight_decay = l2_weight_decay
        self.built = student.built

    def build(self, input_shape):
        # Keras builds the algorithm on the first batch, before any loss: networks made
        # without an input shape get their class counts checked here.
        check_same_classes(self.teacher, self.student, tuple(input_shape[1:]))
        self.built = True

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training)
        if self.l2_weight_decay and training:
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            penalty = optimizers.model_l2_penalty(self.student, self.l2_weight_decay)
            # Gradients are summed across replicas, each of which adds the same penalty.
            loss = loss + penalty / replicas
        return loss

    def get_config(self):
        config = super().get_config()
        config.pop("distillation_losses", None)
        config.pop("distillation_loss_weights", None)
        config.update({"temperature": self.temperature, "l2_weight_decay": self.l2_weight_decay})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
