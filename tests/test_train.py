"""`train_and_evaluate` in-process: resume after an interruption, reproducibility, bf16,
a changed config, divergence, and what a failed run leaves behind."""

import json
import re

import h5py
import keras
import numpy as np
import pytest

from kerasssl import recipe_defaults, train
from kerasssl.experiments.context import completed_epochs
from kerasssl.experiments.divergence import StopOnDivergence, TrainingDivergedError
from kerasssl.testing import Interrupt, InterruptFit, smoke_config


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def _config(epochs=3):
    config = recipe_defaults.smoke(recipe_defaults.base_config())
    config.train.epochs = epochs
    config.train.steps_per_epoch = 2
    config.data.validation_size = 64
    return config


def _weights(workdir):
    return keras.saving.load_model(workdir / "model.keras").get_weights()


@pytest.mark.long
def test_interrupted_run_resumes_at_the_next_epoch_and_matches_an_uninterrupted_run(tmp_path):
    straight = tmp_path / "straight"
    train.train_and_evaluate(_config(), straight)

    resumed = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        train.train_and_evaluate(_config(), resumed, callbacks=[InterruptFit(0, epoch=1)])
    assert completed_epochs(resumed) == 2
    assert not (resumed / "metrics.json").exists()
    recorder = RecordEpochs()
    metrics = train.train_and_evaluate(_config(), resumed, callbacks=[recorder])
    assert recorder.epochs == [2]
    assert metrics["epochs_run_this_time"] == 1
    rows = (resumed / "history.csv").read_text().strip().splitlines()
    assert [row.split(",")[0] for row in rows if not row.startswith("epoch")] == ["0", "1", "2"]
    # Same seed, same data stream after the resume: the same final weights.
    for left, right in zip(_weights(straight), _weights(resumed), strict=True):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6)


@pytest.mark.long
def test_same_seed_same_metrics(tmp_path):
    first = train.train_and_evaluate(_config(epochs=1), tmp_path / "a")
    second = train.train_and_evaluate(_config(epochs=1), tmp_path / "b")
    assert first["test_loss"] == second["test_loss"]
    third_config = _config(epochs=1)
    third_config.seed = 1
    third = train.train_and_evaluate(third_config, tmp_path / "c")
    assert third["test_loss"] != first["test_loss"]


def test_finished_run_is_only_evaluated_again(tmp_path):
    first = train.train_and_evaluate(_config(epochs=1), tmp_path)
    again = train.train_and_evaluate(_config(epochs=1), tmp_path)
    assert again["epochs_run_this_time"] == 0
    # The run's cost is kept: re-entering it adds nothing (budgets are sized from it).
    assert 0 < first["wall_seconds"] == again["wall_seconds"]
    assert (
        json.loads((tmp_path / "metrics.json").read_text())["wall_seconds"] == again["wall_seconds"]
    )


def test_mixed_bfloat16_run_keeps_float32_logits_and_restores_the_policy(tmp_path):
    config = _config(epochs=1)
    config.train.dtype_policy = "mixed_bfloat16"
    metrics = train.train_and_evaluate(config, tmp_path)
    assert np.isfinite(metrics["test_loss"])
    assert keras.config.dtype_policy().name == "float32"
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["train"]["dtype_policy"] == "mixed_bfloat16"


def test_label_noise_is_injected_and_reported(tmp_path):
    config = _config(epochs=1)
    config.data.noise.rate = 0.4
    metrics = train.train_and_evaluate(config, tmp_path)
    assert metrics["realised_noise_rate"] == pytest.approx(0.4, abs=0.02)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("algorithm", "magic", "config.algorithm"),
        ("train.dtype_policy", "float16", "dtype_policy"),
        ("train.batch_size", 0, "batch_size"),
        ("data.labels_per_class", 5000, "labels_per_class"),
        ("data.source", "web", "data source"),
        ("data.noise.rate", 1.5, "rate"),
        ("model.name", "resnet9000", "resnet9000"),
    ],
)
def test_bad_config_values(field, value, message, tmp_path):
    config = _config()
    section, _, name = field.rpartition(".")
    owner = config
    for part in filter(None, section.split(".")):
        owner = owner[part]
    setattr(owner, name, value)
    with pytest.raises(ValueError, match=message):
        train.train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("mixing", ["mixup", "cutmix", "ricap"])
def test_batch_mixing_trains_on_soft_targets(mixing, tmp_path):
    config = _config(epochs=1)
    config.train.batch_mixing = mixing
    config.train.label_smoothing = 0.1
    metrics = train.train_and_evaluate(config, tmp_path)
    assert np.isfinite(metrics["test_loss"]) and 0.0 <= metrics["test_accuracy"] <= 1.0


def test_unknown_batch_mixing_is_named_and_the_failed_run_leaves_no_workdir(tmp_path):
    config = _config(epochs=1)
    config.train.batch_mixing = "mosaic"
    # Fails inside the experiment, after config.json was written: what the run made goes.
    with pytest.raises(ValueError, match="batch_mixing"):
        train.train_and_evaluate(config, tmp_path / "runs" / "mosaic")
    assert not (tmp_path / "runs").exists()


def test_a_rerun_with_another_config_is_refused_until_overwrite(tmp_path):
    train.train_and_evaluate(_config(epochs=1), tmp_path)
    stored = (tmp_path / "config.json").read_text()
    changed = _config(epochs=1)
    changed.train.base_learning_rate = 0.01
    with pytest.raises(ValueError, match=r"train\.base_learning_rate: 0\.1 -> 0\.01.*--overwrite"):
        train.train_and_evaluate(changed, tmp_path)
    other_model = _config(epochs=1)
    other_model.model.name = "wrn_28_2"  # not a Keras layer-loading error
    with pytest.raises(ValueError, match='model.name: "resnet_tiny" -> "wrn_28_2"'):
        train.train_and_evaluate(other_model, tmp_path)
    assert (tmp_path / "config.json").read_text() == stored
    quiet = _config(epochs=1)
    quiet.train.verbose = "0"  # cannot change the result: the finished run is reused
    assert train.train_and_evaluate(quiet, tmp_path)["epochs_run_this_time"] == 0

    metrics = train.train_and_evaluate(changed, tmp_path, overwrite=True)
    assert metrics["epochs_run_this_time"] == 1
    assert json.loads((tmp_path / "config.json").read_text())["train"]["base_learning_rate"] == 0.01


def test_evaluate_says_a_damaged_model_file_is_damaged_and_a_rerun_rebuilds_it(tmp_path):
    metrics = train.train_and_evaluate(_config(epochs=1), tmp_path)
    model_path = tmp_path / "model.keras"
    content = model_path.read_bytes()
    model_path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match="model.keras is damaged"):
        train.evaluate_workdir(tmp_path)
    model_path.unlink()
    again = train.train_and_evaluate(_config(epochs=1), tmp_path)
    assert again["epochs_run_this_time"] == 0
    assert again["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert train.evaluate_workdir(tmp_path)["test_accuracy"] == pytest.approx(
        metrics["test_accuracy"], abs=1e-6
    )


class PoisonAfterBatch(keras.callbacks.Callback):
    """Sets a weight to NaN after the `batch`-th training batch of the run (over all fits).

    Done after the batch's loss was logged, so only the end-of-epoch weight check can catch
    it, and only if it runs before the epoch is checkpointed.
    """

    def __init__(self, batch):
        super().__init__()
        self.batch = batch
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.batch:
            weight = self.model.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, weight.dtype))


def _all_finite_h5(path):
    arrays = []
    with h5py.File(path, "r") as stored:
        stored.visititems(
            lambda _, item: arrays.append(item[()]) if isinstance(item, h5py.Dataset) else None
        )
    return arrays and all(np.all(np.isfinite(array)) for array in arrays)


SLOW = pytest.mark.slow


# (recipe, batch after which the weights turn NaN, the phase folder, its last good epoch):
# the smoke recipes run 1 step per epoch, so batch k ends the phase's k-th batch overall.
@pytest.mark.parametrize(
    "recipe, batch, phase, good_epochs",
    [
        ("supervised_digits", 2, "", 1),
        ("mpl_cifar10", 2, "mpl", 1),
        ("dividemix_digits", 2, "", 1),
        ("fixmatch_digits", 2, "", 1),  # with EMA: the swapped-in average must not hide NaNs
        pytest.param("distillation_digits", 4, "student", 1, marks=SLOW),
        pytest.param("noisy_student_digits", 3, "round_1", 0, marks=SLOW),
        pytest.param("billion_scale_cifar10", 3, "pretrain", 0, marks=SLOW),
    ],
)
def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(
    recipe, batch, phase, good_epochs, tmp_path
):
    folder = tmp_path / phase
    where = rf"{re.escape(str(folder))} at epoch {good_epochs + 1}"
    with pytest.raises(TrainingDivergedError, match=where):
        train.train_and_evaluate(
            smoke_config(recipe), tmp_path, callbacks=[PoisonAfterBatch(batch)]
        )
    assert not (folder / "model.keras").exists() and not (tmp_path / "model.keras").exists()
    assert not (tmp_path / "metrics.json").exists()
    if recipe == "dividemix_digits":
        with np.load(folder / "divide_mix_state.npz") as state:
            assert json.loads(str(state["state"]))["completed_epochs"] == good_epochs
            assert all(np.all(np.isfinite(state[key])) for key in state.files if key != "state")
    elif good_epochs:
        assert completed_epochs(folder) == good_epochs
        assert _all_finite_h5(folder / "backup" / "latest.weights.h5")


def test_a_non_finite_loss_raises_at_its_batch():
    callback = StopOnDivergence("runs/x/teacher")
    callback.on_epoch_begin(2)
    callback.on_train_batch_end(0, {"loss": 1.5, "accuracy": float("nan")})  # not a loss
    with pytest.raises(TrainingDivergedError, match=r"runs/x/teacher at epoch 3, batch 5.*loss"):
        callback.on_train_batch_end(4, {"loss": float("inf")})
