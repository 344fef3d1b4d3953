"""The fix_match experiment end to end on digits: EMA weights saved and reported, FlexMatch's
state across a resume, the recipes' paper values and clear errors for bad settings."""

import math

import keras
import numpy as np
import pytest

from kerasssl import train
from kerasssl.experiments.context import fit_callbacks
from kerasssl.testing import Interrupt, InterruptFit, recipe_config


def _digits(epochs=2, threshold="fixed"):
    config = recipe_config("fixmatch_digits")
    config.train.epochs = epochs
    config.train.steps_per_epoch = 2
    config.train.verbose = "0"
    config.fix_match.threshold = threshold
    # A few steps never reach the paper's 0.95: a low tau gives FlexMatch state to keep.
    config.fix_match.confidence_threshold = 0.3
    return config


class RecordWeights(keras.callbacks.Callback):
    """The raw trainable weights of `network(model)` after every training step."""

    def __init__(self, network=lambda model: model.model):
        super().__init__()
        self.network = network
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([v.numpy().copy() for v in self.network(self.model).trainable_weights])


def _expected_ema(steps, momentum):
    # Keras: the first step copies the weights, then average = m * average + (1 - m) * weights.
    average = [w.copy() for w in steps[0]]
    for weights in steps[1:]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights, strict=True)]
    return average


def _assert_holds_ema(saved, recorder, momentum):
    expected = _expected_ema(recorder.steps, momentum)
    for actual, wanted in zip(saved, expected, strict=True):
        np.testing.assert_allclose(actual, wanted, rtol=1e-4, atol=1e-6)
    # The test could tell the two apart: the average is not the last raw weights.
    assert any(not np.allclose(a, r) for a, r in zip(saved, recorder.steps[-1], strict=True))


def test_saved_model_and_metrics_are_the_ema_model(tmp_path):
    config = _digits(epochs=2)
    recorder = RecordWeights()
    metrics = train.train_and_evaluate(config, tmp_path, callbacks=[recorder])
    assert len(recorder.steps) == 4
    saved = keras.saving.load_model(tmp_path / "model.keras")
    _assert_holds_ema([w.numpy() for w in saved.trainable_weights], recorder, 0.9)
    # metrics.json's test accuracy is the saved (EMA) network's.
    assert train.evaluate_workdir(tmp_path)["test_accuracy"] == metrics["test_accuracy"]
    for name in ("final_mask_rate", "final_pseudo_label_accuracy", "validation_accuracy"):
        assert 0.0 <= metrics[name] <= 1.0, name
    assert metrics["ema_momentum"] == 0.9


def test_validation_during_fit_swaps_in_the_ema_weights(tmp_path):
    with_ema = keras.optimizers.SGD(0.1, use_ema=True)
    callbacks = fit_callbacks(tmp_path, (), with_ema)
    assert any(isinstance(c, keras.callbacks.SwapEMAWeights) for c in callbacks)
    plain = fit_callbacks(tmp_path, (), keras.optimizers.SGD(0.1))
    assert not any(isinstance(c, keras.callbacks.SwapEMAWeights) for c in plain)


class InterruptAfterEpoch(InterruptFit):
    """Interrupts the run's one fit after `epoch`, keeping FlexMatch's state at that point."""

    def __init__(self, epoch):
        super().__init__(0, epoch)

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.state = self.model.selected_labels.numpy().copy()
        super().on_epoch_end(epoch, logs)


class RecordFlexState(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        # Runs after BackupAndRestore (listed before extra callbacks) restored the weights.
        self.begin = self.model.selected_labels.numpy().copy()

    def on_train_end(self, logs=None):
        self.end = self.model.selected_labels.numpy().copy()


# Long: two FlexMatch runs and a resume (the default tier runs FixMatch end to end above).
@pytest.mark.long
def test_resume_keeps_the_flexmatch_state(tmp_path):
    straight = RecordFlexState()
    train.train_and_evaluate(_digits(3, "flex"), tmp_path / "straight", callbacks=[straight])

    interrupt = InterruptAfterEpoch(1)
    with pytest.raises(Interrupt):
        train.train_and_evaluate(_digits(3, "flex"), tmp_path / "resumed", callbacks=[interrupt])
    assert (interrupt.state >= 0).any()  # some images were selected before the kill
    resumed = RecordFlexState()
    metrics = train.train_and_evaluate(
        _digits(3, "flex"), tmp_path / "resumed", callbacks=[resumed]
    )
    assert metrics["epochs_run_this_time"] == 1
    np.testing.assert_array_equal(resumed.begin, interrupt.state)
    np.testing.assert_array_equal(resumed.end, straight.end)
    assert metrics["flex_selected_fraction"] == pytest.approx(float((straight.end >= 0).mean()))
    for left, right in zip(
        keras.saving.load_model(tmp_path / "straight" / "model.keras").get_weights(),
        keras.saving.load_model(tmp_path / "resumed" / "model.keras").get_weights(),
        strict=True,
    ):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # an MPL run (two networks) on top of the FixMatch ones
def test_mpl_student_is_saved_with_its_ema_weights(tmp_path):
    config = recipe_config("mpl_cifar10")
    config.data.source = "digits"
    config.data.labels_per_class = 5
    config.data.augment = "weak_no_flip"
    section = config.meta_pseudo_labels
    section.weak_view, section.strong_view = "weak_no_flip", "strong_no_flip"
    config.meta_pseudo_labels.finetune_epochs = 0
    config.train.ema_momentum = 0.9
    config.train.verbose = "0"
    recorder = RecordWeights(network=lambda model: model.student)
    train.train_and_evaluate(config, tmp_path, callbacks=[recorder])
    saved = keras.saving.load_model(tmp_path / "student" / "model.keras")
    _assert_holds_ema([w.numpy() for w in saved.trainable_weights], recorder, 0.9)


def test_paper_preset_has_the_fixmatch_papers_values():
    # FixMatch (Sohn et al., NeurIPS 2020), section 4.1: "we use an identical set of
    # hyperparameters (lambda_u = 1, eta = 0.03, beta = 0.9, tau = 0.95, mu = 7, B = 64,
    # K = 2^20)" with a Wide ResNet-28-2; section 3.3 (and appendix B): "a cosine learning
    # rate decay ... eta cos(7 pi k / (16 K))", SGD with Nesterov momentum, weight decay
    # 0.0005 on CIFAR-10; EMA of the parameters 0.999 in the released code.
    config = recipe_config("fixmatch_cifar10", "paper")
    assert config.algorithm == "fix_match"
    assert config.model.name == "wrn_28_2"
    assert config.train.batch_size == 64
    assert config.train.epochs * config.train.steps_per_epoch == 2**20
    assert config.train.base_learning_rate == 0.03 and not config.train.linear_scaling
    assert config.train.schedule == "fixmatch_cosine" and config.train.warmup_epochs == 0
    assert config.train.optimizer == "sgd" and config.train.momentum == 0.9
    assert config.train.nesterov
    assert config.train.weight_decay == 5e-4 and config.train.weight_decay_mode == "coupled"
    assert config.train.ema_momentum == 0.999
    assert config.fix_match.unlabeled_ratio == 7
    assert config.fix_match.confidence_threshold == 0.95
    assert config.fix_match.unlabeled_loss_weight == 1.0
    assert config.fix_match.threshold == "fixed"


def test_fixmatch_cosine_schedule_is_the_papers_curve():
    from kerasssl.experiments.context import learning_rate_schedule

    config = recipe_config("fixmatch_cifar10", "paper")
    total = 2**20
    schedule = learning_rate_schedule(config.train, total, 1024)
    for step in (0, total // 3, total // 2, total):
        wanted = 0.03 * math.cos(7 * math.pi * step / (16 * total))
        assert float(schedule(step)) == pytest.approx(wanted, rel=1e-5)


@pytest.mark.parametrize("arg", ["", "flex", "supervised", "smoke"])
def test_cpu_presets_share_the_network_steps_and_ema(arg):
    config = recipe_config("fixmatch_cifar10", arg)
    reference = recipe_config("fixmatch_cifar10", "")
    if arg != "smoke":
        assert config.model.name == reference.model.name
        assert config.train.epochs * config.train.steps_per_epoch == 5000  # chosen on validation
        assert config.train.ema_momentum == reference.train.ema_momentum
    assert config.algorithm == ("supervised" if arg == "supervised" else "fix_match")
    assert config.fix_match.threshold == ("flex" if arg == "flex" else "fixed")


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown recipe argument 'flexmatch'"):
        recipe_config("fixmatch_cifar10", "flexmatch")


def test_flex_on_too_small_an_unlabeled_set_names_the_fields(tmp_path):
    config = _digits(1, "flex")
    config.data.labels_per_class = 125  # leaves 43 unlabeled digits
    config.fix_match.unlabeled_ratio = 7  # 112 per batch
    with pytest.raises(ValueError, match="config.fix_match.unlabeled_ratio"):
        train.train_and_evaluate(config, tmp_path)


@pytest.mark.parametrize(
    "algorithm, momentum, message",
    [("divide_mix", 0.9, "supported by"), ("fix_match", 1.0, r"\[0, 1\)")],
)
def test_bad_ema_settings_are_named(algorithm, momentum, message, tmp_path):
    config = _digits(1)
    config.algorithm = algorithm
    config.train.ema_momentum = momentum
    with pytest.raises(ValueError, match=message):
        train.train_and_evaluate(config, tmp_path)
    assert not (tmp_path / "metrics.json").exists()
