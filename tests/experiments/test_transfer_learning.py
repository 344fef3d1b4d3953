"""Transfer learning: what each phase freezes, end to end on a pretrained EfficientNet-B0."""

import json
import pathlib

import keras
import numpy as np
import pytest

from kerasssl import train
from kerasssl.models.fine_tuning import freeze_backbone, unfreeze_backbone
from kerasssl.testing import recipe_config

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "transfer_efficientnet.py"


def _tiny_model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pooled_features")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="predictions")(x))


def _trainable(model):
    return sorted(variable.path for variable in model.trainable_weights)


def test_freeze_backbone_leaves_only_the_head_trainable():
    model = freeze_backbone(_tiny_model())
    assert _trainable(model) == ["predictions/bias", "predictions/kernel"]


def test_unfreeze_backbone_keeps_batch_norm_frozen_unless_asked():
    model = unfreeze_backbone(freeze_backbone(_tiny_model()))
    assert _trainable(model) == [
        "conv/bias", "conv/kernel", "predictions/bias", "predictions/kernel"
    ]  # fmt: skip
    assert not model.get_layer("bn").trainable
    everything = unfreeze_backbone(_tiny_model(), keep_batch_norm_frozen=False)
    assert len(_trainable(everything)) == 6


def test_frozen_batch_norm_runs_in_inference_mode_in_training():
    model = freeze_backbone(_tiny_model())
    bn = model.get_layer("bn")
    before = [np.array(weight) for weight in bn.weights]
    images = np.random.default_rng(0).uniform(0, 5, (4, 8, 8, 3)).astype(np.float32)
    model(images, training=True)
    for old, new in zip(before, bn.weights, strict=True):
        np.testing.assert_array_equal(old, new)


def test_freeze_backbone_needs_the_classifier_layer():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="logits")(inputs))
    with pytest.raises(ValueError, match="predictions"):
        freeze_backbone(model)


def _recipe_config(tmp_path, pretrained_b0=True):
    """The recipe's smoke on a 3-class npz; a pretrained B0, or a random tiny ResNet (fast)."""
    config = recipe_config(RECIPE)
    rng = np.random.default_rng(0)
    arrays = {
        f"{key}_{split}": value
        for split, count in (("train", 60), ("test", 20))
        for key, value in (
            ("x", rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)),
            ("y", rng.integers(0, 3, count)),
        )
    }
    np.savez(tmp_path / "data.npz", **arrays)
    config.data.source = "npz"
    config.data.path = str(tmp_path / "data.npz")
    config.data.image_size = 0
    config.data.validation_size = 0
    config.train.steps_per_epoch = 2
    config.train.base_learning_rate = 0.05  # large steps, so that a trained weight visibly moves
    config.transfer_learning.fine_tune_learning_rate = 0.05
    if not pretrained_b0:
        config.model.name = "resnet_tiny"
        config.model.kwargs = {}
        return config
    source = keras.applications.EfficientNetB0(weights=None, include_top=False)
    weights = tmp_path / "backbone.weights.h5"
    source.save_weights(weights)
    config.model.kwargs.weights = str(weights)
    return config


def _layer_values(model, name):
    return [np.array(weight) for weight in model.get_layer(name).weights]


def test_phases_freeze_the_backbone_then_everything_but_batch_norm(tmp_path):
    workdir = tmp_path / "run"
    metrics = train.train_and_evaluate(_recipe_config(tmp_path, pretrained_b0=False), workdir)
    assert metrics["test_accuracy"] == metrics["fine_tune_test_accuracy"]
    frozen = keras.saving.load_model(workdir / "frozen" / "model.keras", compile=False)
    tuned = keras.saving.load_model(workdir / "fine_tune" / "model.keras", compile=False)
    # The stem, not a residual branch: zero-gamma and a frozen BatchNorm keep those at zero.
    head, conv, bn = "predictions", "stem_conv", "stem_bn"
    # Phase 1 ran BatchNorm in inference mode: its moving statistics are still the initial 0, 1.
    _, _, moving_mean, moving_variance = _layer_values(frozen, bn)
    assert not moving_mean.any() and np.all(moving_variance == 1)
    assert not np.allclose(_layer_values(frozen, head)[0], _layer_values(tuned, head)[0])
    assert not np.allclose(_layer_values(frozen, conv)[0], _layer_values(tuned, conv)[0])
    for value, expected in zip(_layer_values(tuned, bn), _layer_values(frozen, bn), strict=True):
        np.testing.assert_array_equal(value, expected)


@pytest.mark.slow
def test_recipe_freezes_then_fine_tunes_a_pretrained_backbone(tmp_path):
    """About a minute of CPU (EfficientNet-B0 built and compiled for each phase)."""
    config = _recipe_config(tmp_path)
    workdir = tmp_path / "run"
    metrics = train.train_and_evaluate(config, workdir)
    assert {"frozen_test_accuracy", "fine_tune_test_accuracy"} <= set(metrics)

    pretrained = keras.applications.EfficientNetB0(weights=None, include_top=False)
    pretrained.load_weights(config.model.kwargs.weights)
    frozen = keras.saving.load_model(workdir / "frozen" / "model.keras", compile=False)
    tuned = keras.saving.load_model(workdir / "fine_tune" / "model.keras", compile=False)
    assert frozen.get_layer("predictions").output.shape[-1] == 3
    # Phase 1 moved the head only: kernels and BatchNorm statistics are the pretrained ones.
    for ours, theirs in (("stem_conv", "stem_conv"), ("block15_project_bn", "block7a_project_bn")):
        for value, expected in zip(
            _layer_values(frozen, ours), pretrained.get_layer(theirs).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(value, expected)
    assert not np.allclose(
        _layer_values(frozen, "predictions")[0], _layer_values(tuned, "predictions")[0]
    )
    # Phase 2 trained the convolutions but kept BatchNorm frozen, statistics included.
    assert not np.allclose(
        _layer_values(frozen, "stem_conv")[0], _layer_values(tuned, "stem_conv")[0]
    )
    for value, expected in zip(
        _layer_values(tuned, "top_bn"), _layer_values(frozen, "top_bn"), strict=True
    ):
        np.testing.assert_array_equal(value, expected)
    saved = json.loads((workdir / "metrics.json").read_text())
    assert saved["test_accuracy"] == metrics["fine_tune_test_accuracy"]


def test_frozen_epochs_must_be_positive(tmp_path):
    config = _recipe_config(tmp_path, pretrained_b0=False)
    config.transfer_learning.frozen_epochs = 0
    with pytest.raises(ValueError, match="frozen_epochs"):
        train.train_and_evaluate(config, tmp_path / "run")
