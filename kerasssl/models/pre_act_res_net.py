"""PreActResNet-18/34 for 32x32 images, as DivideMix's reference network (its PreResNet.py)."""

import keras

from kerasssl.models.blocks import (
    check_input_normalization,
    check_input_shape,
    check_num_classes,
    check_rate,
    classifier_head,
    conv2d,
    input_rescaling,
)

BLOCK_COUNTS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
STAGE_FILTERS = (64, 128, 256, 512)
# PyTorch BatchNorm2d defaults (momentum 0.1 is Keras momentum 0.9, epsilon 1e-5), which the
# reference code keeps.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="kerasssl")
class PreActResNet(keras.Model):
    """Pre-activation ResNet (He et al. 2016b) with the CIFAR stem, DivideMix's network.

    The layout is the one DivideMix's authors trained (LiJunnan1992/DivideMix `PreResNet.py`,
    `ResNet18` = `ResNet(PreActBlock, [2, 2, 2, 2])`), so its numbers carry over:
    - stem: 3x3 conv of 64 channels, BatchNorm, ReLU (no pooling);
    - four stages of pre-activation basic blocks, 64 / 128 / 256 / 512 channels, strides 1,
      2, 2, 2. A block is BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv3x3, plus a shortcut
      taken from the pre-activated input: the identity, or a bias-free 1x1 conv when the
      size or the channels change. The identity shortcut therefore carries `relu(bn(x))`,
      not `x`, as the reference does;
    - no final BN -> ReLU after the last stage (the reference pools the raw sum), then global
      average pooling and the classifier.
    At 10 classes PreActResNet-18 has 11,171,274 trainable parameters, as the reference's
    `sum(p.numel() for p in ResNet18().parameters())`.

    Args:
        depth: 18 or 34.
        num_classes: number of logits.
        input_shape: `(height, width, channels)`; height and width may be None and must be
            at least 8 (the total stride) otherwise.
        dropout_rate: dropout on the pooled features before the classifier (0 in DivideMix).
        input_mean, input_std: the input normalization `(x - input_mean) / input_std`, one
            number or one per channel, in pixel units; 127.5 and 127.5 give [-1, 1].
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    ```python
    model = PreActResNet(depth=18, num_classes=100)
    logits = model(images)  # images: float32 in [0, 255], shape [B, 32, 32, 3]
    ```

    Reference:
        He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016,
        https://arxiv.org/abs/1603.05027; Li et al., "DivideMix: Learning with Noisy Labels
        as Semi-supervised Learning", ICLR 2020, https://arxiv.org/abs/2002.07394.
    """

    def __init__(
        self,
        depth=18,
        num_classes=10,
        input_shape=(32, 32, 3),
        dropout_rate=0.0,
        input_mean=127.5,
        input_std=127.5,
        **kwargs,
    ):
        if isinstance(depth, bool) or depth not in BLOCK_COUNTS:
            raise ValueError(f"`depth` must be one of {sorted(BLOCK_COUNTS)}; got {depth!r}.")
        num_classes = check_num_classes(num_classes)
        check_rate(dropout_rate, "dropout_rate")
        input_shape = check_input_shape(input_shape, 2 ** (len(STAGE_FILTERS) - 1), "PreActResNet")

        inputs = keras.Input(shape=input_shape, name="images")
        x = input_rescaling(inputs, input_mean, input_std)
        x = conv2d(x, STAGE_FILTERS[0], 3, 1, name="stem_conv")
        x = _batch_norm(x, "stem_bn")
        x = keras.layers.ReLU(name="stem_relu")(x)
        stages = zip(BLOCK_COUNTS[depth], STAGE_FILTERS, strict=True)
        for stage, (count, filters) in enumerate(stages):
            for block in range(count):
                x = _pre_activation_block(
                    x,
                    filters,
                    strides=2 if stage > 0 and block == 0 else 1,
                    name=f"stage{stage + 1}_block{block + 1}",
                )
        outputs = classifier_head(x, num_classes, dropout_rate)

        kwargs.setdefault("name", f"preact_resnet{depth}")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.depth = depth
        self.num_classes = num_classes
        self.image_shape = input_shape
        self.dropout_rate = float(dropout_rate)
        self.input_mean, self.input_std = check_input_normalization(input_mean, input_std)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "depth": self.depth,
            "num_classes": self.num_classes,
            "input_shape": list(self.image_shape),
            "dropout_rate": self.dropout_rate,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
        }


def _batch_norm(x, name):
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)(x)


def _pre_activation_block(x, filters, strides, name):
    activated = keras.layers.ReLU(name=f"{name}_1_relu")(_batch_norm(x, f"{name}_1_bn"))
    shortcut = activated
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv2d(activated, filters, 1, strides, name=f"{name}_shortcut_conv")
    y = conv2d(activated, filters, 3, strides, name=f"{name}_1_conv")
    y = keras.layers.ReLU(name=f"{name}_2_relu")(_batch_norm(y, f"{name}_2_bn"))
    y = conv2d(y, filters, 3, 1, name=f"{name}_2_conv")
    return keras.layers.Add(name=f"{name}_add")([shortcut, y])


PRESETS = {
    "preact_resnet18": {
        "class": PreActResNet,
        "config": {"depth": 18, "num_classes": 10, "input_shape": (32, 32, 3)},
        "description": "PreActResNet-18 (11.17M parameters), DivideMix's CIFAR network, 32x32.",
    },
    "preact_resnet34": {
        "class": PreActResNet,
        "config": {"depth": 34, "num_classes": 10, "input_shape": (32, 32, 3)},
        "description": "PreActResNet-34 with the CIFAR stem, 32x32.",
    },
}
