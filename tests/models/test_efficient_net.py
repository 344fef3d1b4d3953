"""EfficientNet: the paper's Table 2, keras.applications, compound scaling, round trips."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasssl.models.efficient_net import (
    PRESETS,
    EfficientNet,
    analytic_size,
    block_specs,
    compound_scaling,
    efficient_net_from_phi,
    round_filters,
    round_repeats,
)
from kerasssl.models.flops import count_flops
from kerasssl.models.stochastic_depth import StochasticDepth

TINY = PRESETS["efficientnet_tiny"]["config"]
PAPER_NAMES = [f"efficientnet_b{index}" for index in range(8)]

# Tan and Le 2019, Table 2: parameters and multiply-adds at the native resolution.
PAPER_TABLE_2 = {
    "efficientnet_b0": (5.3e6, 0.39e9),
    "efficientnet_b1": (7.8e6, 0.70e9),
    "efficientnet_b2": (9.2e6, 1.0e9),
    "efficientnet_b3": (12e6, 1.8e9),
    "efficientnet_b4": (19e6, 4.2e9),
    "efficientnet_b5": (30e6, 9.9e9),
    "efficientnet_b6": (43e6, 19e9),
    "efficientnet_b7": (66e6, 37e9),
}
# The paper's B4 and B5 FLOPs are below what its own B4/B5 architecture computes: counting
# every conv and FC of the official layout at 380 / 456 px gives 4.39B / 10.27B (+4.6% /
# +3.7%); third-party counters agree (thop on the PyTorch port: 4.49B / 10.46B, which also
# counts BN and activations; timm lists 4.49 / 10.46 GMACs). No resolution or padding rule
# reconciles all eight rows (floor-rounded sizes put B0-B3 10% low), so these two rows stay
# expected failures at 3% and are held to 5% below.
PAPER_FLOPS_OUTLIERS = {"efficientnet_b4", "efficientnet_b5"}

# keras.applications.EfficientNetB0..B7(weights=None).count_params(), 1000 classes (Keras
# 3.15). Each is exactly 7 above ours: its Normalization layer's mean (3), variance (3) and
# count (1); see the EfficientNet docstring.
KERAS_APPLICATIONS_PARAMS = {
    "efficientnet_b0": 5_330_571,
    "efficientnet_b1": 7_856_239,
    "efficientnet_b2": 9_177_569,
    "efficientnet_b3": 12_320_535,
    "efficientnet_b4": 19_466_823,
    "efficientnet_b5": 30_562_527,
    "efficientnet_b6": 43_265_143,
    "efficientnet_b7": 66_658_687,
}
NORMALIZATION_WEIGHTS = 7


def images(batch=2, shape=(32, 32, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (batch, *shape)).astype("float32")


def build(preset, **overrides):
    return EfficientNet(**{**PRESETS[preset]["config"], **overrides})


@pytest.mark.parametrize("name", PAPER_NAMES)
def test_parameters_match_paper_table_2(name):
    params, _ = PAPER_TABLE_2[name]
    assert analytic_size(**PRESETS[name]["config"]).params == pytest.approx(params, rel=0.03)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=pytest.mark.xfail(
                strict=True, reason="paper's B4/B5 FLOPs are 3.7-4.6% below its architecture"
            ),
        )
        if name in PAPER_FLOPS_OUTLIERS
        else name
        for name in PAPER_NAMES
    ],
)
def test_flops_match_paper_table_2(name):
    _, flops = PAPER_TABLE_2[name]
    assert analytic_size(**PRESETS[name]["config"]).flops == pytest.approx(flops, rel=0.03)


@pytest.mark.parametrize("name", sorted(PAPER_FLOPS_OUTLIERS))
def test_paper_flops_outliers_are_within_five_percent(name):
    _, flops = PAPER_TABLE_2[name]
    assert analytic_size(**PRESETS[name]["config"]).flops == pytest.approx(flops, rel=0.05)


@pytest.mark.parametrize(
    "name, num_classes",
    [("efficientnet_tiny", 10), ("efficientnet_tiny", 3), ("efficientnet_b0", 1000)],
)
def test_analytic_size_equals_built_model(name, num_classes):
    # Ties the analytic counts used for B1-B7 above to real builds of the same code path.
    config = {**PRESETS[name]["config"], "num_classes": num_classes}
    model = EfficientNet(**config)
    size = analytic_size(**config)
    assert size.params == model.count_params()
    assert size.flops == count_flops(model)
    assert size.head_params == model.get_layer("predictions").count_params()


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_NAMES)
def test_analytic_size_equals_built_model_for_every_preset(name):
    model = build(name)
    size = analytic_size(**PRESETS[name]["config"])
    assert (size.params, size.flops) == (model.count_params(), count_flops(model))


@pytest.mark.parametrize("name", PAPER_NAMES)
def test_parameters_differ_from_keras_applications_only_by_normalization(name):
    expected = KERAS_APPLICATIONS_PARAMS[name] - NORMALIZATION_WEIGHTS
    assert analytic_size(**PRESETS[name]["config"]).params == expected


@pytest.mark.parametrize(
    "index", [0, *(pytest.param(index, marks=pytest.mark.slow) for index in range(1, 8))]
)
def test_keras_applications_counts_are_current(index):
    name = f"efficientnet_b{index}"
    reference = getattr(keras.applications, f"EfficientNetB{index}")(weights=None)
    assert reference.count_params() == KERAS_APPLICATIONS_PARAMS[name]
    normalization = [
        layer for layer in reference.layers if isinstance(layer, keras.layers.Normalization)
    ]
    assert sum(layer.count_params() for layer in normalization) == NORMALIZATION_WEIGHTS
    # The same trainable weight shapes: the architectures coincide.
    ours = build(name)
    assert sorted(tuple(w.shape) for w in ours.trainable_weights) == sorted(
        tuple(w.shape) for w in reference.trainable_weights
    )


def test_channel_and_depth_rounding():
    assert round_filters(32, 1.0) == 32
    assert round_filters(32, 1.1) == 32  # 35.2 rounds to the nearest multiple of 8
    assert round_filters(16, 1.4) == 24  # 22.4 -> 24
    assert round_filters(1280, 2.0) == 2560
    assert round_filters(16, 0.25) == 8  # never below the divisor
    assert round_filters(40, 1.8) == 72
    assert round_repeats(2, 1.1) == 3  # 2.2 rounds up
    assert round_repeats(4, 3.1) == 13
    assert [len(block_specs(1.0, depth)) for depth in (1.0, 1.1, 3.1)] == [16, 23, 55]


def test_baseline_matches_paper_table_1():
    specs = block_specs(1.0, 1.0)
    stages = [(s.kernel_size, s.filters_out, s.expand_ratio, s.strides) for s in specs]
    assert stages == [
        (3, 16, 1, 1),
        (3, 24, 6, 2), (3, 24, 6, 1),
        (5, 40, 6, 2), (5, 40, 6, 1),
        (3, 80, 6, 2), (3, 80, 6, 1), (3, 80, 6, 1),
        (5, 112, 6, 1), (5, 112, 6, 1), (5, 112, 6, 1),
        (5, 192, 6, 2), (5, 192, 6, 1), (5, 192, 6, 1), (5, 192, 6, 1),
        (3, 320, 6, 1),
    ]  # fmt: skip


def test_compound_scaling_coefficients():
    assert compound_scaling(0) == (1.0, 1.0, 1.0)
    depth, width, resolution = compound_scaling(1)
    assert (depth, width, resolution) == pytest.approx((1.2, 1.1, 1.15))
    # The paper's constraint: alpha * beta^2 * gamma^2 ~ 2, so FLOPs about double per phi.
    assert depth * width**2 * resolution**2 == pytest.approx(2.0, rel=0.05)
    assert compound_scaling(2, alpha=1.3, beta=1.0, gamma=1.0).depth == pytest.approx(1.69)


def test_flops_roughly_double_per_unit_of_phi():
    def flops(phi):
        depth, width, resolution = compound_scaling(phi)
        size = round(224 * resolution)
        return analytic_size(width, depth, (size, size, 3)).flops

    # alpha * beta^2 * gamma^2 = 1.92 per unit of phi. Rounding blocks up adds a one-off jump
    # from phi = 0 to 1 (single-block stages get two); after it each step is 1.8-1.95x.
    for phi in (1, 2, 3, 4):
        assert 1.7 < flops(phi + 1) / flops(phi) < 2.1


def test_efficient_net_from_phi_builds_the_scaled_network():
    model = efficient_net_from_phi(0.5, num_classes=4, base_resolution=64)
    depth, width, resolution = compound_scaling(0.5)
    assert model.width_coefficient == pytest.approx(width)
    assert model.depth_coefficient == pytest.approx(depth)
    assert model.image_shape == (72, 72, 3)  # 64 * 1.072 = 68.6, to a multiple of 8
    assert model.output_shape == (None, 4)


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"phi": -1}, "phi"), ({"phi": 1, "alpha": 0.9}, "alpha"), ({"phi": 1, "gamma": 0}, "gamma")],
)
def test_compound_scaling_rejects_bad_coefficients(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        compound_scaling(**kwargs)


def test_forward_pass_logits_and_pooled_features():
    model = build("efficientnet_tiny")
    logits = model(images(), training=False)
    assert logits.shape == (2, 10) and logits.dtype == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(logits)))
    features = keras.Model(model.input, model.get_layer("pooled_features").output)
    assert features(images()).shape == (2, round_filters(1280, 0.25))
    assert isinstance(model.layers[1], keras.layers.Rescaling)


def test_other_sizes_and_class_counts():
    model = build("efficientnet_tiny", num_classes=3, input_shape=(48, 64, 3))
    assert model(images(shape=(48, 64, 3))).shape == (2, 3)
    flexible = build("efficientnet_tiny", input_shape=(None, None, 3))
    assert flexible(images(shape=(40, 72, 3))).shape == (2, 10)


def test_mixed_bfloat16_keeps_float32_logits():
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = build("efficientnet_tiny", stochastic_depth_rate=0.5)
    assert model.get_layer("stem_conv").compute_dtype == "bfloat16"
    assert model(images(), training=True).dtype == "float32"


def test_stochastic_depth_rises_linearly_over_blocks():
    model = build("efficientnet_tiny", depth_coefficient=0.5, stochastic_depth_rate=0.2)
    num_blocks = len(block_specs(0.25, 0.5))
    rates = {
        int(layer.name.split("_")[0].removeprefix("block")): layer.rate
        for layer in model.layers
        if isinstance(layer, StochasticDepth)
    }
    # Only same-shape blocks have a skip: blocks 4, 6 and 8 of 10 (second of their stage).
    assert num_blocks == 10 and sorted(rates) == [4, 6, 8]
    for index, rate in rates.items():
        assert rate == pytest.approx(0.2 * index / num_blocks)
    plain = build("efficientnet_tiny", depth_coefficient=0.5, stochastic_depth_rate=0.0)
    assert not any(isinstance(layer, StochasticDepth) for layer in plain.layers)


def test_every_trainable_weight_gets_a_gradient_in_training():
    model = build("efficientnet_tiny", stochastic_depth_rate=0.3, dropout_rate=0.2)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(np.arange(8) % 10, model(images(batch=8), training=True))
    gradients = tape.gradient(loss, model.trainable_weights)
    assert np.isfinite(loss.numpy())
    assert all(gradient is not None for gradient in gradients)


@pytest.mark.parametrize(
    "overrides, argument",
    [
        ({"input_shape": (16, 16, 3)}, "input_shape"),
        ({"input_shape": (224, 31, 3)}, "input_shape"),
        ({"input_shape": (32, 32)}, "input_shape"),
        ({"dropout_rate": 1.0}, "dropout_rate"),
        ({"dropout_rate": -0.1}, "dropout_rate"),
        ({"stochastic_depth_rate": 1.0}, "stochastic_depth_rate"),
        ({"stochastic_depth_rate": -0.2}, "stochastic_depth_rate"),
        ({"num_classes": 0}, "num_classes"),
        ({"width_coefficient": 0}, "width_coefficient"),
        ({"depth_coefficient": -1.0}, "depth_coefficient"),
        ({"se_ratio": 1.5}, "se_ratio"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(overrides, argument):
    with pytest.raises(ValueError, match=argument):
        build("efficientnet_tiny", **overrides)


def test_unknown_preset_lists_valid_names():
    from kerasssl.models.registry import get_model, list_models

    if "efficientnet_b0" not in list_models():
        pytest.skip("kerasssl.models.efficient_net is not in registry.PRESET_MODULES yet")
    with pytest.raises(ValueError, match="efficientnet_b0.*efficientnet_tiny"):
        get_model("efficientnet_b9")
    tiny = build("efficientnet_tiny")
    assert get_model("efficientnet_tiny").count_params() == tiny.count_params()


def test_get_config_round_trip():
    model = build("efficientnet_tiny", num_classes=7, stochastic_depth_rate=0.1, name="net")
    config = json.loads(json.dumps(model.get_config()))
    clone = EfficientNet.from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()
    assert config["input_shape"] == [32, 32, 3] and config["name"] == "net"
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(images()), model(images()), rtol=1e-5, atol=1e-5)


@pytest.mark.slow  # about 3.5 s on the shared 2-core CPU
def test_keras_file_round_trip(tmp_path):
    model = build("efficientnet_tiny", stochastic_depth_rate=0.1)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, EfficientNet)
    assert restored.get_config() == model.get_config()
    np.testing.assert_allclose(
        restored.predict(images(), verbose=0), model.predict(images(), verbose=0), rtol=1e-5
    )
