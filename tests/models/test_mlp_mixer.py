"""MLP-Mixer: the paper's parameter counts, patch-size rules, mixing, round trips."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasssl.models.flops import count_flops
from kerasssl.models.mlp_mixer import PRESETS, MLPMixer, analytic_size
from kerasssl.models.stochastic_depth import StochasticDepth

# Tolstikhin et al. 2021, Table 1 (parameters without the classifier head, 224x224).
PAPER_PARAMS = {
    "mixer_s32": 19e6,
    "mixer_s16": 18e6,
    "mixer_b32": 60e6,
    "mixer_b16": 59e6,
    "mixer_l32": 206e6,
    "mixer_l16": 207e6,
    "mixer_h14": 431e6,
}
# Hidden size C, blocks, D_S, D_C from the same table.
PAPER_WIDTHS = {
    "s": (512, 8, 256, 2048),
    "b": (768, 12, 384, 3072),
    "l": (1024, 24, 512, 4096),
    "h": (1280, 32, 640, 5120),
}


def images(batch=2, shape=(32, 32, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (batch, *shape)).astype("float32")


def build(preset, **overrides):
    return MLPMixer(**{**PRESETS[preset]["config"], **overrides})


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_presets_use_the_paper_widths(name):
    config = PRESETS[name]["config"]
    widths = PAPER_WIDTHS[name[len("mixer_")]]
    assert (
        config["hidden_size"],
        config["num_blocks"],
        config["tokens_mlp_dim"],
        config["channels_mlp_dim"],
    ) == widths
    assert config["patch_size"] == int(name[len("mixer_") + 1 :])
    assert config["input_shape"] == (224, 224, 3)


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_parameters_match_paper_table_1(name):
    size = analytic_size(**PRESETS[name]["config"])
    # The paper gives the backbone (no head) rounded to the nearest million ...
    assert round((size.params - size.head_params) / 1e6) * 1e6 == PAPER_PARAMS[name]
    # ... and with a 1000-class head it is still within the 3% tolerance of the issue.
    assert size.params == pytest.approx(PAPER_PARAMS[name], rel=0.03)


@pytest.mark.parametrize(
    "name, num_classes",
    [("mixer_tiny", 10), ("mixer_tiny", 3), ("mixer_s4", 10), ("mixer_s32", 1000)],
)
def test_analytic_size_equals_built_model(name, num_classes):
    # Ties the analytic counts used for the big presets to real builds of the same code.
    config = {**PRESETS[name]["config"], "num_classes": num_classes}
    model = MLPMixer(**config)
    size = analytic_size(**config)
    assert size.params == model.count_params()
    assert size.flops == count_flops(model)
    assert size.head_params == model.get_layer("predictions").count_params()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_analytic_size_equals_built_model_for_every_preset(name):
    model = build(name)
    size = analytic_size(**PRESETS[name]["config"])
    assert (size.params, size.flops) == (model.count_params(), count_flops(model))


def test_forward_pass_logits_and_pooled_features():
    model = build("mixer_tiny")
    logits = model(images(), training=False)
    assert logits.shape == (2, 10) and logits.dtype == "float32"
    features = keras.Model(model.input, model.get_layer("pooled_features").output)
    assert features(images()).shape == (2, 32)
    assert isinstance(model.layers[1], keras.layers.Rescaling)
    # The head starts at zero (as the paper), so initial logits are all zero.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(logits), 0.0)


def test_any_size_divisible_by_the_patch_and_any_class_count():
    model = build("mixer_tiny", input_shape=(24, 40, 3), num_classes=3)
    assert model(images(shape=(24, 40, 3))).shape == (2, 3)
    assert model.get_layer("tokens").output.shape == (None, 6 * 10, 32)
    single_patch = build("mixer_tiny", input_shape=(4, 4, 1))
    assert single_patch(images(shape=(4, 4, 1))).shape == (2, 10)


def test_token_mixing_mixes_across_patches():
    model = build("mixer_tiny", num_blocks=1)
    tokens = keras.Model(model.input, model.get_layer("block0_token_add").output)
    first, second = images(batch=1), images(batch=1)
    second[0, :4, :4] += 50.0  # changes patch 0 only
    difference = np.abs(
        keras.ops.convert_to_numpy(tokens(first)) - keras.ops.convert_to_numpy(tokens(second))
    )[0]
    assert difference[1:].max() > 1e-4  # other patches see patch 0 through token mixing
    channels = keras.Model(model.input, model.get_layer("patch_embedding").output)
    patch_difference = np.abs(
        keras.ops.convert_to_numpy(channels(first)) - keras.ops.convert_to_numpy(channels(second))
    )
    assert patch_difference[0, 1:].max() == 0 and patch_difference[0, 1:, 1:].max() == 0


def test_stochastic_depth_is_optional_and_rises_linearly():
    assert not any(isinstance(layer, StochasticDepth) for layer in build("mixer_tiny").layers)
    model = build("mixer_tiny", num_blocks=4, stochastic_depth_rate=0.4)
    rates = sorted(
        (layer.name, layer.rate) for layer in model.layers if isinstance(layer, StochasticDepth)
    )
    # Block 0 drops nothing (a plain Add); blocks 1-3 drop 0.1, 0.2, 0.3 on both branches.
    assert [rate for _, rate in rates] == pytest.approx([0.1, 0.1, 0.2, 0.2, 0.3, 0.3])


def test_every_trainable_weight_gets_a_gradient_in_training():
    model = build("mixer_tiny", stochastic_depth_rate=0.2, dropout_rate=0.1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(np.arange(4) % 10, model(images(batch=4), training=True))
    gradients = tape.gradient(loss, model.trainable_weights)
    assert all(gradient is not None for gradient in gradients)


def test_mixed_bfloat16_keeps_float32_logits():
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = build("mixer_tiny", stochastic_depth_rate=0.3)
    assert model.get_layer("patch_embedding").compute_dtype == "bfloat16"
    assert model(images(), training=True).dtype == "float32"


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"input_shape": (30, 32, 3)}, "not divisible by `patch_size`"),
        ({"input_shape": (32, 30, 3)}, "width 30 is not divisible"),
        ({"input_shape": (2, 2, 3)}, "smaller than `patch_size`"),
        ({"input_shape": (None, None, 3)}, "input_shape"),
        ({"input_shape": (32, 32)}, "input_shape"),
        ({"patch_size": 0}, "patch_size"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"dropout_rate": 1.0}, "dropout_rate"),
        ({"dropout_rate": -0.5}, "dropout_rate"),
        ({"stochastic_depth_rate": 1.0}, "stochastic_depth_rate"),
        ({"stochastic_depth_rate": -0.1}, "stochastic_depth_rate"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(overrides, match):
    with pytest.raises(ValueError, match=match):
        build("mixer_tiny", **overrides)


def test_unknown_preset_lists_valid_names():
    from kerasssl.models.registry import get_model, list_models

    if "mixer_s16" not in list_models():
        pytest.skip("kerasssl.models.mlp_mixer is not in registry.PRESET_MODULES yet")
    with pytest.raises(ValueError, match="mixer_s16.*mixer_tiny"):
        get_model("mixer_x16")
    assert get_model("mixer_tiny", num_classes=4).output_shape == (None, 4)


def test_get_config_round_trip():
    model = build("mixer_tiny", num_classes=7, stochastic_depth_rate=0.1, name="mixer")
    config = json.loads(json.dumps(model.get_config()))
    clone = MLPMixer.from_config(config)
    assert clone.get_config() == config
    assert config["input_shape"] == [32, 32, 3] and config["name"] == "mixer"
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(images()), model(images()), rtol=1e-5, atol=1e-5)


def test_keras_file_round_trip(tmp_path):
    model = build("mixer_tiny", stochastic_depth_rate=0.1)
    # Non-zero head weights so the comparison is not trivially 0 == 0.
    head = model.get_layer("predictions")
    head.kernel.assign(np.random.default_rng(1).normal(size=head.kernel.shape))
    path = tmp_path / "mixer.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, MLPMixer)
    np.testing.assert_allclose(
        restored.predict(images(), verbose=0), model.predict(images(), verbose=0), rtol=1e-5
    )
