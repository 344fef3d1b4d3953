"""PreActResNet: DivideMix's PreActResNet-18 parameter count, layout, round trip, bad input."""

import json

import keras
import numpy as np
import pytest

from kerasssl.models import PreActResNet, get_model


def trainable_count(model):
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


def test_preact_resnet18_parameter_count_matches_dividemix():
    # LiJunnan1992/DivideMix PreResNet.py: ResNet18(num_classes=10) has 11,171,274
    # parameters (bias-free convs, BatchNorm weight and bias, the 512 x 10 classifier).
    model = get_model("preact_resnet18")
    assert isinstance(model, PreActResNet)
    assert trainable_count(model) == 11_171_274
    # CIFAR-100: only the classifier grows, by 512 * 90 + 90.
    assert trainable_count(get_model("preact_resnet18", num_classes=100)) == 11_217_444


def test_layout_is_the_references():
    model = PreActResNet(depth=18, num_classes=10)
    names = [layer.name for layer in model.layers]
    # One 1x1 projection per downsampling stage; the first stage keeps the identity.
    assert [name for name in names if name.endswith("shortcut_conv")] == [
        f"stage{stage}_block1_shortcut_conv" for stage in (2, 3, 4)
    ]
    assert not any(
        layer.use_bias for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
    )
    # No BN -> ReLU after the last block: the pooled features are the last sum.
    assert names.index("stage4_block2_add") == names.index("pooled_features") - 1
    assert model.get_layer("pooled_features").input.shape == (None, 4, 4, 512)


def test_identity_shortcut_carries_the_pre_activated_input():
    model = PreActResNet(depth=18, num_classes=10)
    add = model.get_layer("stage1_block1_add")
    shortcut_source = add._inbound_nodes[0].input_tensors[0]._keras_history.operation
    assert shortcut_source.name == "stage1_block1_1_relu"


def test_round_trip_and_logits():
    model = PreActResNet(depth=18, num_classes=3, input_shape=(16, 16, 3), name="net")
    images = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    logits = model(images, training=False)
    assert logits.shape == (2, 3) and logits.dtype == "float32"
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = PreActResNet.from_config(config)
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt(images, training=False), logits, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth": 50}, "depth"),
        ({"depth": True}, "depth"),
        ({"num_classes": 0}, "num_classes"),
        ({"dropout_rate": 1.0}, "dropout_rate"),
        ({"input_shape": (4, 4, 3)}, "at least 8"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PreActResNet(**kwargs)
