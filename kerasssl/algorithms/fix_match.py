"""FixMatch and FlexMatch: a confident weak-view prediction becomes the strong view's label."""

import copy

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasssl import losses, optimizers
from kerasssl.algorithms.replicas import gather_over_replicas
from kerasssl.algorithms.seed_generator_checkpointing import SeedGeneratorCheckpointing

THRESHOLDS = ("fixed", "flex")


@keras.saving.register_keras_serializable(package="kerasssl")
class FixMatch(SeedGeneratorCheckpointing, keras.Model):
    """FixMatch, and FlexMatch's class-wise curriculum thresholds as `threshold="flex"`.

    Each step sees a dict `x` with "labeled" images (weak view), the same unlabeled images
    under a weak and a strong view ("unlabeled_<weak_view>", "unlabeled_<strong_view>", as
    made by `kerasssl.data.pipelines.semi_supervised_dataset`), optionally "unlabeled_labels"
    (true labels, -1 when unknown; only for the pseudo-label accuracy metrics) and, for
    FlexMatch, "unlabeled_index" (each image's position in the unlabeled set); `y` holds the
    labeled class ids. One forward pass runs over the concatenated labeled, weak and strong
    batches (shared BatchNorm statistics, as the reference code), and the loss is

        CE(labeled logits, y) + unlabeled_loss_weight * mean_u(mask_u * CE(strong_u, p_u))

    where `p_u` is the argmax of the weak-view prediction (no gradient flows through it) and
    `mask_u` keeps images whose weak-view confidence reaches the threshold: `tau` for
    FixMatch; for FlexMatch `tau * M(beta_c)` for the predicted class c, with the convex
    mapping M(x) = x / (2 - x) and beta_c the class's learning effect: the number of unlabeled
    images whose latest prediction above `tau` was c, divided by the largest class count or,
    during the warm-up (`threshold_warmup`), by the number of images never predicted above
    `tau` when that is larger. So FlexMatch starts with thresholds of 0 and raises each class's
    towards `tau` as the class is learned. Its per-image labels are a non-trainable weight
    (`selected_labels`), saved with the weights, so `BackupAndRestore` resumes it.

    Only `compute_loss` is overridden: mixed precision, `steps_per_execution`, callbacks and
    trackers work as in plain Keras; the Keras `Loss` objects divide by the replica count
    under `tf.distribute`, and FlexMatch's per-image state is updated with the whole global
    batch on every replica (gathered), so it equals one device's. `call` returns the wrapped
    network's logits, so `evaluate` and `predict` work on the algorithm directly. For EMA
    evaluation, as the papers, compile with an optimizer made with `use_ema=True,
    ema_momentum=0.999` and fit with `keras.callbacks.SwapEMAWeights()`; `fit` leaves the EMA
    weights in the network.

    Args:
        model: a `keras.Model` mapping images to logits.
        confidence_threshold: tau in (0, 1] (0.95 in both papers).
        unlabeled_loss_weight: lambda_u >= 0 (1 in both papers).
        unlabeled_ratio: mu, unlabeled images per labeled one in a batch (7); checked against
            the batches' sizes.
        threshold: "fixed" (FixMatch) or "flex" (FlexMatch).
        num_unlabeled: the size of the unlabeled set (FlexMatch keeps one label per image).
        threshold_warmup: FlexMatch's warm-up (the reference's default, True).
        weak_view, strong_view: the view names of the unlabeled keys in `x`.
        l2_weight_decay: coupled L2 on kernels only (5e-4 in FixMatch on CIFAR-10); 0 with
            an optimizer that decays itself.

    Example:
        >>> algorithm = FixMatch(kerasssl.models.get_model("wrn_28_2", num_classes=10))
        >>> algorithm.compile(
        ...     optimizer=keras.optimizers.SGD(0.03, momentum=0.9, nesterov=True, use_ema=True,
        ...                                    ema_momentum=0.999),
        ...     metrics=["sparse_categorical_accuracy"])
        >>> algorithm.fit(semi_supervised_dataset(labeled, unlabeled, 64, unlabeled_ratio=7),
        ...               steps_per_epoch=1024, epochs=1024,
        ...               callbacks=[keras.callbacks.SwapEMAWeights()])

    References: Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with Consistency
    and Confidence", NeurIPS 2020 (https://arxiv.org/abs/2001.07685); Zhang et al., "FlexMatch:
    Boosting Semi-Supervised Learning with Curriculum Pseudo Labeling", NeurIPS 2021
    (https://arxiv.org/abs/2110.08263).
    """

    def __init__(
        self,
        model,
        confidence_threshold=0.95,
        unlabeled_loss_weight=1.0,
        unlabeled_ratio=7,
        threshold="fixed",
        num_unlabeled=0,
        threshold_warmup=True,
        weak_view="weak",
        strong_view="strong",
        l2_weight_decay=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        if not 0.0 < confidence_threshold <= 1.0:
            raise ValueError(
                f"confidence_threshold (tau) must be in (0, 1], got {confidence_threshold}."
            )
        if unlabeled_loss_weight < 0:
            raise ValueError(
                f"unlabeled_loss_weight (lambda_u) must be >= 0, got {unlabeled_loss_weight}."
            )
        _check_int(unlabeled_ratio, "unlabeled_ratio (mu)", 1)
        if threshold not in THRESHOLDS:
            raise ValueError(f"threshold must be one of {THRESHOLDS}, got {threshold!r}.")
        if threshold == "flex":
            _check_int(num_unlabeled, "num_unlabeled (threshold='flex': the unlabeled set size)", 1)
        else:
            _check_int(num_unlabeled, "num_unlabeled", 0)
        if l2_weight_decay < 0:
            raise ValueError(f"l2_weight_decay must be >= 0, got {l2_weight_decay}.")
        if weak_view == strong_view:
            raise ValueError(f"weak_view and strong_view must differ, both are {weak_view!r}.")
        self.model = model
        self.confidence_threshold = float(confidence_threshold)
        self.unlabeled_loss_weight = float(unlabeled_loss_weight)
        self.unlabeled_ratio = int(unlabeled_ratio)
        self.threshold = threshold
        self.num_unlabeled = int(num_unlabeled)
        self.threshold_warmup = bool(threshold_warmup)
        self.weak_view = weak_view
        self.strong_view = strong_view
        self.l2_weight_decay = float(l2_weight_decay)
        self.classification_loss = losses.CrossEntropy()
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in (
                "labeled_loss",
                "unlabeled_loss",
                "mask_rate",
                "pseudo_label_accuracy",
                "masked_pseudo_label_accuracy",
            )
        }
        if threshold == "flex":
            # The latest confident prediction for each unlabeled image, -1 before it has one.
            self.selected_labels = self.add_weight(
                shape=(self.num_unlabeled,),
                initializer=keras.initializers.Constant(-1),
                dtype="int32",
                trainable=False,
                # Every replica assigns the same value (see record_confident).
                aggregation="only_first_replica",
                name="selected_labels",
            )
        # The wrapper's only weight is FlexMatch's state: it is built once the network is,
        # which BackupAndRestore needs before fit.
        self.built = model.built

    @property
    def unlabeled_keys(self):
        return f"unlabeled_{self.weak_view}", f"unlabeled_{self.strong_view}"

    def call(self, inputs, training=False):
        if isinstance(inputs, dict):
            labeled, weak, strong = self.split_inputs(inputs)
            inputs = ops.concatenate([labeled, weak, strong], axis=0)
        return self.model(inputs, training=training)

    def split_inputs(self, inputs):
        """(labeled, weak, strong) images of a training batch, after checking its keys/sizes."""
        required = ("labeled", *self.unlabeled_keys)
        if self.threshold == "flex":
            required += ("unlabeled_index",)
        for key in required:
            if key not in inputs:
                raise ValueError(
                    f"the training batch has no {key!r} (keys: {sorted(inputs)}): build it with "
                    "kerasssl.data.pipelines.semi_supervised_dataset(..., views=("
                    f"{self.weak_view!r}, {self.strong_view!r})"
                    + (", include_unlabeled_indices=True" if self.threshold == "flex" else "")
                    + ")."
                )
        labeled = inputs["labeled"]
        weak, strong = (inputs[key] for key in self.unlabeled_keys)
        sizes = [tensor.shape[0] for tensor in (labeled, weak, strong)]
        if None not in sizes:
            if sizes[1] != sizes[2]:
                raise ValueError(
                    f"the weak and strong unlabeled batches hold {sizes[1]} and {sizes[2]} images; "
                    "they must be two views of the same images."
                )
            if sizes[1] != self.unlabeled_ratio * sizes[0]:
                raise ValueError(
                    f"the batch has {sizes[1]} unlabeled images for {sizes[0]} labeled ones, but "
                    f"unlabeled_ratio (mu) is {self.unlabeled_ratio}: build the dataset with "
                    f"unlabeled_ratio={self.unlabeled_ratio}."
                )
            if self.threshold == "flex" and sizes[1] > self.num_unlabeled:
                raise ValueError(
                    f"FlexMatch's warm-up counts the unlabeled images never predicted above tau; "
                    f"an unlabeled set of {self.num_unlabeled} images is smaller than one "
                    f"unlabeled batch ({sizes[1]} images): use more unlabeled images, a smaller "
                    "batch or unlabeled_ratio, or threshold='fixed'."
                )
        return labeled, weak, strong

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        logits = ops.cast(y_pred, "float32")
        num_classes = int(logits.shape[-1])
        if not isinstance(x, dict):
            if training:
                raise TypeError(
                    "FixMatch trains on dicts from kerasssl.data.pipelines."
                    f"semi_supervised_dataset; got {type(x).__name__}."
                )
            # evaluate(): the labeled cross-entropy of plain (images, labels) batches.
            check_labels(y, num_classes, "labels")
            return self.classification_loss(y, logits, sample_weight=sample_weight)
        labeled, weak, _ = self.split_inputs(x)
        num_labeled, num_unlabeled = ops.shape(labeled)[0], ops.shape(weak)[0]
        check_labels(y, num_classes, "labels")
        labeled_logits = logits[:num_labeled]
        weak_logits = ops.stop_gradient(logits[num_labeled : num_labeled + num_unlabeled])
        strong_logits = logits[num_labeled + num_unlabeled :]
        labeled_loss = self.classification_loss(y, labeled_logits, sample_weight=sample_weight)
        pseudo_labels, mask = self.pseudo_labels_and_mask(
            weak_logits, x.get("unlabeled_index"), update=training
        )
        # The Loss divides by the whole unlabeled batch: masked images count as zeros.
        unlabeled_loss = self.classification_loss(pseudo_labels, strong_logits, sample_weight=mask)
        loss = labeled_loss + self.unlabeled_loss_weight * unlabeled_loss
        self.trackers["labeled_loss"].update_state(labeled_loss * replicas)
        self.trackers["unlabeled_loss"].update_state(unlabeled_loss * replicas)
        self.trackers["mask_rate"].update_state(ops.mean(mask))
        if "unlabeled_labels" in x:
            self.update_pseudo_label_accuracy(x["unlabeled_labels"], pseudo_labels, mask)
        if self.l2_weight_decay and training:
            penalty = optimizers.model_l2_penalty(self.model, self.l2_weight_decay)
            # Each replica adds the same penalty and gradients are summed across replicas.
            loss = loss + penalty / replicas
        return loss

    def pseudo_labels_and_mask(self, weak_logits, unlabeled_index=None, update=False):
        """Hard pseudo-labels (int32 [U]) and the float mask of those kept, from weak logits.

        With `update` (training), FlexMatch then records the images predicted above tau; the
        thresholds used here are those from before this batch, as in the reference code.
        """
        probabilities = ops.softmax(ops.stop_gradient(ops.cast(weak_logits, "float32")), axis=-1)
        confidence = ops.max(probabilities, axis=-1)
        pseudo_labels = ops.cast(ops.argmax(probabilities, axis=-1), "int32")
        if self.threshold == "fixed":
            return pseudo_labels, ops.cast(confidence >= self.confidence_threshold, "float32")
        num_classes = int(weak_logits.shape[-1])
        thresholds = ops.take(self.class_thresholds(num_classes), pseudo_labels)
        mask = ops.cast(confidence >= thresholds, "float32")
        if update:
            self.record_confident(unlabeled_index, pseudo_labels, confidence)
        return pseudo_labels, mask

    def learning_effects(self, num_classes):
        """FlexMatch's beta_c (float32 [C]) from the selected labels, warm-up included."""
        # bincount needs ids >= 0: slot 0 counts the images never predicted above tau.
        counts = ops.cast(
            ops.bincount(
                ops.convert_to_tensor(self.selected_labels) + 1, minlength=num_classes + 1
            ),
            "float32",
        )[: num_classes + 1]
        unused, class_counts = counts[0], counts[1:]
        denominator = ops.max(class_counts)
        if self.threshold_warmup:
            denominator = ops.maximum(denominator, unused)
        # Before any image is selected every count is 0: beta = 0 (thresholds of 0).
        return class_counts / ops.maximum(denominator, 1.0)

    def class_thresholds(self, num_classes):
        """tau * M(beta_c) with FlexMatch's convex mapping M(x) = x / (2 - x)."""
        learning_effects = self.learning_effects(num_classes)
        return self.confidence_threshold * learning_effects / (2.0 - learning_effects)

    def record_confident(self, unlabeled_index, pseudo_labels, confidence):
        # Under tf.distribute every replica applies the whole global batch's update, in the
        # global batch's order, so the state stays the one a single device would keep.
        index, pseudo_labels, confidence = gather_over_replicas(
            ops.cast(ops.reshape(unlabeled_index, (-1,)), "int32"), pseudo_labels, confidence
        )
        selected = confidence >= self.confidence_threshold
        # Images below tau write their old value into a spare last slot, dropped afterwards, so
        # a duplicate of a selected image in the same batch cannot undo its update.
        target = ops.where(selected, index, self.num_unlabeled)
        current = ops.convert_to_tensor(self.selected_labels)
        padded = ops.concatenate([current, ops.full((1,), -1, "int32")], axis=0)
        updated = ops.scatter_update(padded, ops.expand_dims(target, -1), pseudo_labels)
        self.selected_labels.assign(updated[: self.num_unlabeled])

    def update_pseudo_label_accuracy(self, true_labels, pseudo_labels, mask):
        true_labels = ops.cast(true_labels, "int32")
        known = ops.cast(true_labels >= 0, "float32")
        correct = ops.cast(ops.equal(pseudo_labels, true_labels), "float32")
        self.trackers["pseudo_label_accuracy"].update_state(correct, sample_weight=known)
        self.trackers["masked_pseudo_label_accuracy"].update_state(
            correct, sample_weight=known * mask
        )

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # Compiled metrics (accuracy) judge the labeled part of a training batch.
        if isinstance(x, dict):
            y_pred = y_pred[: ops.shape(x["labeled"])[0]]
        return super().compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        # Evaluation sees labeled images only: the training trackers would be logged as zeros.
        logs = super().test_step(data)
        return {name: value for name, value in logs.items() if name not in self.trackers}

    def get_config(self):
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.model),
            "confidence_threshold": self.confidence_threshold,
            "unlabeled_loss_weight": self.unlabeled_loss_weight,
            "unlabeled_ratio": self.unlabeled_ratio,
            "threshold": self.threshold,
            "num_unlabeled": self.num_unlabeled,
            "threshold_warmup": self.threshold_warmup,
            "weak_view": self.weak_view,
            "strong_view": self.strong_view,
            "l2_weight_decay": self.l2_weight_decay,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Deserializing a functional model empties the dict it reads: keep the caller's intact.
        config["model"] = keras.saving.deserialize_keras_object(copy.deepcopy(config["model"]))
        return cls(**config)


def check_labels(labels, num_classes, name):
    """Fails the step with a message naming `name` when a class id is outside [0, C)."""
    labels = ops.cast(labels, "int32")
    tf.debugging.assert_non_negative(labels, message=f"{name} must be class ids >= 0")
    tf.debugging.assert_less(
        labels,
        num_classes,
        message=f"{name} must be class ids < the model's {num_classes} classes",
    )


def _check_int(value, name, minimum):
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
