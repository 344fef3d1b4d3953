"""EfficientNet: MBConv networks scaled by compound coefficients (B0-B7 and any phi)."""

import collections
import math
import numbers

import keras

from kerasssl.models.blocks import (
    block_drop_rates,
    check_input_normalization,
    check_input_shape,
    check_num_classes,
    check_rate,
    classifier_head,
    input_rescaling,
)
from kerasssl.models.flops import ModelSize
from kerasssl.models.stochastic_depth import StochasticDepth

# The B0 baseline of the paper's Table 1, one row per stage:
# (kernel_size, repeats, filters_in, filters_out, expand_ratio, strides).
BASELINE_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
# Stem stride 2 and four stride-2 stages: the last feature map is 1/32 of the input.
MINIMUM_INPUT_SIZE = 32

BlockSpec = collections.namedtuple(
    "BlockSpec", ["kernel_size", "filters_in", "filters_out", "expand_ratio", "strides"]
)
CompoundScaling = collections.namedtuple("CompoundScaling", ["depth", "width", "resolution"])


def round_filters(filters, width_coefficient, divisor=8):
    """Channels scaled by `width_coefficient`, rounded to the nearest multiple of `divisor`.

    Never rounds down by more than 10% and never goes below `divisor` (official rule).
    """
    scaled = filters * width_coefficient
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats, depth_coefficient):
    """Blocks of a stage scaled by `depth_coefficient`, rounded up."""
    return int(math.ceil(depth_coefficient * repeats))


def block_specs(width_coefficient, depth_coefficient, divisor=8):
    """Every MBConv block of the scaled network, in order, as `BlockSpec`s."""
    specs = []
    for kernel_size, repeats, filters_in, filters_out, expand_ratio, strides in BASELINE_STAGES:
        filters_in = round_filters(filters_in, width_coefficient, divisor)
        filters_out = round_filters(filters_out, width_coefficient, divisor)
        for index in range(round_repeats(repeats, depth_coefficient)):
            # Only the first block of a stage changes resolution and width.
            specs.append(
                BlockSpec(
                    kernel_size,
                    filters_in if index == 0 else filters_out,
                    filters_out,
                    expand_ratio,
                    strides if index == 0 else 1,
                )
            )
    return specs


def compound_scaling(phi, alpha=1.2, beta=1.1, gamma=1.15):
    """Depth, width and resolution coefficients `(alpha**phi, beta**phi, gamma**phi)`.

    The paper's grid search on B0 found alpha=1.2, beta=1.1, gamma=1.15 under
    `alpha * beta**2 * gamma**2 ~ 2`, so each unit of `phi` roughly doubles the FLOPs.
    The published B1-B7 use hand-rounded coefficients (see `PRESETS`), not these exact powers.

    Args:
        phi: float, the compound coefficient (0 gives B0).
        alpha: depth base. beta: width base. gamma: resolution base. All must be >= 1.

    Returns:
        `CompoundScaling(depth, width, resolution)`.
    """
    for value, argument in ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma")):
        if not value >= 1.0:
            raise ValueError(f"`{argument}` must be >= 1 (a growth base); got {value}.")
    if not phi >= 0:
        raise ValueError(f"`phi` must be >= 0 (0 is B0); got {phi}.")
    return CompoundScaling(alpha**phi, beta**phi, gamma**phi)


def efficient_net_from_phi(
    phi, alpha=1.2, beta=1.1, gamma=1.15, base_resolution=224, num_classes=1000, **kwargs
):
    """Builds the EfficientNet that `compound_scaling(phi, alpha, beta, gamma)` describes.

    The resolution is `base_resolution * gamma**phi` rounded to a multiple of 8.

    Args:
        phi, alpha, beta, gamma: see `compound_scaling`.
        base_resolution: int, resolution of the phi=0 network.
        num_classes: int.
        **kwargs: further `EfficientNet` arguments (dropout_rate, stochastic_depth_rate, ...).

    Example:
    ```python
    model = efficient_net_from_phi(1.0, num_classes=10)  # depth 1.2, width 1.1, 256 px
    ```
    """
    scaling = compound_scaling(phi, alpha, beta, gamma)
    resolution = max(MINIMUM_INPUT_SIZE, int(round(base_resolution * scaling.resolution / 8)) * 8)
    return EfficientNet(
        width_coefficient=scaling.width,
        depth_coefficient=scaling.depth,
        num_classes=num_classes,
        input_shape=(resolution, resolution, 3),
        **kwargs,
    )


def analytic_size(
    width_coefficient,
    depth_coefficient,
    input_shape,
    num_classes=1000,
    se_ratio=0.25,
    depth_divisor=8,
    **unused,
):
    """Parameters and multiply-adds of `EfficientNet(...)` computed without building it.

    Walks the same `block_specs` as the model. Parameters include the four batch-norm
    vectors per channel (as `model.count_params()` does); multiply-adds follow
    `kerasssl.models.flops` ("same" padding: each stride-2 layer halves sizes, rounding up).
    Takes a preset's config, e.g. `analytic_size(**PRESETS["efficientnet_b7"]["config"])`.

    Returns:
        `ModelSize(params, flops, head_params)`.
    """
    del unused
    height, width, channels = input_shape
    batch_norm = 4  # gamma, beta, moving mean, moving variance per channel
    stem = round_filters(STEM_FILTERS, width_coefficient, depth_divisor)
    height, width = -(-height // 2), -(-width // 2)
    params = 9 * channels * stem + batch_norm * stem
    flops = height * width * stem * 9 * channels
    for spec in block_specs(width_coefficient, depth_coefficient, depth_divisor):
        expanded = spec.filters_in * spec.expand_ratio
        if spec.expand_ratio != 1:
            params += spec.filters_in * expanded + batch_norm * expanded
            flops += height * width * spec.filters_in * expanded
        height, width = -(-height // spec.strides), -(-width // spec.strides)
        params += spec.kernel_size**2 * expanded + batch_norm * expanded
        flops += height * width * expanded * spec.kernel_size**2
        if se_ratio > 0:
            squeeze = max(1, int(spec.filters_in * se_ratio))
            params += 2 * expanded * squeeze + squeeze + expanded
            flops += 2 * expanded * squeeze
        params += expanded * spec.filters_out + batch_norm * spec.filters_out
        flops += height * width * expanded * spec.filters_out
    head = round_filters(HEAD_FILTERS, width_coefficient, depth_divisor)
    params += spec.filters_out * head + batch_norm * head
    flops += height * width * spec.filters_out * head
    head_params = head * num_classes + num_classes
    return ModelSize(params + head_params, flops + head * num_classes, head_params)


def _conv_initializer():
    # N(0, 2 / fan_out), the official EfficientNet conv initialiser.
    return keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")


def _dense_initializer():
    # U(-1/sqrt(units), 1/sqrt(units)), the official EfficientNet head initialiser.
    return keras.initializers.VarianceScaling(1.0 / 3.0, "fan_out", "uniform")


def _conv_bn(x, filters, kernel_size, strides, activation, name, batch_norm):
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer=_conv_initializer(),
        name=f"{name}_conv",
    )(x)
    x = keras.layers.BatchNormalization(**batch_norm, name=f"{name}_bn")(x)
    if activation:
        x = keras.layers.Activation(activation, name=f"{name}_activation")(x)
    return x


def _mb_conv(x, spec, se_ratio, drop_rate, batch_norm, name):
    """Inverted residual: 1x1 expand, depthwise kxk, squeeze-excite, 1x1 project, skip."""
    inputs = x
    filters = spec.filters_in * spec.expand_ratio
    if spec.expand_ratio != 1:
        x = _conv_bn(x, filters, 1, 1, "swish", f"{name}_expand", batch_norm)
    x = keras.layers.DepthwiseConv2D(
        spec.kernel_size,
        strides=spec.strides,
        padding="same",
        use_bias=False,
        depthwise_initializer=_conv_initializer(),
        name=f"{name}_dwconv",
    )(x)
    x = keras.layers.BatchNormalization(**batch_norm, name=f"{name}_dw_bn")(x)
    x = keras.layers.Activation("swish", name=f"{name}_dw_activation")(x)
    if se_ratio > 0:
        # The squeeze width follows the block's input channels, not the expanded ones.
        squeeze_filters = max(1, int(spec.filters_in * se_ratio))
        scale = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_squeeze")(x)
        scale = keras.layers.Conv2D(
            squeeze_filters,
            1,
            activation="swish",
            kernel_initializer=_conv_initializer(),
            name=f"{name}_se_reduce",
        )(scale)
        scale = keras.layers.Conv2D(
            filters,
            1,
            activation="sigmoid",
            kernel_initializer=_conv_initializer(),
            name=f"{name}_se_expand",
        )(scale)
        x = keras.layers.Multiply(name=f"{name}_se_excite")([x, scale])
    x = _conv_bn(x, spec.filters_out, 1, 1, None, f"{name}_project", batch_norm)
    if spec.strides == 1 and spec.filters_in == spec.filters_out:
        if drop_rate > 0:
            x = StochasticDepth(drop_rate, name=f"{name}_drop_path")([inputs, x])
        else:
            x = keras.layers.Add(name=f"{name}_add")([inputs, x])
    return x


@keras.saving.register_keras_serializable(package="kerasssl")
class EfficientNet(keras.Model):
    """EfficientNet image classifier with compound scaling of width, depth and resolution.

    The B0 baseline of the paper (stem conv3x3 32; MBConv1 k3 16; MBConv6 k3 24 x2; k5 40 x2;
    k3 80 x3; k5 112 x3; k5 192 x4; k3 320 x1; conv1x1 1280; pooling; FC) with
    squeeze-and-excitation (ratio 0.25 of the block input), swish, batch norm (momentum 0.99,
    epsilon 1e-3), channels scaled by `width_coefficient` and rounded to multiples of 8,
    blocks per stage scaled by `depth_coefficient` and rounded up. Dropout precedes the head
    and stochastic depth drops block `i` of `n` with `stochastic_depth_rate * i / n`.
    The model takes images in [0, 255] (a `Rescaling` layer maps them to [-1, 1], or to
    `(x - input_mean) / input_std`) and returns float32 logits; `"pooled_features"` is the
    pooled embedding. `get_model("efficientnet_b0", weights="imagenet")` loads the ImageNet
    weights of `keras.applications.EfficientNetB0` into it (`kerasssl.models.pretrained`).

    Parameters and multiply-adds at the native resolution, 1000 classes, against the paper
    (Table 2) and `keras.applications` (`weights=None`):

    | model | params     | paper | multiply-adds | paper | keras.applications |
    |-------|------------|-------|---------------|-------|--------------------|
    | B0    |  5,330,564 | 5.3M  |  0.386B       | 0.39B |  5,330,571         |
    | B1    |  7,856,232 | 7.8M  |  0.687B       | 0.70B |  7,856,239         |
    | B2    |  9,177,562 | 9.2M  |  0.994B       | 1.0B  |  9,177,569         |
    | B3    | 12,320,528 | 12M   |  1.827B       | 1.8B  | 12,320,535         |
    | B4    | 19,466,816 | 19M   |  4.394B       | 4.2B  | 19,466,823         |
    | B5    | 30,562,520 | 30M   | 10.266B       | 9.9B  | 30,562,527         |
    | B6    | 43,265,136 | 43M   | 19.068B       | 19B   | 43,265,143         |
    | B7    | 66,658,680 | 66M   | 37.746B       | 37B   | 66,658,687         |

    Multiply-adds count every conv and dense layer (`kerasssl.models.flops`). The paper's
    B4 and B5 figures are 4.6% and 3.7% below what the paper's own B4/B5 layout computes at
    380 and 456 px; independent counters agree with this model (thop on the PyTorch port:
    4.49B and 10.46B including batch norm), and no padding or resolution rule reconciles all
    eight rows, so those two stay outside the 3% tolerance the other rows meet.

    The architectures are identical to `keras.applications.EfficientNetB*`; every count
    differs by exactly 7 weights, the non-trainable statistics of the `Normalization` layer
    keras.applications puts after its `Rescaling` (mean 3 + variance 3 + count 1). This
    model rescales to [-1, 1] with a weightless `Rescaling` instead, per the kerasssl input
    convention. Other differences change no count: keras.applications pads stride-2
    convolutions explicitly (`ZeroPadding2D(correct_pad(...))` + "valid"), which equals the
    "same" padding this model and the official TensorFlow code use at a known input size;
    it implements per-block drop-path as `Dropout` with `noise_shape=(None, 1, 1, 1)` where
    this model uses `StochasticDepth` (same maths). Loaded with keras.applications' weights
    (`kerasssl.models.pretrained`), this model gives its logits to 1e-5.

    Args:
        width_coefficient: float > 0, channel multiplier.
        depth_coefficient: float > 0, block-count multiplier.
        num_classes: int, number of logits.
        input_shape: `(height, width, channels)`; sides of at least 32 pixels or None.
        dropout_rate: float in [0, 1), dropout before the classifier.
        stochastic_depth_rate: float in [0, 1), the official code's "drop connect rate"
            (0.2): block `i` of `N` (0-based) drops with `rate * i / N`, so the last block
            drops `rate * (N - 1) / N` and the first none.
        se_ratio: float in [0, 1], squeeze width over block input width; 0 disables SE.
        bn_momentum: float, batch-norm moving-average momentum.
        bn_epsilon: float, batch-norm epsilon.
        depth_divisor: int, channel rounding multiple.
        input_mean, input_std: the input normalization `(x - input_mean) / input_std`, one
            number or one per channel, in pixel units; 127.5 and 127.5 give [-1, 1].
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    ```python
    model = EfficientNet(width_coefficient=1.0, depth_coefficient=1.0, num_classes=10)  # B0
    logits = model(np.zeros((2, 224, 224, 3), "float32"))  # images in [0, 255]
    b3 = get_model("efficientnet_b3", num_classes=10)  # kerasssl.models.get_model
    ```

    Reference:
        Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
        Networks", ICML 2019, https://arxiv.org/abs/1905.11946.
    """

    def __init__(
        self,
        width_coefficient=1.0,
        depth_coefficient=1.0,
        num_classes=1000,
        input_shape=(224, 224, 3),
        dropout_rate=0.2,
        stochastic_depth_rate=0.2,
        se_ratio=0.25,
        bn_momentum=0.99,
        bn_epsilon=1e-3,
        depth_divisor=8,
        input_mean=127.5,
        input_std=127.5,
        **kwargs,
    ):
        for value, argument in (
            (width_coefficient, "width_coefficient"),
            (depth_coefficient, "depth_coefficient"),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
                raise ValueError(f"`{argument}` must be a positive float; got {value!r}.")
        num_classes = check_num_classes(num_classes)
        input_shape = check_input_shape(input_shape, MINIMUM_INPUT_SIZE, "EfficientNet")
        check_rate(dropout_rate, "dropout_rate")
        check_rate(stochastic_depth_rate, "stochastic_depth_rate")
        if not 0.0 <= se_ratio <= 1.0:
            raise ValueError(f"`se_ratio` must be in [0, 1] (0 disables SE); got {se_ratio}.")
        batch_norm = {"momentum": bn_momentum, "epsilon": bn_epsilon}

        inputs = keras.Input(shape=input_shape, name="images")
        x = input_rescaling(inputs, input_mean, input_std)
        x = _conv_bn(
            x,
            round_filters(STEM_FILTERS, width_coefficient, depth_divisor),
            3,
            2,
            "swish",
            "stem",
            batch_norm,
        )
        specs = block_specs(width_coefficient, depth_coefficient, depth_divisor)
        drop_rates = block_drop_rates(stochastic_depth_rate, len(specs))
        for index, (spec, drop_rate) in enumerate(zip(specs, drop_rates, strict=True)):
            x = _mb_conv(x, spec, se_ratio, drop_rate, batch_norm, f"block{index}")
        x = _conv_bn(
            x,
            round_filters(HEAD_FILTERS, width_coefficient, depth_divisor),
            1,
            1,
            "swish",
            "top",
            batch_norm,
        )
        outputs = classifier_head(x, num_classes, dropout_rate, _dense_initializer())
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.width_coefficient = width_coefficient
        self.depth_coefficient = depth_coefficient
        self.num_classes = num_classes
        self.image_shape = input_shape
        self.dropout_rate = dropout_rate
        self.stochastic_depth_rate = stochastic_depth_rate
        self.se_ratio = se_ratio
        self.bn_momentum = bn_momentum
        self.bn_epsilon = bn_epsilon
        self.depth_divisor = depth_divisor
        self.input_mean, self.input_std = check_input_normalization(input_mean, input_std)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "width_coefficient": self.width_coefficient,
            "depth_coefficient": self.depth_coefficient,
            "num_classes": self.num_classes,
            "input_shape": list(self.image_shape),
            "dropout_rate": self.dropout_rate,
            "stochastic_depth_rate": self.stochastic_depth_rate,
            "se_ratio": self.se_ratio,
            "bn_momentum": self.bn_momentum,
            "bn_epsilon": self.bn_epsilon,
            "depth_divisor": self.depth_divisor,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
        }


def _preset(label, width, depth, resolution, dropout_rate, description=None, num_classes=1000):
    return {
        "class": EfficientNet,
        "config": {
            "width_coefficient": width,
            "depth_coefficient": depth,
            "num_classes": num_classes,
            "input_shape": (resolution, resolution, 3),
            "dropout_rate": dropout_rate,
        },
        "description": description
        or f"EfficientNet-{label} (width {width}, depth {depth}), {resolution}x{resolution}.",
    }


# (width, depth, resolution, dropout) of the paper's B0-B7, as in the official code.
PRESETS = {
    "efficientnet_b0": _preset("B0", 1.0, 1.0, 224, 0.2),
    "efficientnet_b1": _preset("B1", 1.0, 1.1, 240, 0.2),
    "efficientnet_b2": _preset("B2", 1.1, 1.2, 260, 0.3),
    "efficientnet_b3": _preset("B3", 1.2, 1.4, 300, 0.3),
    "efficientnet_b4": _preset("B4", 1.4, 1.8, 380, 0.4),
    "efficientnet_b5": _preset("B5", 1.6, 2.2, 456, 0.4),
    "efficientnet_b6": _preset("B6", 1.8, 2.6, 528, 0.5),
    "efficientnet_b7": _preset("B7", 2.0, 3.1, 600, 0.5),
    "efficientnet_tiny": _preset(
        "tiny",
        0.25,
        0.25,
        32,
        0.0,
        "EfficientNet at width 0.25 and depth 0.25 (one block per stage, 8-80 channels, "
        "~0.13M parameters at 10 classes), 32x32: for tests.",
        num_classes=10,
    ),
}
