"""Building pieces shared by the convolutional models: padded convs, residual sums, checks."""

import numbers

import keras

from kerasssl.models.stochastic_depth import StochasticDepth


def conv_initializer():
    """He-normal initialiser over fan-out, as torchvision and the FixMatch WideResNet use.

    Both references draw conv kernels from N(0, 2 / (k * k * filters_out)); Keras' "he_normal"
    is truncated and uses fan-in, so it is spelled out here.
    """
    return keras.initializers.VarianceScaling(
        scale=2.0, mode="fan_out", distribution="untruncated_normal"
    )


def conv2d(x, filters, kernel_size, strides, name, use_bias=False):
    """A bias-free conv whose strided form pads symmetrically, like PyTorch's `padding=k // 2`.

    Keras' "same" padding with stride 2 pads only the bottom/right of an even input, which
    shifts the strided conv by one pixel against a strided 1x1 shortcut; explicit symmetric
    padding keeps both paths aligned and the layout identical to the reference models.
    """
    if strides > 1 and kernel_size > 1:
        x = keras.layers.ZeroPadding2D(kernel_size // 2, name=f"{name}_pad")(x)
        padding = "valid"
    else:
        padding = "same"
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=use_bias,
        kernel_initializer=conv_initializer(),
        name=name,
    )(x)


def input_rescaling(images, input_mean, input_std):
    """A weightless `Rescaling` named "rescaling": images in [0, 255] to (x - mean) / std.

    `input_mean` and `input_std` are one number or one per channel, in pixel units; the default
    127.5 / 127.5 of the kerasssl models maps images to [-1, 1]. Pretrained weights bring
    their own (`kerasssl.models.pretrained`), e.g. ImageNet's mean and standard deviation.
    """
    channels = images.shape[-1]
    mean, std = (
        _per_channel(input_mean, "input_mean", channels),
        _per_channel(input_std, "input_std", channels),
    )
    if any(value <= 0 for value in std):
        raise ValueError(f"`input_std` must be positive; got {input_std!r}.")
    if len(set(mean)) == 1 and len(set(std)) == 1:
        scale, offset = 1.0 / std[0], -mean[0] / std[0]
    else:
        scale = [1.0 / value for value in std]
        offset = [-m / value for m, value in zip(mean, std, strict=True)]
    return keras.layers.Rescaling(scale, offset=offset, name="rescaling")(images)


def check_input_normalization(input_mean, input_std):
    """`input_mean`, `input_std` as JSON-ready floats or lists of floats (for `get_config`)."""

    def plain(value):
        if isinstance(value, (tuple, list)):
            return [float(item) for item in value]
        return float(value)

    return plain(input_mean), plain(input_std)


def _per_channel(value, argument, channels):
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(values) not in (1, channels) or not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values
    ):
        raise ValueError(
            f"`{argument}` must be a number or one number per channel ({channels}); got {value!r}."
        )
    return [float(v) for v in values] * (channels if len(values) == 1 else 1)


def residual_sum(shortcut, residual, drop_rate, name):
    """`shortcut + residual`, with the residual dropped per example when `drop_rate > 0`."""
    if drop_rate > 0.0:
        return StochasticDepth(drop_rate, name=f"{name}_drop_path")([shortcut, residual])
    return keras.layers.Add(name=f"{name}_add")([shortcut, residual])


def block_drop_rates(stochastic_depth_rate, num_blocks):
    """Drop rate of each residual block, rising linearly from 0 over the network.

    Block `i` (0-based) of `num_blocks` drops with `stochastic_depth_rate * i / num_blocks`,
    the rule of the EfficientNet and Noisy Student code (`drop_rate *= idx / len(blocks)`),
    which this follows: the first block never drops and the last drops
    `stochastic_depth_rate * (num_blocks - 1) / num_blocks`, not the full rate (Huang et al.'s
    linear rule, `1 - p_l = l / L * (1 - p_L)` with `l = 1..L`, gives the last block the rate).
    """
    return [stochastic_depth_rate * index / num_blocks for index in range(num_blocks)]


def classifier_head(features, num_classes, dropout_rate, kernel_initializer="glorot_uniform"):
    """Global pooling named "pooled_features", optional dropout, float32 logits."""
    pooled = keras.layers.GlobalAveragePooling2D(name="pooled_features")(features)
    x = pooled
    if dropout_rate > 0.0:
        x = keras.layers.Dropout(dropout_rate, name="head_dropout")(x)
    # float32 so logits (and the loss) stay float32 under a mixed_bfloat16 policy.
    return keras.layers.Dense(
        num_classes, kernel_initializer=kernel_initializer, dtype="float32", name="predictions"
    )(x)


def _is_integer(value):
    # numbers.Integral admits NumPy ints (e.g. from `labels.max() + 1`), not bools.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_num_classes(num_classes):
    """Returns `num_classes` as a Python int (JSON-serialisable in `get_config`)."""
    if not _is_integer(num_classes):
        raise TypeError(f"`num_classes` must be a positive int; got {num_classes!r}.")
    if num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive int; got {num_classes}.")
    return int(num_classes)


def check_rate(value, argument):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{argument}` must be a float in [0, 1); got {value!r}.")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"`{argument}` must be in [0, 1); got {value}. Use 0 to disable it.")


def check_choice(value, choices, argument):
    if value not in choices:
        raise ValueError(f"`{argument}` must be one of {sorted(choices)}; got {value!r}.")


def check_input_shape(input_shape, minimum_size, model_name):
    """Validates `(height, width, channels)`; spatial sizes may be None (any size at run time).

    Returns the shape as a tuple of Python ints and Nones. `minimum_size` is the total stride
    of the network, the smallest side that still leaves a 1x1 map for global pooling.
    """
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"`input_shape` must be (height, width, channels); got {input_shape!r}.")
    height, width, channels = input_shape
    for value, part in ((height, "height"), (width, "width"), (channels, "channels")):
        if value is None and part != "channels":
            continue
        if not _is_integer(value) or value < 1:
            raise ValueError(f"`input_shape` {part} must be a positive int; got {input_shape!r}.")
    for value, part in ((height, "height"), (width, "width")):
        if value is not None and value < minimum_size:
            raise ValueError(
                f"`input_shape` {part} is {value} but {model_name} needs at least "
                f"{minimum_size} pixels (its total stride); resize the images or choose a "
                "model with fewer downsampling steps (e.g. ResNet's stem='cifar')."
            )
    return tuple(None if value is None else int(value) for value in input_shape)
