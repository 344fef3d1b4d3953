"""`train_and_evaluate` in-process: resume after an interruption, reproducibility, bf16."""

import json

import keras
import numpy as np
import pytest

from kerasssl import recipe_defaults, train
from kerasssl.experiments.context import completed_epochs


class Interrupt(Exception):
    pass


class InterruptAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Interrupt()


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


def test_interrupted_run_resumes_at_the_next_epoch_and_matches_an_uninterrupted_run(tmp_path):
    straight = tmp_path / "straight"
    train.train_and_evaluate(_config(), straight)

    resumed = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        train.train_and_evaluate(_config(), resumed, callbacks=[InterruptAfterEpoch(1)])
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


def test_same_seed_same_metrics(tmp_path):
    first = train.train_and_evaluate(_config(epochs=1), tmp_path / "a")
    second = train.train_and_evaluate(_config(epochs=1), tmp_path / "b")
    assert first["test_loss"] == second["test_loss"]
    third_config = _config(epochs=1)
    third_config.seed = 1
    third = train.train_and_evaluate(third_config, tmp_path / "c")
    assert third["test_loss"] != first["test_loss"]


def test_finished_run_is_only_evaluated_again(tmp_path):
    train.train_and_evaluate(_config(epochs=1), tmp_path)
    again = train.train_and_evaluate(_config(epochs=1), tmp_path)
    assert again["epochs_run_this_time"] == 0


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
    ],
)
def test_bad_config_values(field, value, message, tmp_path):
    config = _config()
    section, _, name = field.rpartition(".")
    setattr(config[section] if section else config, name, value)
    with pytest.raises(ValueError, match=message):
        train.train_and_evaluate(config, tmp_path)


@pytest.mark.parametrize("mixing", ["mixup", "cutmix", "ricap"])
def test_batch_mixing_trains_on_soft_targets(mixing, tmp_path):
    config = _config(epochs=1)
    config.train.batch_mixing = mixing
    config.train.label_smoothing = 0.1
    metrics = train.train_and_evaluate(config, tmp_path)
    assert np.isfinite(metrics["test_loss"]) and 0.0 <= metrics["test_accuracy"] <= 1.0


def test_unknown_batch_mixing_is_named(tmp_path):
    config = _config(epochs=1)
    config.train.batch_mixing = "mosaic"
    with pytest.raises(ValueError, match="batch_mixing"):
        train.train_and_evaluate(config, tmp_path)
