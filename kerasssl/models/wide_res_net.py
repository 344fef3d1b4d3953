"""WideResNet as used by the semi-supervised papers (MixMatch, FixMatch, Meta Pseudo Labels)."""

import numbers

import keras

from kerasssl.models.blocks import (
    block_drop_rates,
    check_input_shape,
    check_num_classes,
    check_rate,
    classifier_head,
    conv2d,
    residual_sum,
)

STEM_FILTERS = 16
NUM_STAGES = 3


@keras.saving.register_keras_serializable(package="kerasssl")
class WideResNet(keras.Model):
    """Pre-activation WideResNet-`depth`-`width` of the FixMatch / MixMatch code.

    Three stages of `(depth - 4) / 6` pre-activation basic blocks with
    `16 * width * (1, 2, 4)` channels after a 3x3 stem conv of 16 channels; the stages
    stride 1, 2, 2. Each block is BN -> leaky ReLU -> conv3x3 -> BN -> leaky ReLU -> conv3x3
    plus a shortcut that is the identity, or a 1x1 conv when the channels or the size change.
    As in the authors' code, the first block of the first stage feeds its pre-activated
    input to the shortcut too, and a final BN -> leaky ReLU precedes global average pooling.
    Convs have no bias (they feed BatchNorm), which gives WRN-28-2 at 10 classes exactly
    1,467,610 trainable parameters, the "1.5M" of the papers.

    Args:
        depth: total depth; `(depth - 4)` must be divisible by 6 (28 -> 4 blocks per stage).
        width: widening factor `k` (2 for CIFAR-10, 8 for CIFAR-100 in FixMatch).
        num_classes: number of logits.
        input_shape: `(height, width, channels)`; height and width may be None and must be
            at least 4 (the total stride) otherwise.
        dropout_rate: dropout on the pooled features before the classifier.
        stochastic_depth_rate: scale of the residual branches' drop rates (Noisy Student's
            model noise): block `i` of `N` (0-based) drops with `rate * i / N`, from 0 to
            `rate * (N - 1) / N` at the last block (`blocks.block_drop_rates`).
        bn_momentum: Keras BatchNorm momentum; 0.999 is the papers' (PyTorch momentum 0.001).
        leaky_relu_slope: negative slope of the leaky ReLUs (0.1 in the papers).
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    ```python
    model = WideResNet(depth=28, width=2, num_classes=10)
    logits = model(images)  # images: float32 in [0, 255], shape [B, 32, 32, 3]
    ```

    Reference:
        Zagoruyko and Komodakis, "Wide Residual Networks", BMVC 2016,
        https://arxiv.org/abs/1605.07146; the variant of Sohn et al., "FixMatch", NeurIPS
        2020, https://arxiv.org/abs/2001.07685 (google-research/fixmatch `libml/models.py`).
    """

    def __init__(
        self,
        depth=28,
        width=2,
        num_classes=10,
        input_shape=(32, 32, 3),
        dropout_rate=0.0,
        stochastic_depth_rate=0.0,
        bn_momentum=0.999,
        leaky_relu_slope=0.1,
        **kwargs,
    ):
        if isinstance(depth, bool) or not isinstance(depth, int):
            raise TypeError(f"`depth` must be an int with (depth - 4) % 6 == 0; got {depth!r}.")
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(
                f"`depth` must satisfy (depth - 4) % 6 == 0 with at least one block per "
                f"stage (10, 16, 22, 28, 34, 40, ...); got {depth}."
            )
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"`width` must be a positive int; got {width!r}.")
        num_classes = check_num_classes(num_classes)
        check_rate(dropout_rate, "dropout_rate")
        check_rate(stochastic_depth_rate, "stochastic_depth_rate")
        check_rate(bn_momentum, "bn_momentum")
        if isinstance(leaky_relu_slope, bool) or not isinstance(leaky_relu_slope, numbers.Real):
            raise TypeError(f"`leaky_relu_slope` must be a float; got {leaky_relu_slope!r}.")
        input_shape = check_input_shape(input_shape, 2 ** (NUM_STAGES - 1), "WideResNet")

        blocks_per_stage = (depth - 4) // 6
        drop_rates = block_drop_rates(stochastic_depth_rate, NUM_STAGES * blocks_per_stage)
        inputs = keras.Input(shape=input_shape, name="images")
        # Images arrive in [0, 255]; the model maps them to [-1, 1] itself.
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescaling")(inputs)
        x = conv2d(x, STEM_FILTERS, 3, 1, name="stem_conv")
        block_index = 0
        for stage in range(NUM_STAGES):
            for block in range(blocks_per_stage):
                first = block == 0
                x = _pre_activation_block(
                    x,
                    filters=STEM_FILTERS * width * 2**stage,
                    strides=2 if stage > 0 and first else 1,
                    activate_shortcut=stage == 0 and first,
                    drop_rate=drop_rates[block_index],
                    bn_momentum=bn_momentum,
                    leaky_relu_slope=leaky_relu_slope,
                    name=f"stage{stage + 1}_block{block + 1}",
                )
                block_index += 1
        x = _bn_leaky_relu(x, bn_momentum, leaky_relu_slope, name="final")
        # Glorot-normal head, as both the TF and the PyTorch FixMatch code initialise it.
        outputs = classifier_head(x, num_classes, dropout_rate, "glorot_normal")

        kwargs.setdefault("name", f"wrn_{depth}_{width}")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.depth = depth
        self.width = width
        self.num_classes = num_classes
        self.image_shape = input_shape
        self.dropout_rate = float(dropout_rate)
        self.stochastic_depth_rate = float(stochastic_depth_rate)
        self.bn_momentum = float(bn_momentum)
        self.leaky_relu_slope = float(leaky_relu_slope)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "depth": self.depth,
            "width": self.width,
            "num_classes": self.num_classes,
            "input_shape": list(self.image_shape),
            "dropout_rate": self.dropout_rate,
            "stochastic_depth_rate": self.stochastic_depth_rate,
            "bn_momentum": self.bn_momentum,
            "leaky_relu_slope": self.leaky_relu_slope,
        }


def _bn_leaky_relu(x, bn_momentum, leaky_relu_slope, name):
    # epsilon 1e-3: the TF default the FixMatch authors' code runs with.
    x = keras.layers.BatchNormalization(momentum=bn_momentum, epsilon=1e-3, name=f"{name}_bn")(x)
    return keras.layers.LeakyReLU(negative_slope=leaky_relu_slope, name=f"{name}_relu")(x)


def _pre_activation_block(
    x, filters, strides, activate_shortcut, drop_rate, bn_momentum, leaky_relu_slope, name
):
    activated = _bn_leaky_relu(x, bn_momentum, leaky_relu_slope, name=f"{name}_1")
    shortcut = activated if activate_shortcut else x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv2d(shortcut, filters, 1, strides, name=f"{name}_shortcut_conv")
    y = conv2d(activated, filters, 3, strides, name=f"{name}_1_conv")
    y = _bn_leaky_relu(y, bn_momentum, leaky_relu_slope, name=f"{name}_2")
    y = conv2d(y, filters, 3, 1, name=f"{name}_2_conv")
    return residual_sum(shortcut, y, drop_rate, name)


PRESETS = {
    "wrn_28_2": {
        "class": WideResNet,
        "config": {"depth": 28, "width": 2, "num_classes": 10, "input_shape": (32, 32, 3)},
        "description": "WRN-28-2 (1.47M parameters), the CIFAR-10/SVHN model of the SSL papers.",
    },
    "wrn_28_8": {
        "class": WideResNet,
        "config": {"depth": 28, "width": 8, "num_classes": 100, "input_shape": (32, 32, 3)},
        "description": "WRN-28-8 (23.4M parameters), FixMatch's CIFAR-100 model.",
    },
    "wrn_28_10": {
        "class": WideResNet,
        "config": {"depth": 28, "width": 10, "num_classes": 10, "input_shape": (32, 32, 3)},
        "description": "WRN-28-10 (36.5M parameters), the original paper's CIFAR model.",
    },
    "wrn_tiny": {
        "class": WideResNet,
        "config": {"depth": 10, "width": 1, "num_classes": 10, "input_shape": (32, 32, 3)},
        "description": "WRN-10-1, one block per stage (~78k parameters) for tests.",
    },
}
