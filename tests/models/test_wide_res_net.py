"""WideResNet: the SSL papers' WRN-28-2, structure, round trips and bad input."""

import json

import keras
import numpy as np
import pytest

from kerasssl.models import WideResNet
from kerasssl.models.stochastic_depth import StochasticDepth

TINY = {"depth": 10, "width": 1, "num_classes": 10, "input_shape": (32, 32, 3)}


def trainable_count(model):
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


def images(batch=2, shape=(32, 32, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (batch, *shape)).astype("float32")


def test_wrn_28_2_parameter_count_matches_fixmatch():
    # kekmodel/FixMatch-pytorch models/wideresnet.py, WideResNet(num_classes=10, depth=28,
    # widen_factor=2) has bias-free convs and counts 1,467,610 parameters (BN weight + bias,
    # no running statistics): the "1.5M" of MixMatch/FixMatch. The authors' TF code
    # (google-research/fixmatch libml/models.py) adds conv biases, 2,032 more (1,469,642);
    # the biases are redundant before BatchNorm, so we match the bias-free count.
    model = WideResNet(depth=28, width=2, num_classes=10)
    assert trainable_count(model) == 1_467_610
    assert not any(
        layer.use_bias for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
    )


def test_wrn_28_10_parameter_count():
    # Zagoruyko & Komodakis Table 1: WRN-28-10 has 36.5M parameters (36,479,194 in PyTorch).
    assert trainable_count(WideResNet(depth=28, width=10, num_classes=10)) == 36_479_194


def test_layout_follows_fixmatch():
    model = WideResNet(depth=28, width=2)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    # Stem + 12 blocks x 2 convs + 3 projection shortcuts.
    assert len(convs) == 1 + 12 * 2 + 3
    assert model.get_layer("stem_conv").filters == 16
    for stage, filters in ((1, 32), (2, 64), (3, 128)):
        assert model.get_layer(f"stage{stage}_block1_1_conv").filters == filters
    assert model.get_layer("stage1_block1_1_conv").strides == (1, 1)
    assert model.get_layer("stage2_block1_1_conv").strides == (2, 2)
    assert model.get_layer("stage3_block4_2_conv").strides == (1, 1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            assert layer.momentum == 0.999  # PyTorch momentum 0.001
        if isinstance(layer, keras.layers.LeakyReLU):
            assert layer.negative_slope == pytest.approx(0.1)
    assert model.get_layer("pooled_features").output.shape == (None, 128)
    assert model.output.shape == (None, 10)


def test_shortcut_takes_activated_input_only_in_first_block():
    # FixMatch's `activate_before_residual`: the first block's projection sees BN + leaky ReLU
    # of its input; later projections see the raw block input.
    model = WideResNet(**{**TINY, "width": 2})
    first = model.get_layer("stage1_block1_shortcut_conv")
    assert first.input is model.get_layer("stage1_block1_1_relu").output
    second = model.get_layer("stage2_block1_shortcut_conv")
    assert second.input is model.get_layer("stage1_block1_add").output
    residual = model.get_layer("stage2_block1_1_conv_pad")
    assert residual.input is model.get_layer("stage2_block1_1_relu").output


def test_tiny_forward_and_features():
    model = WideResNet(**TINY)
    assert model(images()).shape == (2, 10)
    features = keras.Model(model.input, model.get_layer("pooled_features").output)
    assert features(images()).shape == (2, 64)


@pytest.mark.parametrize("input_shape", [(4, 4, 1), (33, 47, 3), (None, None, 3)])
def test_any_input_size_at_or_above_minimum(input_shape):
    model = WideResNet(**{**TINY, "input_shape": input_shape, "num_classes": 7})
    concrete = tuple(size or 20 for size in input_shape)
    assert model(images(shape=concrete)).shape == (2, 7)


def test_dropout_and_stochastic_depth():
    model = WideResNet(**TINY, dropout_rate=0.5, stochastic_depth_rate=0.3)
    assert model.get_layer("head_dropout").rate == 0.5
    rates = [layer.rate for layer in model.layers if isinstance(layer, StochasticDepth)]
    np.testing.assert_allclose(rates, [0.1, 0.2])  # 3 blocks: 0, 0.1, 0.2
    x = images()
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))


def test_mixed_bfloat16_keeps_float32_logits():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = WideResNet(**TINY)
        assert model.get_layer("stage1_block1_1_conv").compute_dtype == "bfloat16"
        assert keras.backend.standardize_dtype(model(images()).dtype) == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


def test_get_config_round_trip():
    model = WideResNet(**TINY, dropout_rate=0.1, bn_momentum=0.99, leaky_relu_slope=0.2)
    config = json.loads(json.dumps(model.get_config()))
    clone = WideResNet.from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = images()
    np.testing.assert_allclose(clone(x, training=False), model(x, training=False), atol=1e-5)


def test_keras_file_round_trip(tmp_path):
    model = WideResNet(**TINY)
    path = tmp_path / "wrn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, WideResNet)
    x = images()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"depth": 27}, ValueError, r"\(depth - 4\) % 6 == 0"),
        ({"depth": 4}, ValueError, "depth"),
        ({"depth": 28.0}, TypeError, "depth"),
        ({"width": 0}, ValueError, "width"),
        ({"num_classes": -1}, ValueError, "num_classes"),
        ({"dropout_rate": 1.5}, ValueError, "dropout_rate"),
        ({"stochastic_depth_rate": 1.0}, ValueError, "stochastic_depth_rate"),
        ({"bn_momentum": 1.0}, ValueError, "bn_momentum"),
        ({"input_shape": (3, 32, 3)}, ValueError, "at least 4"),
        ({"input_shape": (32, 32, 0)}, ValueError, "channels"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        WideResNet(**{**TINY, **kwargs})
