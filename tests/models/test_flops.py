"""The multiply-add counter on layers counted by hand, and ResNet-50 against Bag of Tricks."""

import keras
import numpy as np
import pytest

from kerasssl.models.flops import count_flops, layer_flops


def _single_layer_flops(layer, input_shape):
    inputs = keras.Input(input_shape)
    return count_flops(keras.Model(inputs, layer(inputs)))


@pytest.mark.parametrize(
    "layer, input_shape, expected",
    [
        # 32x32 outputs, 8 filters, each a 3x3x3 dot product.
        (keras.layers.Conv2D(8, 3, padding="same"), (32, 32, 3), 32 * 32 * 8 * 3 * 3 * 3),
        # Stride 2, "valid": (32 - 3) // 2 + 1 = 15 per side.
        (keras.layers.Conv2D(8, 3, strides=2), (32, 32, 3), 15 * 15 * 8 * 27),
        # Two groups: each output channel sees 4 of the 8 input channels.
        (keras.layers.Conv2D(6, 1, groups=2), (5, 5, 8), 5 * 5 * 6 * 4),
        (keras.layers.Conv1D(4, 3, padding="same"), (10, 2), 10 * 4 * 3 * 2),
        # One 5x5 filter per channel; depth multiplier 2 doubles the output channels.
        (keras.layers.DepthwiseConv2D(5, padding="same"), (8, 8, 16), 8 * 8 * 16 * 25),
        (
            keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
            (8, 8, 16),
            8 * 8 * 32 * 9,
        ),
        # Depthwise 3x3 on 4 channels, then a 1x1 from 4 to 10 channels.
        (
            keras.layers.SeparableConv2D(10, 3, padding="same"),
            (6, 6, 4),
            6 * 6 * 4 * 9 + 6 * 6 * 4 * 10,
        ),
        # Every input pixel scatters a 3x3x5 kernel.
        (keras.layers.Conv2DTranspose(5, 3, strides=2), (4, 4, 2), 4 * 4 * 2 * 9 * 5),
        (keras.layers.Dense(7), (11,), 11 * 7),
        # On a sequence, the same matrix multiplies each of the 6 rows.
        (keras.layers.Dense(7), (6, 11), 6 * 11 * 7),
        (keras.layers.Dense(3), (2, 4, 5), 2 * 4 * 5 * 3),
        # [batch, 6, 11] x [11, 4, 3] -> [batch, 6, 4, 3]: 11 multiply-adds per output.
        (
            keras.layers.EinsumDense("abc,cde->abde", output_shape=(6, 4, 3)),
            (6, 11),
            6 * 4 * 3 * 11,
        ),
    ],
)
def test_weighted_layers_match_hand_counts(layer, input_shape, expected):
    assert _single_layer_flops(layer, input_shape) == expected


@pytest.mark.parametrize(
    "layer",
    [
        keras.layers.BatchNormalization(),
        keras.layers.LayerNormalization(),
        keras.layers.Activation("swish"),
        keras.layers.MaxPooling2D(),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Rescaling(1 / 255),
    ],
)
def test_weightless_and_normalisation_layers_count_zero(layer):
    assert _single_layer_flops(layer, (8, 8, 4)) == 0


def test_model_sums_layers_counts_every_call_and_reports_breakdown():
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 1, name="conv")
    shared = keras.layers.Conv2D(4, 1, name="shared")
    x = conv(inputs)
    x = keras.layers.Add()([shared(x), shared(x)])
    outputs = keras.layers.Dense(2, name="head")(keras.layers.GlobalAveragePooling2D()(x))
    total, breakdown = count_flops(keras.Model(inputs, outputs), per_layer=True)
    assert breakdown == {"conv": 64 * 4 * 3, "shared": 2 * 64 * 4 * 4, "head": 4 * 2}
    assert total == sum(breakdown.values())


def test_nested_and_sequential_models():
    inner = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5), keras.layers.Dense(2)])
    assert count_flops(inner) == 10 * 5 + 5 * 2
    inputs = keras.Input((10,))
    outer = keras.Model(inputs, keras.layers.Dense(3)(inner(inputs)))
    assert count_flops(outer) == 10 * 5 + 5 * 2 + 2 * 3


def test_layer_flops_ignores_batch_size():
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    assert layer_flops(layer, (64, 3), (64, 4)) == layer_flops(layer, (None, 3), (None, 4)) == 12


def test_unknown_spatial_size_raises():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    with pytest.raises(ValueError, match="input_shape"):
        count_flops(model)


def test_subclassed_model_without_graph_raises():
    class Plain(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    model = Plain()
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(TypeError, match="functional"):
        count_flops(model)


# Bag of Tricks (He et al. 2019), Table 5: GFLOPs (multiply-adds) at 224x224, 1000 classes.
# ResNet-50 is the original "A" layout (stride on the first 1x1 conv); B moves the stride to
# the 3x3 conv, C adds the deep stem, D the average-pooled shortcut (no multiply-adds).
BAG_OF_TRICKS_TABLE_5 = {"a": 3.8e9, "b": 4.1e9, "c": 4.3e9, "d": 4.3e9}


@pytest.mark.parametrize("variant", sorted(BAG_OF_TRICKS_TABLE_5))
def test_resnet50_variants_match_bag_of_tricks_table_5(variant):
    res_net = pytest.importorskip("kerasssl.models.res_net")
    model = res_net.ResNet(depth=50, variant=variant, num_classes=1000, input_shape=(224, 224, 3))
    flops = count_flops(model)
    assert flops == pytest.approx(BAG_OF_TRICKS_TABLE_5[variant], rel=0.03)
    # "25M" parameters (Table 5 and He et al. 2016): trainable weights, 25.56M-25.58M.
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    assert trainable == pytest.approx(25e6, rel=0.03)
