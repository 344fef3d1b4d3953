"""ResNet: parameter counts against the reference implementations, variants, round trips."""

import json

import keras
import numpy as np
import pytest

from kerasssl.models import ResNet
from kerasssl.models.stochastic_depth import StochasticDepth

TINY = {
    "depth": (1, 1),
    "block_type": "basic",
    "stem": "cifar",
    "width_multiplier": 0.125,
    "num_classes": 10,
    "input_shape": (32, 32, 3),
}


def trainable_count(model):
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


def images(batch=2, shape=(32, 32, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (batch, *shape)).astype("float32")


# torchvision.models.resnet{18,34,50,101,152}(): sum(p.numel() for p in model.parameters()),
# 1000 classes. Keras also counts BatchNorm moving statistics, so compare trainable weights.
@pytest.mark.parametrize(
    "depth, expected",
    [
        (18, 11_689_512),
        (34, 21_797_672),
        (50, 25_557_032),
        pytest.param(101, 44_549_160, marks=pytest.mark.slow),
        pytest.param(152, 60_192_808, marks=pytest.mark.slow),
    ],
)
def test_parameter_count_matches_torchvision(depth, expected):
    model = ResNet(depth=depth)
    assert trainable_count(model) == expected
    # Non-trainable weights are exactly the BatchNorm moving mean and variance.
    bn_channels = sum(
        layer.gamma.shape[0]
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )
    assert model.count_params() == expected + 2 * bn_channels


def test_resnet50_variant_parameter_counts():
    # A and B only move a stride; C and D add the deep stem (timm's resnet50d: 25,576,264).
    assert trainable_count(ResNet(depth=50, variant="a")) == 25_557_032
    assert trainable_count(ResNet(depth=50, variant="c")) == 25_576_264
    assert trainable_count(ResNet(depth=50, variant="d")) == 25_576_264


def test_cifar_resnet18_parameter_count():
    # kuangliu/pytorch-cifar ResNet18 (3x3 stem, no max-pool, 10 classes): 11,173,962.
    model = ResNet(depth=18, stem="cifar", num_classes=10, input_shape=(32, 32, 3))
    assert trainable_count(model) == 11_173_962
    assert "stem_pool" not in [layer.name for layer in model.layers]


def test_tiny_forward_shape_and_features():
    model = ResNet(**TINY)
    assert 2_000 < model.count_params() < 10_000
    assert model(images()).shape == (2, 10)
    features = keras.Model(model.input, model.get_layer("pooled_features").output)
    assert features(images()).shape == (2, 16)
    assert isinstance(model.get_layer("rescaling"), keras.layers.Rescaling)


@pytest.mark.parametrize(
    "stem, input_shape",
    [
        ("cifar", (8, 8, 1)),
        ("cifar", (27, 41, 3)),
        ("imagenet", (32, 32, 3)),
        ("imagenet", (45, 64, 5)),
    ],
)
def test_any_input_size_at_or_above_minimum(stem, input_shape):
    config = {**TINY, "depth": (1, 1, 1, 1), "stem": stem, "input_shape": input_shape}
    config["num_classes"] = 3
    for variant in ("a", "d"):
        model = ResNet(**config, variant=variant)
        assert model(images(shape=input_shape)).shape == (2, 3)


def test_variable_input_size():
    model = ResNet(**{**TINY, "input_shape": (None, None, 3)})
    assert model(images(shape=(24, 40, 3))).shape == (2, 10)


def test_zero_gamma_makes_blocks_start_as_identity():
    model = ResNet(**{**TINY, "depth": (2, 2)})
    last_bns = [layer for layer in model.layers if layer.name.endswith("_2_bn")]
    assert len(last_bns) == 4
    for layer in last_bns:
        np.testing.assert_array_equal(layer.gamma.numpy(), 0.0)
    # With a zero residual an identity-shortcut block returns ReLU(input) = its input.
    probe = keras.Model(
        model.input,
        [model.get_layer("stem_relu").output, model.get_layer("stage1_block2_out").output],
    )
    stem_output, block_output = probe(images(), training=False)
    np.testing.assert_allclose(block_output, stem_output, atol=1e-6)

    plain = ResNet(**{**TINY, "zero_gamma": False})
    for layer in plain.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            np.testing.assert_array_equal(layer.gamma.numpy(), 1.0)


def test_zero_gamma_on_bottleneck_third_bn_only():
    model = ResNet(**{**TINY, "block_type": "bottleneck"})
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            expected = 0.0 if layer.name.endswith("_3_bn") else 1.0
            np.testing.assert_array_equal(layer.gamma.numpy(), expected, err_msg=layer.name)


def layer_names(model):
    return [layer.name for layer in model.layers]


def test_variant_a_strides_first_1x1_and_b_the_3x3():
    config = {**TINY, "block_type": "bottleneck"}
    model_a = ResNet(**config, variant="a")
    assert model_a.get_layer("stage2_block1_1_conv").strides == (2, 2)
    assert model_a.get_layer("stage2_block1_2_conv").strides == (1, 1)
    model_b = ResNet(**config, variant="b")
    assert model_b.get_layer("stage2_block1_1_conv").strides == (1, 1)
    assert model_b.get_layer("stage2_block1_2_conv").strides == (2, 2)
    # Symmetric padding before the strided 3x3 conv, as PyTorch's padding=1.
    assert model_b.get_layer("stage2_block1_2_conv_pad").padding == ((1, 1), (1, 1))
    assert not any(isinstance(layer, keras.layers.AveragePooling2D) for layer in model_b.layers)


def test_variant_c_has_deep_stem():
    config = {**TINY, "stem": "imagenet", "width_multiplier": 1.0}
    stem_b = ResNet(**config, variant="b").get_layer("stem_conv")
    assert stem_b.kernel_size == (7, 7) and stem_b.strides == (2, 2)
    model_c = ResNet(**config, variant="c")
    assert "stem_conv" not in layer_names(model_c)
    stem_convs = [model_c.get_layer(f"stem_{i}_conv") for i in (1, 2, 3)]
    assert [conv.filters for conv in stem_convs] == [32, 32, 64]
    assert [conv.kernel_size for conv in stem_convs] == [(3, 3)] * 3
    assert [conv.strides for conv in stem_convs] == [(2, 2), (1, 1), (1, 1)]
    # C keeps B's stride on the 3x3 conv.
    model_c = ResNet(**{**config, "block_type": "bottleneck"}, variant="c")
    assert model_c.get_layer("stage2_block1_2_conv").strides == (2, 2)


def test_variant_d_averages_before_the_shortcut_conv():
    config = {**TINY, "block_type": "bottleneck", "stem": "imagenet"}
    model = ResNet(**config, variant="d")
    pool = model.get_layer("stage2_block1_shortcut_pool")
    assert isinstance(pool, keras.layers.AveragePooling2D)
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2)
    assert model.get_layer("stage2_block1_shortcut_conv").strides == (1, 1)
    # The stride-1 projection of the first stage has no pool; D includes B and C.
    assert "stage1_block1_shortcut_pool" not in layer_names(model)
    assert model.get_layer("stage1_block1_shortcut_conv").strides == (1, 1)
    assert model.get_layer("stage2_block1_2_conv").strides == (2, 2)
    assert "stem_3_conv" in layer_names(model)

    model_b = ResNet(**config, variant="b")
    assert model_b.get_layer("stage2_block1_shortcut_conv").strides == (2, 2)


def test_width_multiplier_scales_channels():
    model = ResNet(**{**TINY, "width_multiplier": 0.25})
    assert model.get_layer("stem_conv").filters == 16
    assert model.get_layer("stage2_block1_2_conv").filters == 32


def test_dropout_and_stochastic_depth_layers():
    model = ResNet(**{**TINY, "depth": (2, 2)}, dropout_rate=0.3, stochastic_depth_rate=0.2)
    assert model.get_layer("head_dropout").rate == 0.3
    rates = [layer.rate for layer in model.layers if isinstance(layer, StochasticDepth)]
    # Linear over 4 blocks (0, 0.05, 0.1, 0.15); the first block has rate 0, a plain Add.
    np.testing.assert_allclose(rates, [0.05, 0.1, 0.15])
    x = images()
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))


def test_fit_one_step_with_stochastic_depth_under_mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = ResNet(**TINY, stochastic_depth_rate=0.5, dropout_rate=0.2)
        model.compile(
            optimizer="sgd",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        history = model.fit(images(batch=4), np.arange(4), batch_size=4, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
    finally:
        keras.config.set_dtype_policy("float32")


def test_mixed_bfloat16_keeps_float32_logits():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = ResNet(**TINY)
        assert model.get_layer("stage1_block1_1_conv").compute_dtype == "bfloat16"
        assert keras.backend.standardize_dtype(model(images()).dtype) == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


def test_get_config_round_trip():
    model = ResNet(**TINY, variant="d", dropout_rate=0.1, stochastic_depth_rate=0.1)
    config = json.loads(json.dumps(model.get_config()))
    clone = ResNet.from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = images()
    np.testing.assert_allclose(clone(x, training=False), model(x, training=False), atol=1e-5)


def test_keras_file_round_trip(tmp_path):
    model = ResNet(**TINY, variant="d", dropout_rate=0.1, stochastic_depth_rate=0.2)
    path = tmp_path / "resnet.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ResNet)
    x = images()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"depth": 20}, ValueError, "depth"),
        ({"depth": (2, 0)}, ValueError, "depth"),
        ({"depth": (1, 1), "block_type": None}, ValueError, "block_type"),
        ({"block_type": "wide"}, ValueError, "block_type"),
        ({"variant": "e"}, ValueError, "variant"),
        ({"stem": "mnist"}, ValueError, "stem"),
        ({"num_classes": 0}, ValueError, "num_classes"),
        ({"num_classes": 2.0}, TypeError, "num_classes"),
        ({"dropout_rate": 1.0}, ValueError, "dropout_rate"),
        ({"stochastic_depth_rate": -0.1}, ValueError, "stochastic_depth_rate"),
        ({"width_multiplier": 0}, ValueError, "width_multiplier"),
        ({"input_shape": (7, 32, 3)}, ValueError, "at least 8"),
        ({"input_shape": (32, 32)}, ValueError, "input_shape"),
        ({"input_shape": (32, 31, 3), "stem": "imagenet"}, ValueError, "width is 31"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    config = {**TINY, "depth": (1, 1, 1, 1)}
    config.update(kwargs)
    with pytest.raises(error, match=message):
        ResNet(**config)


def test_imagenet_stem_rejects_inputs_under_32_pixels():
    with pytest.raises(ValueError, match="at least 32 pixels"):
        ResNet(depth=18, input_shape=(31, 64, 3))


def test_standard_depth_rejects_other_block_type():
    with pytest.raises(ValueError, match="bottleneck"):
        ResNet(depth=50, block_type="basic", input_shape=(64, 64, 3))
