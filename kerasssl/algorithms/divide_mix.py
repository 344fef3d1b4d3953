"""DivideMix: two networks that split the noisy training set for each other, then MixMatch."""

import keras
import tensorflow as tf
from keras import ops

from kerasssl import optimizers
from kerasssl.algorithms.mix_match import mix_coefficient, mix_match
from kerasssl.algorithms.seed_generator_checkpointing import SeedGeneratorCheckpointing
from kerasssl.algorithms.sharpen import check_temperature, sharpen
from kerasssl.algorithms.training_batch_build import TrainingBatchBuild


def co_refine(labels_one_hot, clean_probability, predictions, temperature):
    """Label co-refinement: sharpen(w * y + (1 - w) * p, T).

    Args:
        labels_one_hot: float [B, C], the given (noisy) labels.
        clean_probability: float [B], w from the other network's co-divide.
        predictions: float [B, C], the network's own prediction averaged over the M views.
        temperature: T.
    """
    weight = ops.expand_dims(ops.cast(clean_probability, "float32"), -1)
    refined = weight * ops.cast(labels_one_hot, "float32") + (1.0 - weight) * predictions
    return sharpen(refined, temperature)


def co_guess(predictions, temperature):
    """Label co-guessing: sharpen(mean of the predictions of both networks over the views, T).

    Args:
        predictions: list of float [B, C] probabilities (2 networks x M views).
        temperature: T.
    """
    return sharpen(ops.mean(ops.stack(predictions), axis=0), temperature)


def uniform_prior_penalty(logits):
    """KL(uniform || mean prediction): stops the mixed batch collapsing onto a few classes."""
    num_classes = ops.shape(logits)[-1]
    prior = 1.0 / ops.cast(num_classes, "float32")
    mean_prediction = ops.mean(ops.softmax(ops.cast(logits, "float32")), axis=0)
    return ops.sum(prior * ops.log(prior / (mean_prediction + 1e-12)))


def negative_entropy(logits):
    """Mean of sum p log p: adding it to the loss penalises over-confident predictions."""
    log_probs = ops.log_softmax(ops.cast(logits, "float32"))
    return ops.mean(ops.sum(ops.exp(log_probs) * log_probs, axis=-1))


@keras.saving.register_keras_serializable(package="kerasssl")
class DivideMix(TrainingBatchBuild, SeedGeneratorCheckpointing, keras.Model):
    """DivideMix: co-divide with a GMM, then co-refinement, co-guessing and MixMatch.

    Two networks of the same architecture are trained together, each with its own optimizer
    (`compile` receives the first; an identical fresh one is made for the second network).
    One `train_step` trains both. The step dispatches on its input dict:

    - warm-up (keys "images_1", "labels_1", "images_2", "labels_2"): cross-entropy on the
      noisy labels, plus the negative-entropy confidence penalty when
      `confidence_penalty=True` (the reference uses it for asymmetric noise);
    - DivideMix (for k in 1, 2: "labeled_k_view_1", "labeled_k_view_2", "labels_k",
      "clean_probability_k", "unlabeled_k_view_1", "unlabeled_k_view_2"): network k trains on
      the split made by the *other* network (`kerasssl.noisy_labels`, run per epoch in plain
      Python by `kerasssl.experiments.divide_mix`), with M = 2 views, label co-refinement,
      co-guessing, MixMatch (lambda' = max(lambda, 1 - lambda)), L_x (cross-entropy on the
      mixed labeled part), lambda_u * L_u (MSE on the mixed unlabeled part, lambda_u ramped
      linearly over `rampup_epochs` after warm-up, per step) and the uniform-prior
      regulariser.

    `train_step` is custom because one gradient is not enough: it owns `optimizer.scale_loss`
    (so a `LossScaleOptimizer` works) and replica scaling: the losses are per-replica means,
    so each is divided by `num_replicas_in_sync` before the cross-replica gradient sum. The
    loss trackers report the unscaled values.

    `call` returns the mean of the two networks' logits, so `evaluate` and `predict` use the
    averaged networks as the paper does at test time; `averaged_network()` is the same
    prediction as a plain functional model, the one to save for users. Call
    `start_epoch(epoch, steps)` before each epoch: the lambda_u ramp reads the fractional epoch
    `epoch + step / steps`, as the reference's `linear_rampup(epoch + batch_idx / num_iter,
    warm_up)`.

    Args:
        network_1, network_2: `keras.Model`s mapping images to logits (different inits).
        num_classes: number of classes C.
        warmup_epochs: epochs of warm-up (the ramp of lambda_u starts after them).
        lambda_u: weight of L_u (0 at low symmetric and asymmetric noise, 25 at 50-80%).
        temperature: sharpening temperature T (0.5).
        alpha: Beta(alpha, alpha) of MixMatch (4).
        rampup_epochs: epochs over which lambda_u ramps from 0 (16 as the reference).
        prior_weight: weight of the uniform-prior regulariser (1).
        confidence_penalty: warm-up negative-entropy penalty (asymmetric noise).
        l2_weight_decay: coupled L2 on kernels (0 with a decoupled-decay optimizer).
        decay_all_parameters: apply `l2_weight_decay` to every trainable variable, biases and
            BatchNorm parameters included, as the reference's `SGD(weight_decay=5e-4)`
            (False: kernels only, Bag of Tricks' "no bias decay").
        seed: seed of the in-step randomness (Beta draws and permutations).

    Example:
        >>> net1 = kerasssl.models.get_model("resnet_tiny", num_classes=10)
        >>> net2 = kerasssl.models.get_model("resnet_tiny", num_classes=10)
        >>> algorithm = DivideMix(net1, net2, num_classes=10, lambda_u=25.0)
        >>> algorithm.compile(optimizer=keras.optimizers.SGD(0.02, momentum=0.9),
        ...                   loss=kerasssl.losses.CrossEntropy(), metrics=["accuracy"])
        >>> algorithm.fit(warmup_dataset, epochs=1, steps_per_epoch=100)

    Reference: Li, Socher and Hoi, "DivideMix: Learning with Noisy Labels as Semi-supervised
    Learning", ICLR 2020 (https://arxiv.org/abs/2002.07394).
    """

    def __init__(
        self,
        network_1,
        network_2,
        num_classes,
        warmup_epochs=10,
        lambda_u=25.0,
        temperature=0.5,
        alpha=4.0,
        rampup_epochs=16,
        prior_weight=1.0,
        confidence_penalty=False,
        l2_weight_decay=0.0,
        decay_all_parameters=False,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, network in (("network_1", network_1), ("network_2", network_2)):
            if not isinstance(network, keras.Model):
                raise TypeError(f"{name} must be a keras.Model, got {type(network).__name__}.")
        if network_1 is network_2:
            raise ValueError("network_1 and network_2 must be two different models.")
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}.")
        check_temperature(temperature)
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0 (4 as the reference), got {alpha}.")
        for name, value in (
            ("warmup_epochs", warmup_epochs),
            ("lambda_u", lambda_u),
            ("rampup_epochs", rampup_epochs),
            ("prior_weight", prior_weight),
            ("l2_weight_decay", l2_weight_decay),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}.")
        self.network_1 = network_1
        self.network_2 = network_2
        self.num_classes = num_classes
        self.warmup_epochs = warmup_epochs
        self.lambda_u = float(lambda_u)
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.rampup_epochs = rampup_epochs
        self.prior_weight = float(prior_weight)
        self.confidence_penalty = bool(confidence_penalty)
        self.l2_weight_decay = float(l2_weight_decay)
        self.decay_all_parameters = bool(decay_all_parameters)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # The epoch, its length and the steps taken in it: the position of the lambda_u ramp.
        # Set by `start_epoch` before each epoch, so a resumed run needs none of them saved.
        self.current_epoch = keras.Variable(0.0, trainable=False, name="current_epoch")
        self.epoch_steps = keras.Variable(1.0, trainable=False, name="epoch_steps")
        self.step_in_epoch = keras.Variable(
            0.0, trainable=False, name="step_in_epoch", aggregation="only_first_replica"
        )
        self.warmup_loss_tracker = keras.metrics.Mean(name="warmup_loss")
        self.labeled_loss_tracker = keras.metrics.Mean(name="labeled_loss")
        self.unlabeled_loss_tracker = keras.metrics.Mean(name="unlabeled_loss")
        self.prior_loss_tracker = keras.metrics.Mean(name="prior_loss")
        self.second_optimizer = None
        self.built = network_1.built and network_2.built

    def call(self, inputs, training=False):
        logits_1 = ops.cast(self.network_1(inputs, training=training), "float32")
        logits_2 = ops.cast(self.network_2(inputs, training=training), "float32")
        return (logits_1 + logits_2) / 2.0

    def averaged_network(self, input_shape=None):
        """The network to predict with: a functional `keras.Model` averaging both logits.

        It computes what `call` computes (the mean of the two networks' float32 logits; the
        reference's `test` sums them, which has the same argmax) and shares the networks'
        weights, but holds no training state: save this, not the algorithm, for users.

        Args:
            input_shape: the image shape; None reads it from `network_1.inputs`.
        """
        if input_shape is None:
            if not getattr(self.network_1, "inputs", None):
                raise ValueError(
                    "network_1 has no known input shape: pass input_shape=(height, width, "
                    "channels) to averaged_network."
                )
            input_shape = tuple(self.network_1.inputs[0].shape[1:])
        inputs = keras.Input(input_shape, name="images")
        # float32 as `call`, whatever the dtype policy.
        average = keras.layers.Average(dtype="float32", name="average_logits")(
            [self.network_1(inputs), self.network_2(inputs)]
        )
        return keras.Model(inputs, average, name="divide_mix_average")

    def compile(self, optimizer="rmsprop", **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        # The second network gets its own optimizer state (momentum, step count): a fresh copy
        # of the first one's configuration, so compile keeps Keras' standard signature.
        self.second_optimizer = self.optimizer.__class__.from_config(self.optimizer.get_config())
        self._mirror_weight_decay_exclusions()

    def _mirror_weight_decay_exclusions(self):
        # A config copy loses `exclude_from_weight_decay` (it holds variables, not config):
        # exclude network_2's counterpart of every network_1 variable the first optimizer
        # does not decay (the networks share an architecture, so positions correspond).
        if not getattr(self.optimizer, "weight_decay", None):
            return
        first, second = self.network_1.trainable_weights, self.network_2.trainable_weights
        if len(first) != len(second):
            return
        excluded = [
            mirror
            for variable, mirror in zip(first, second, strict=True)
            if not self.optimizer._use_weight_decay(variable)
        ]
        if excluded:
            self.second_optimizer.exclude_from_weight_decay(var_list=excluded)

    def compile_from_config(self, config):
        # Keras skips overridden `compile` methods when loading a `.keras` file; ours keeps the
        # standard signature, so the saved configuration can be replayed.
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.build_optimizers()

    def build_optimizers(self):
        """Creates both optimizers' variables (needed before restoring them from a file)."""
        self.optimizer.build(self.network_1.trainable_variables)
        self.second_optimizer.build(self.network_2.trainable_variables)

    @property
    def metrics(self):
        # train_step never updates the compiled metrics (they serve `evaluate`); Keras reads
        # every listed metric at the end of a fit epoch, which fails on unbuilt ones.
        compiled = [metric for metric in super().metrics if getattr(metric, "built", True)]
        return [*compiled, *self._loss_trackers()]

    def start_epoch(self, epoch, steps):
        """Places the lambda_u ramp at the first of the `steps` steps of epoch `epoch` (0-based)."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}.")
        self.current_epoch.assign(float(epoch))
        self.epoch_steps.assign(float(steps))
        self.step_in_epoch.assign(0.0)

    def unlabeled_weight(self):
        """lambda_u * clip((epoch + step / steps - warm-up) / rampup_epochs, 0, 1), this step's.

        The reference's `lambda_u * linear_rampup(epoch + batch_idx / num_iter, warm_up)`: 0
        at the first DivideMix step, rising every step to lambda_u after `rampup_epochs`.
        """
        if self.rampup_epochs == 0:
            return ops.convert_to_tensor(self.lambda_u)
        position = self.current_epoch + self.step_in_epoch / self.epoch_steps
        ramp = (position - self.warmup_epochs) / float(self.rampup_epochs)
        return self.lambda_u * ops.clip(ramp, 0.0, 1.0)

    def train_step(self, data):
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not isinstance(inputs, dict):
            raise TypeError(
                "DivideMix trains on dicts from kerasssl.data.divide_mix_pipeline "
                f"(warm-up or DivideMix batches); got {type(inputs).__name__}."
            )
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        pairs = (
            (self.network_1, self.network_2, self.optimizer, 1),
            (self.network_2, self.network_1, self.second_optimizer, 2),
        )
        warmup = "images_1" in inputs
        # One value for both networks: the reference trains each at the same ramp position.
        unlabeled_weight = None if warmup else self.unlabeled_weight()
        for network, other, optimizer, index in pairs:
            with tf.GradientTape() as tape:
                if warmup:
                    loss = self._warmup_loss(network, inputs, index)
                else:
                    loss = self._divide_mix_loss(network, other, inputs, index, unlabeled_weight)
                if self.l2_weight_decay:
                    loss = loss + self.l2_penalty(network)
                # Per-replica means: gradients are summed across replicas, so divide once here.
                scaled = optimizer.scale_loss(loss / replicas)
            variables = network.trainable_variables
            gradients = tape.gradient(scaled, variables)
            optimizer.apply(gradients, variables)
        self.step_in_epoch.assign_add(1.0)
        return {tracker.name: tracker.result() for tracker in self._loss_trackers()}

    def l2_penalty(self, network):
        if self.decay_all_parameters:
            return optimizers.l2_penalty(network.trainable_variables, self.l2_weight_decay)
        return optimizers.model_l2_penalty(network, self.l2_weight_decay)

    def _loss_trackers(self):
        return (
            self.warmup_loss_tracker,
            self.labeled_loss_tracker,
            self.unlabeled_loss_tracker,
            self.prior_loss_tracker,
        )

    def _warmup_loss(self, network, inputs, index):
        logits = ops.cast(network(inputs[f"images_{index}"], training=True), "float32")
        labels = ops.one_hot(ops.cast(inputs[f"labels_{index}"], "int32"), self.num_classes)
        loss = ops.mean(keras.losses.categorical_crossentropy(labels, logits, from_logits=True))
        if self.confidence_penalty:
            loss = loss + negative_entropy(logits)
        self.warmup_loss_tracker.update_state(loss)
        return loss

    def _divide_mix_loss(self, network, other, inputs, index, unlabeled_weight):
        labeled_loss, unlabeled_loss, prior_loss = self.divide_mix_terms(
            network, other, inputs, index
        )
        self.labeled_loss_tracker.update_state(labeled_loss)
        self.unlabeled_loss_tracker.update_state(unlabeled_loss)
        self.prior_loss_tracker.update_state(prior_loss)
        return labeled_loss + unlabeled_weight * unlabeled_loss + self.prior_weight * prior_loss

    def divide_mix_terms(self, network, other, inputs, index):
        """(L_x, L_u, L_reg) of network `index` (1 or 2) on a DivideMix batch, unweighted."""
        labeled = [inputs[f"labeled_{index}_view_{view}"] for view in (1, 2)]
        unlabeled = [inputs[f"unlabeled_{index}_view_{view}"] for view in (1, 2)]
        labels = ops.one_hot(ops.cast(inputs[f"labels_{index}"], "int32"), self.num_classes)
        clean_probability = inputs[f"clean_probability_{index}"]

        def probabilities(model, images, training):
            return ops.softmax(ops.cast(model(images, training=training), "float32"))

        # As the reference: the trained network predicts in training mode (batch statistics,
        # and its BatchNorm moving statistics follow these unmixed views), the other one in
        # inference mode. With inference mode here the moving statistics would see only the
        # MixMatch inputs, whose variance is lower than real images', and accuracy drops.
        own_labeled = [probabilities(network, images, True) for images in labeled]
        refined = co_refine(
            labels, clean_probability, ops.mean(ops.stack(own_labeled), axis=0), self.temperature
        )
        guesses = [
            probabilities(model, images, model is network)
            for model in (network, other)
            for images in unlabeled
        ]
        guessed = co_guess(guesses, self.temperature)
        refined, guessed = ops.stop_gradient(refined), ops.stop_gradient(guessed)

        batch_labeled = ops.shape(labeled[0])[0]
        all_inputs = ops.concatenate([*labeled, *unlabeled], axis=0)
        all_targets = ops.concatenate([refined, refined, guessed, guessed], axis=0)
        permutation = keras.random.shuffle(
            ops.arange(ops.shape(all_inputs)[0]), seed=self.seed_generator
        )
        coefficient = mix_coefficient(self.alpha, self.seed_generator)
        mixed_inputs, mixed_targets = mix_match(all_inputs, all_targets, coefficient, permutation)
        logits = ops.cast(network(mixed_inputs, training=True), "float32")
        logits_x, logits_u = logits[: 2 * batch_labeled], logits[2 * batch_labeled :]
        targets_x, targets_u = (
            mixed_targets[: 2 * batch_labeled],
            mixed_targets[2 * batch_labeled :],
        )
        labeled_loss = -ops.mean(ops.sum(ops.log_softmax(logits_x) * targets_x, axis=-1))
        unlabeled_loss = ops.mean(ops.square(ops.softmax(logits_u) - targets_u))
        prior_loss = uniform_prior_penalty(logits)
        return labeled_loss, unlabeled_loss, prior_loss

    def get_config(self):
        return {
            **super().get_config(),
            "network_1": keras.saving.serialize_keras_object(self.network_1),
            "network_2": keras.saving.serialize_keras_object(self.network_2),
            "num_classes": self.num_classes,
            "warmup_epochs": self.warmup_epochs,
            "lambda_u": self.lambda_u,
            "temperature": self.temperature,
            "alpha": self.alpha,
            "rampup_epochs": self.rampup_epochs,
            "prior_weight": self.prior_weight,
            "confidence_penalty": self.confidence_penalty,
            "l2_weight_decay": self.l2_weight_decay,
            "decay_all_parameters": self.decay_all_parameters,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("network_1", "network_2"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
