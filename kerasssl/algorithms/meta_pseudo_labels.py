"""Meta Pseudo Labels: a teacher that learns from how its pseudo-labels change the student."""

import keras
import tensorflow as tf
from keras import ops

from kerasssl import optimizers
from kerasssl.algorithms.class_counts import check_same_classes
from kerasssl.algorithms.replicas import mean_over_replicas
from kerasssl.algorithms.seed_generator_checkpointing import SeedGeneratorCheckpointing
from kerasssl.algorithms.sharpen import check_temperature
from kerasssl.algorithms.training_batch_build import TrainingBatchBuild
from kerasssl.algorithms.uda import (
    MASK_ON,
    smoothed_confidence_ceiling,
    soft_cross_entropy,
    uda_loss,
)

PSEUDO_LABELS = ("argmax", "sample")
PSEUDO_LABEL_VIEWS = ("strong", "weak")
MPL_LOGITS_VIEWS = ("strong", "weak")


@keras.saving.register_keras_serializable(package="kerasssl")
class MetaPseudoLabels(TrainingBatchBuild, SeedGeneratorCheckpointing, keras.Model):
    """Meta Pseudo Labels (MPL) with the UDA auxiliary loss for the teacher.

    Each step sees a dict `x` with "labeled" images, the unlabeled images under a weak and a
    strong view ("unlabeled_<weak_view>", "unlabeled_<strong_view>", as made by
    `kerasssl.data.pipelines.semi_supervised_dataset`) and optionally "unlabeled_labels" (true
    labels, -1 when unknown, used only for the pseudo-label accuracy metric); `y` holds the
    labeled class ids. One step:

    1. the teacher predicts the labeled, weak and strong batches (one call, shared BN stats);
    2. the student takes one optimizer step on the strong images, its targets the teacher's
       hard pseudo-labels on the `pseudo_label_view` (argmax or sampled: a soft target
       `stop_gradient(softmax(z))` of the teacher's own logits would give the teacher no
       gradient);
    3. the teacher feedback `h` is the student's labeled cross-entropy before its step minus
       after it (first-order meta-gradient; averaged over replicas), minus a moving-average
       baseline;
    4. the teacher minimises `CE(labeled) + uda_weight * UDA + mpl_weight * h * CE(teacher
       logits on the `mpl_logits_view`, their hard labels)` (`uda_weight` ramps up linearly
       over `uda_rampup_steps`; the UDA mask is taken on `mask_on`).

    Which teacher view does what, in the two authors' codes on CIFAR-10:
    - google-research `meta_pseudo_labels/training_utils.py` (`MPL.step_fn`): the student
      learns from the teacher's strong-view prediction and the MPL term differentiates the
      teacher's strong-view logits (`pseudo_label_view="strong"`,
      `mpl_logits_view="strong"`); its student targets are soft, which this class replaces by
      hard labels (its MPL term, the CE of `stop_gradient(softmax(z))` against the same logits
      `z`, has a zero gradient).
    - the PyTorch port kekmodel/MPL-pytorch (`main.py`): the student learns from the
      teacher's weak-view argmax, while the MPL term is the CE of the teacher's strong-view
      logits against their own argmax (`pseudo_label_view="weak"`, `mpl_logits_view="strong"`).
    With `pseudo_label_view == mpl_logits_view` the MPL term uses the student's own targets
    (the same draw with `pseudo_labels="sample"`); otherwise the MPL view's own argmax (or
    draw). Both codes mask UDA on the sharpened weak-view distribution with threshold 0.6,
    smooth the teacher's labeled loss and the student's pseudo-label loss by 0.15, ramp the
    UDA weight over 5,000 of 300,000 steps and hold the student's learning rate at 0 for its
    first 3,000 steps (a schedule, see `kerasssl.experiments.meta_pseudo_labels`).

    With `exact=True` (small networks), step 3-4 differentiate through one functional SGD step
    of the student (step size `exact_step_size`, `stateless_call` inside nested
    `GradientTape`s) on the teacher's soft predictions; the MPL term is then the student's
    labeled cross-entropy after that step, and the student's real update uses the same (fixed)
    soft targets. The cross-entropies on that path are written by hand
    (`kerasssl.algorithms.uda.soft_cross_entropy`) because Keras' fused one has no second
    derivative with respect to soft targets. Under `tf.distribute` each replica takes that
    functional step on its own shard (no cross-replica reduction inside the nested tapes), so
    exact mode matches one device only approximately; the first-order mode matches it exactly.

    `train_step` is custom (two networks, two optimizers, two gradients), so it owns
    `optimizer.scale_loss` (a `LossScaleOptimizer` works) and replica scaling: every loss is a
    per-replica mean written with plain ops (no Keras `Loss` object), divided once by
    `num_replicas_in_sync` before the cross-replica gradient sum; `h` uses the all-reduced mean
    of the student's losses so every replica sees the same feedback. Trackers report the
    unscaled values. `call` returns the student's logits, so `evaluate`/`predict` use the
    student. Pass both optimizers to `compile`: `optimizer` (teacher) and `student_optimizer`;
    a `.keras` file of the whole algorithm reloads with `compile=False` only.

    Args:
        teacher: `keras.Model` mapping images to logits.
        student: `keras.Model` mapping images to logits, same number of classes.
        uda_weight: weight of the teacher's UDA loss (lambda_u; 8 in the reference port).
        uda_temperature: sharpening temperature of the UDA target (0.7; < 1 sharpens).
        confidence_threshold: UDA mask threshold on the weak-view max probability of the
            `mask_on` distribution (both MPL codes: 0.6 on the sharpened one).
        mask_on: "sharpened" (both MPL codes: the max of `softmax(weak / uda_temperature)`)
            or "plain" (`softmax(weak)`, the UDA paper's code); see
            `kerasssl.algorithms.uda.uda_loss`.
        uda_rampup_steps: steps over which `uda_weight` ramps up linearly from 0 (0: no ramp;
            both codes: 5,000 of 300,000).
        mpl_weight: weight of the MPL feedback term (0 turns the teacher into plain UDA; the
            student's after-step pass is then skipped and `h` reports 0).
        label_smoothing: smoothing of the teacher's labeled CE and the student's pseudo-label
            CE (both codes: 0.15 on CIFAR-10).
        pseudo_labels: "argmax" or "sample" (a draw from the teacher's softmax).
        pseudo_label_view: the teacher view whose prediction becomes the student's target on
            the strong images: "strong" (the paper and the google-research code) or "weak"
            (the PyTorch port; an early teacher is far more accurate on weak views).
        mpl_logits_view: the teacher logits the MPL term differentiates: "strong" (both
            codes) or "weak". Exact mode differentiates through the student's targets, so
            there it must equal `pseudo_label_view`.
        baseline_decay: decay of the moving average subtracted from `h` (0: no baseline).
        exact: differentiate through one functional SGD student step instead.
        exact_step_size: the SGD step size of that functional step.
        weak_view, strong_view: view names of the unlabeled keys in `x`.
        l2_weight_decay: coupled L2 on both networks' kernels (0 with decoupled decay).
        seed: seed of the pseudo-label sampling.

    Example:
        >>> teacher = kerasssl.models.get_model("resnet_tiny", num_classes=10)
        >>> student = kerasssl.models.get_model("resnet_tiny", num_classes=10)
        >>> mpl = MetaPseudoLabels(teacher, student, uda_weight=8.0)
        >>> mpl.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
        ...             student_optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
        ...             loss=kerasssl.losses.CrossEntropy(), metrics=["accuracy"])
        >>> mpl.fit(semi_supervised_dataset(...), epochs=1, steps_per_epoch=100)

    Reference: Pham et al., "Meta Pseudo Labels", CVPR 2021 (https://arxiv.org/abs/2003.10580).
    """

    def __init__(
        self,
        teacher,
        student,
        uda_weight=8.0,
        uda_temperature=0.7,
        confidence_threshold=0.6,
        mask_on="sharpened",
        uda_rampup_steps=0,
        mpl_weight=1.0,
        label_smoothing=0.15,
        pseudo_labels="argmax",
        pseudo_label_view="strong",
        mpl_logits_view="strong",
        baseline_decay=0.99,
        exact=False,
        exact_step_size=0.1,
        weak_view="weak",
        strong_view="strong",
        l2_weight_decay=0.0,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, network in (("teacher", teacher), ("student", student)):
            if not isinstance(network, keras.Model):
                raise TypeError(f"{name} must be a keras.Model, got {type(network).__name__}.")
        if teacher is student:
            raise ValueError("teacher and student must be two different models.")
        # Unbuilt networks are built (and checked) on the other's input shape, else in `build`
        # on the first batch; None until then.
        num_classes = check_same_classes(teacher, student)
        check_temperature(uda_temperature)
        if pseudo_labels not in PSEUDO_LABELS:
            raise ValueError(
                f"pseudo_labels must be one of {PSEUDO_LABELS}, got {pseudo_labels!r}."
            )
        if pseudo_label_view not in PSEUDO_LABEL_VIEWS:
            raise ValueError(
                f"pseudo_label_view must be one of {PSEUDO_LABEL_VIEWS}, got {pseudo_label_view!r}."
            )
        if mpl_logits_view not in MPL_LOGITS_VIEWS:
            raise ValueError(
                f"mpl_logits_view must be one of {MPL_LOGITS_VIEWS}, got {mpl_logits_view!r}."
            )
        if exact and mpl_logits_view != pseudo_label_view:
            raise ValueError(
                "exact=True differentiates through the student's targets, so mpl_logits_view "
                f"must equal pseudo_label_view ({pseudo_label_view!r}); got {mpl_logits_view!r}."
            )
        if mask_on not in MASK_ON:
            raise ValueError(f"mask_on must be one of {MASK_ON}, got {mask_on!r}.")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay}.")
        if not 0.0 <= confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be in [0, 1], got {confidence_threshold}.")
        for name, value in (
            ("uda_weight", uda_weight),
            ("uda_rampup_steps", uda_rampup_steps),
            ("mpl_weight", mpl_weight),
            ("exact_step_size", exact_step_size),
            ("l2_weight_decay", l2_weight_decay),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}.")
        self.teacher = teacher
        self.student = student
        self.num_classes = num_classes
        self.uda_weight = float(uda_weight)
        self.uda_temperature = float(uda_temperature)
        self.confidence_threshold = float(confidence_threshold)
        self.mask_on = mask_on
        self.uda_rampup_steps = int(uda_rampup_steps)
        self.mpl_weight = float(mpl_weight)
        self.label_smoothing = float(label_smoothing)
        self.pseudo_labels = pseudo_labels
        self.pseudo_label_view = pseudo_label_view
        self.mpl_logits_view = mpl_logits_view
        self.baseline_decay = float(baseline_decay)
        self.exact = bool(exact)
        self.exact_step_size = float(exact_step_size)
        self.weak_view = weak_view
        self.strong_view = strong_view
        self.l2_weight_decay = float(l2_weight_decay)
        self._check_mask_can_open()  # unbuilt networks: again when build knows the classes
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Every replica computes the same value (all-reduced h), so "mean" keeps it unchanged.
        self.h_baseline = keras.Variable(
            0.0, trainable=False, name="h_baseline", aggregation="mean"
        )
        self.student_optimizer = None
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in (
                "teacher_loss",
                "teacher_labeled_loss",
                "uda_loss",
                "uda_mask_rate",
                "mpl_loss",
                "student_loss",
                "student_labeled_loss",
                "h",
                "pseudo_label_accuracy",
            )
        }
        self.built = teacher.built and student.built

    def build(self, input_shape):
        # Keras builds the algorithm when it first sees images (evaluate, predict); train_step
        # calls this on its first labeled batch. Networks made without an input shape are built
        # here, and their class counts checked before any loss is computed.
        self.num_classes = check_same_classes(self.teacher, self.student, tuple(input_shape[1:]))
        self._check_mask_can_open()
        self.built = True

    def _check_mask_can_open(self):
        """ValueError when label smoothing keeps the UDA mask shut (once the classes are known)."""
        if self.num_classes is None or not self.uda_weight:
            return
        ceiling = smoothed_confidence_ceiling(
            self.label_smoothing, self.num_classes, self.uda_temperature, self.mask_on
        )
        if self.confidence_threshold > ceiling:
            raise ValueError(
                f"confidence_threshold={self.confidence_threshold} on the {self.mask_on} "
                f"weak-view distribution is above {ceiling:.3f}, the confidence a teacher "
                f"trained with label_smoothing={self.label_smoothing} aims for on "
                f"{self.num_classes} classes: the UDA mask would (almost) never open and "
                f"uda_weight would train nothing. Lower the threshold below {ceiling:.3f}, mask "
                "on the sharpened distribution (mask_on='sharpened'), or set label_smoothing=0 "
                "(config.meta_pseudo_labels)."
            )

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    def compile(self, optimizer=None, student_optimizer=None, **kwargs):
        if optimizer is None:
            raise ValueError(
                "compile needs `optimizer` for the teacher, e.g. keras.optimizers.SGD(0.05)."
            )
        if student_optimizer is None:
            raise ValueError(
                "compile needs `student_optimizer` for the student (its own instance and "
                "schedule), e.g. student_optimizer=keras.optimizers.SGD(0.05)."
            )
        if student_optimizer is optimizer:
            raise ValueError("`optimizer` and `student_optimizer` must be two instances.")
        super().compile(optimizer=optimizer, **kwargs)
        self.student_optimizer = keras.optimizers.get(student_optimizer)
        # `BackupAndRestore` (and `load_weights`) only fill optimizer slots that exist: an
        # unbuilt student optimizer silently restarts its momentum and schedule on resume.
        if self.teacher.built and self.student.built:
            self.build_optimizers()

    def build_optimizers(self):
        """Creates both optimizers' variables (needed before restoring them from a file)."""
        self.optimizer.build(self.teacher.trainable_variables)
        self.student_optimizer.build(self.student.trainable_variables)

    def check_inputs(self, inputs):
        if not isinstance(inputs, dict):
            raise TypeError(
                "MetaPseudoLabels trains on dicts from "
                "kerasssl.data.pipelines.semi_supervised_dataset; got "
                f"{type(inputs).__name__}."
            )
        for key in ("labeled", f"unlabeled_{self.weak_view}", f"unlabeled_{self.strong_view}"):
            if key not in inputs:
                raise ValueError(
                    f"the training batch has no {key!r} (keys: {sorted(inputs)}): build the "
                    f"dataset with views=({self.weak_view!r}, {self.strong_view!r})."
                )

    def uda_weight_now(self):
        if not self.uda_rampup_steps:
            return ops.convert_to_tensor(self.uda_weight)
        progress = ops.cast(self.optimizer.iterations + 1, "float32") / self.uda_rampup_steps
        return self.uda_weight * ops.minimum(1.0, progress)

    def train_step(self, data):
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        self.check_inputs(inputs)
        if self.student_optimizer is None:
            raise ValueError("compile the algorithm with `student_optimizer` before fit.")
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        labeled = inputs["labeled"]
        if self.num_classes is None:
            self.build(labeled.shape)
        weak = inputs[f"unlabeled_{self.weak_view}"]
        strong = inputs[f"unlabeled_{self.strong_view}"]
        labels_one_hot = ops.one_hot(ops.cast(labels, "int32"), self.num_classes)
        with tf.GradientTape() as teacher_tape:
            teacher_logits = ops.cast(
                self.teacher(ops.concatenate([labeled, weak, strong], axis=0), training=True),
                "float32",
            )
            num_labeled, num_unlabeled = ops.shape(labeled)[0], ops.shape(weak)[0]
            teacher_labeled = teacher_logits[:num_labeled]
            teacher_weak = teacher_logits[num_labeled : num_labeled + num_unlabeled]
            teacher_strong = teacher_logits[num_labeled + num_unlabeled :]
            teacher_labeled_loss = ops.mean(
                soft_cross_entropy(self.smooth(labels_one_hot), teacher_labeled)
            )
            consistency, mask_rate = uda_loss(
                teacher_weak,
                teacher_strong,
                self.uda_temperature,
                self.confidence_threshold,
                self.mask_on,
            )
            # The teacher's logits the student's targets come from.
            teacher_source = teacher_weak if self.pseudo_label_view == "weak" else teacher_strong
            if self.exact:
                mpl_loss, student = self.exact_feedback(
                    labeled, labels_one_hot, strong, teacher_source, teacher_tape
                )
                pseudo_targets = ops.stop_gradient(ops.softmax(teacher_source, axis=-1))
            else:
                pseudo_targets = self.hard_pseudo_labels(teacher_source)
                with teacher_tape.stop_recording():
                    student = self.student_step(labeled, labels_one_hot, strong, pseudo_targets)
                mpl_logits, mpl_targets = teacher_source, pseudo_targets
                if self.mpl_logits_view != self.pseudo_label_view:
                    # The PyTorch port: the strong logits against their own hard labels.
                    mpl_logits = teacher_weak if self.mpl_logits_view == "weak" else teacher_strong
                    mpl_targets = self.hard_pseudo_labels(mpl_logits)
                mpl_loss = student["h"] * ops.mean(soft_cross_entropy(mpl_targets, mpl_logits))
            teacher_loss = (
                teacher_labeled_loss
                + self.uda_weight_now() * consistency
                + self.mpl_weight * mpl_loss
            )
            total = teacher_loss + self.l2(self.teacher)
            scaled = self.optimizer.scale_loss(total / replicas)
        if self.exact:
            # The real student update, on the same soft targets the meta-gradient assumed.
            student.update(self.student_step(labeled, labels_one_hot, strong, pseudo_targets))
        variables = self.teacher.trainable_variables
        self.optimizer.apply(teacher_tape.gradient(scaled, variables), variables)
        labeled_logits = student.pop("labeled_logits")
        self.update_trackers(
            teacher_loss=teacher_loss,
            teacher_labeled_loss=teacher_labeled_loss,
            uda_loss=consistency,
            uda_mask_rate=mask_rate,
            mpl_loss=mpl_loss,
            **student,
        )
        if "unlabeled_labels" in inputs:
            self.update_pseudo_label_accuracy(inputs["unlabeled_labels"], teacher_source)
        # Compiled metrics (e.g. accuracy) and "loss" follow the student, the model `call` runs.
        if getattr(self, "_loss_tracker", None) is not None:
            self._loss_tracker.update_state(student["student_loss"])
        return self.compute_metrics(inputs, labels, labeled_logits)

    def test_step(self, data):
        # Evaluation runs the student only: the training trackers would be logged as zeros.
        logs = super().test_step(data)
        return {name: value for name, value in logs.items() if name not in self.trackers}

    def smooth(self, targets):
        if not self.label_smoothing:
            return targets
        return (1.0 - self.label_smoothing) * targets + self.label_smoothing / self.num_classes

    def l2(self, network):
        if not self.l2_weight_decay:
            return ops.zeros((), "float32")
        return optimizers.model_l2_penalty(network, self.l2_weight_decay)

    def hard_pseudo_labels(self, teacher_logits):
        logits = ops.stop_gradient(teacher_logits)
        if self.pseudo_labels == "sample":
            ids = keras.random.categorical(logits, 1, seed=self.seed_generator)[:, 0]
        else:
            ids = ops.argmax(logits, axis=-1)
        return ops.one_hot(ops.cast(ids, "int32"), self.num_classes)

    def student_step(self, labeled, labels_one_hot, strong, pseudo_targets):
        """One optimizer step of the student; returns its losses and the feedback h."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            logits = ops.cast(
                self.student(ops.concatenate([labeled, strong], axis=0), training=True), "float32"
            )
            num_labeled = ops.shape(labeled)[0]
            student_labeled = logits[:num_labeled]
            student_loss = ops.mean(
                soft_cross_entropy(self.smooth(pseudo_targets), logits[num_labeled:])
            )
            total = student_loss + self.l2(self.student)
            scaled = self.student_optimizer.scale_loss(total / replicas)
        variables = self.student.trainable_variables
        self.student_optimizer.apply(tape.gradient(scaled, variables), variables)
        before = ops.mean(soft_cross_entropy(labels_one_hot, student_labeled))
        result = {
            "student_loss": student_loss,
            "student_labeled_loss": before,
            "labeled_logits": ops.stop_gradient(student_labeled),
        }
        if self.exact:
            return result
        if not self.mpl_weight:
            # Plain UDA: the feedback would be multiplied by 0, so skip the after-step pass.
            result["h"] = ops.zeros((), "float32")
            return result
        # The new weights in training mode, as the "before" loss; discard BN-statistics updates.
        after_logits, _ = self.student.stateless_call(
            [tf.identity(v.value) for v in variables],
            [tf.identity(v.value) for v in self.student.non_trainable_variables],
            labeled,
            training=True,
        )
        after = ops.mean(soft_cross_entropy(labels_one_hot, ops.cast(after_logits, "float32")))
        improvement = mean_over_replicas(before - after)
        feedback = improvement - self.h_baseline
        if self.baseline_decay:
            self.h_baseline.assign(
                self.baseline_decay * self.h_baseline + (1.0 - self.baseline_decay) * improvement
            )
        result["h"] = ops.stop_gradient(feedback)
        return result

    def exact_feedback(self, labeled, labels_one_hot, strong, teacher_source, teacher_tape):
        """Student's labeled CE after one functional SGD step on the teacher's soft targets.

        Runs inside the teacher's tape, so its gradient reaches the teacher through the
        student's gradient (second order); the hand-written CE keeps that path non-zero.
        """
        soft_targets = ops.softmax(teacher_source, axis=-1)
        weights = [tf.identity(v.value) for v in self.student.trainable_variables]
        state = [tf.identity(v.value) for v in self.student.non_trainable_variables]
        with tf.GradientTape() as inner_tape:
            inner_tape.watch(weights)
            strong_logits, _ = self.student.stateless_call(weights, state, strong, training=True)
            inner_loss = ops.mean(
                soft_cross_entropy(soft_targets, ops.cast(strong_logits, "float32"))
            )
        gradients = inner_tape.gradient(inner_loss, weights)
        stepped = [
            weight - self.exact_step_size * ops.cast(gradient, weight.dtype)
            for weight, gradient in zip(weights, gradients, strict=True)
        ]
        after_logits, _ = self.student.stateless_call(stepped, state, labeled, training=True)
        after = ops.mean(soft_cross_entropy(labels_one_hot, ops.cast(after_logits, "float32")))
        with teacher_tape.stop_recording():
            before_logits, _ = self.student.stateless_call(weights, state, labeled, training=True)
            before = ops.mean(
                soft_cross_entropy(labels_one_hot, ops.cast(before_logits, "float32"))
            )
        return after, {"h": ops.stop_gradient(mean_over_replicas(before - after))}

    def update_trackers(self, **values):
        for name, value in values.items():
            self.trackers[name].update_state(value)

    def update_pseudo_label_accuracy(self, true_labels, teacher_logits):
        true_labels = ops.cast(true_labels, "int32")
        known = ops.cast(true_labels >= 0, "float32")
        predicted = ops.cast(ops.argmax(teacher_logits, axis=-1), "int32")
        correct = ops.cast(ops.equal(predicted, true_labels), "float32")
        self.trackers["pseudo_label_accuracy"].update_state(correct, sample_weight=known)

    def get_config(self):
        return {
            **super().get_config(),
            "teacher": keras.saving.serialize_keras_object(self.teacher),
            "student": keras.saving.serialize_keras_object(self.student),
            "uda_weight": self.uda_weight,
            "uda_temperature": self.uda_temperature,
            "confidence_threshold": self.confidence_threshold,
            "mask_on": self.mask_on,
            "uda_rampup_steps": self.uda_rampup_steps,
            "mpl_weight": self.mpl_weight,
            "label_smoothing": self.label_smoothing,
            "pseudo_labels": self.pseudo_labels,
            "pseudo_label_view": self.pseudo_label_view,
            "mpl_logits_view": self.mpl_logits_view,
            "baseline_decay": self.baseline_decay,
            "exact": self.exact,
            "exact_step_size": self.exact_step_size,
            "weak_view": self.weak_view,
            "strong_view": self.strong_view,
            "l2_weight_decay": self.l2_weight_decay,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("teacher", "student"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
