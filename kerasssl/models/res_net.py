"""ResNet 18-152 with the Bag of Tricks B, C and D tweaks, a CIFAR stem and zero-gamma init."""

import numbers

import keras

from kerasssl.models.blocks import (
    block_drop_rates,
    check_choice,
    check_input_normalization,
    check_input_shape,
    check_num_classes,
    check_rate,
    classifier_head,
    conv2d,
    input_rescaling,
    residual_sum,
)

BLOCK_COUNTS = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
BLOCK_TYPES = ("basic", "bottleneck")
VARIANTS = ("a", "b", "c", "d")
STEMS = ("imagenet", "cifar")
BOTTLENECK_EXPANSION = 4
# torchvision / Bag of Tricks BatchNorm: PyTorch momentum 0.1 is Keras momentum 0.9.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="kerasssl")
class ResNet(keras.Model):
    """ResNet classifier: ResNet-18/34/50/101/152 or any block counts, four layout variants.

    The layout follows torchvision (no conv biases, BatchNorm after every conv, symmetric
    padding), so at 1000 classes ResNet-18/34/50/101/152 have exactly torchvision's
    trainable parameter counts (11,689,512 / 21,797,672 / 25,557,032 / 44,549,160 /
    60,192,808; Keras also counts the BatchNorm moving statistics, as non-trainable weights).
    Multiply-adds at 224x224 for ResNet-50 a/b/c/d: 3.86 / 4.09 / 4.33 / 4.33 G, the 3.8 /
    4.1 / 4.3 / 4.3 G of Bag of Tricks Table 5.

    Variants (He et al. 2019, Fig. 1-2; each includes the ones before it, as in Table 5):
    - "a": the original ResNet, bottleneck stride on the first 1x1 conv.
    - "b": stride on the bottleneck's 3x3 conv (torchvision's ResNet, the default).
    - "c": "b" plus the deep stem of three 3x3 convs (32, 32, 64 channels) instead of the
      7x7 conv. With `stem="cifar"` there is no 7x7 conv to replace, so "c" equals "b".
    - "d": "c" plus a 2x2 stride-2 average pool before the 1x1 conv of each downsampling
      shortcut, so the shortcut no longer skips three quarters of its input.
    Basic blocks (18, 34) already stride on a 3x3 conv, so "a" and "b" coincide for them.

    Args:
        depth: 18, 34, 50, 101 or 152, or a sequence of block counts per stage (e.g. `(1, 1)`
            for a two-stage network; then `block_type` is required). Stage `i` has
            `64 * 2**i * width_multiplier` channels (times 4 after a bottleneck).
        variant: "a", "b", "c" or "d" (see above).
        num_classes: number of logits.
        input_shape: `(height, width, channels)`; height and width may be None. Each side must
            be at least the total stride (32 for the ImageNet stem and four stages).
        stem: "imagenet" (7x7 stride-2 conv and 3x3 max-pool) or "cifar" (one 3x3 stride-1
            conv, no pooling, for 32x32 images).
        width_multiplier: scales every channel count.
        zero_gamma: initialise the last BatchNorm gamma of every residual block to zero, so
            each block starts as the identity (Goyal et al. 2017; Bag of Tricks 3.1).
        dropout_rate: dropout on the pooled features before the classifier.
        stochastic_depth_rate: scale of the residual branches' drop rates: block `i` of `N`
            (0-based) drops with `rate * i / N`, from 0 to `rate * (N - 1) / N` at the last
            block, as the EfficientNet and Noisy Student code (`blocks.block_drop_rates`).
        block_type: "basic" or "bottleneck"; only for custom block counts.
        bn_epsilon: BatchNorm epsilon (torchvision's 1e-5; keras.applications' 1.001e-5).
        input_mean, input_std: the input normalization `(x - input_mean) / input_std`, one
            number or one per channel, in pixel units; 127.5 and 127.5 give [-1, 1].
        **kwargs: `keras.Model` arguments such as `name`.

    `get_model("resnet50_a", weights="imagenet")` loads the ImageNet weights of
    `keras.applications.ResNet50`, which is variant "a" (`kerasssl.models.pretrained`).

    Example:
    ```python
    model = ResNet(depth=50, variant="d", num_classes=10, input_shape=(224, 224, 3))
    logits = model(images)  # images: float32 in [0, 255], shape [B, 224, 224, 3]
    features = keras.Model(model.input, model.get_layer("pooled_features").output)
    ```

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
        https://arxiv.org/abs/1512.03385;
        He et al., "Bag of Tricks for Image Classification with Convolutional Neural
        Networks", CVPR 2019, https://arxiv.org/abs/1812.01187.
    """

    def __init__(
        self,
        depth=50,
        variant="b",
        num_classes=1000,
        input_shape=(224, 224, 3),
        stem="imagenet",
        width_multiplier=1.0,
        zero_gamma=True,
        dropout_rate=0.0,
        stochastic_depth_rate=0.0,
        block_type=None,
        bn_epsilon=BN_EPSILON,
        input_mean=127.5,
        input_std=127.5,
        **kwargs,
    ):
        block_counts, block_type = _resolve_depth(depth, block_type)
        check_choice(variant, VARIANTS, "variant")
        check_choice(stem, STEMS, "stem")
        num_classes = check_num_classes(num_classes)
        check_rate(dropout_rate, "dropout_rate")
        check_rate(stochastic_depth_rate, "stochastic_depth_rate")
        if (
            isinstance(width_multiplier, bool)
            or not isinstance(width_multiplier, numbers.Real)
            or not width_multiplier > 0
        ):
            raise ValueError(
                f"`width_multiplier` must be a positive number; got {width_multiplier!r}."
            )
        stem_stride = 4 if stem == "imagenet" else 1
        minimum_size = stem_stride * 2 ** (len(block_counts) - 1)
        input_shape = check_input_shape(input_shape, minimum_size, "ResNet")

        inputs = keras.Input(shape=input_shape, name="images")
        # Images arrive in [0, 255]; the model normalizes them itself ([-1, 1] by default).
        x = input_rescaling(inputs, input_mean, input_std)
        batch_norm = {"momentum": BN_MOMENTUM, "epsilon": bn_epsilon}
        x = _stem(x, stem, variant in ("c", "d"), width_multiplier, batch_norm)
        drop_rates = block_drop_rates(stochastic_depth_rate, sum(block_counts))
        block_fn = _bottleneck_block if block_type == "bottleneck" else _basic_block
        block_index = 0
        for stage, count in enumerate(block_counts):
            width = _scaled(64 * 2**stage, width_multiplier)
            for block in range(count):
                x = block_fn(
                    x,
                    width,
                    strides=2 if stage > 0 and block == 0 else 1,
                    variant=variant,
                    zero_gamma=zero_gamma,
                    drop_rate=drop_rates[block_index],
                    batch_norm=batch_norm,
                    name=f"stage{stage + 1}_block{block + 1}",
                )
                block_index += 1
        outputs = classifier_head(x, num_classes, dropout_rate)

        if isinstance(depth, int):
            kwargs.setdefault("name", f"resnet{depth}{'' if variant == 'b' else variant}")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.depth = depth if isinstance(depth, int) else list(depth)
        self.variant = variant
        self.num_classes = num_classes
        self.image_shape = input_shape
        self.stem = stem
        self.width_multiplier = float(width_multiplier)
        self.zero_gamma = bool(zero_gamma)
        self.dropout_rate = float(dropout_rate)
        self.stochastic_depth_rate = float(stochastic_depth_rate)
        self.block_type = None if isinstance(depth, int) else block_type
        self.bn_epsilon = float(bn_epsilon)
        self.input_mean, self.input_std = check_input_normalization(input_mean, input_std)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "depth": self.depth,
            "variant": self.variant,
            "num_classes": self.num_classes,
            "input_shape": list(self.image_shape),
            "stem": self.stem,
            "width_multiplier": self.width_multiplier,
            "zero_gamma": self.zero_gamma,
            "dropout_rate": self.dropout_rate,
            "stochastic_depth_rate": self.stochastic_depth_rate,
            "block_type": self.block_type,
            "bn_epsilon": self.bn_epsilon,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
        }


def _resolve_depth(depth, block_type):
    """Returns (block counts, block type) for a named depth or explicit block counts."""
    if isinstance(depth, bool):
        raise TypeError(f"`depth` must be one of {sorted(BLOCK_COUNTS)} or block counts.")
    if isinstance(depth, int):
        if depth not in BLOCK_COUNTS:
            raise ValueError(
                f"`depth` must be one of {sorted(BLOCK_COUNTS)}, or a sequence of block "
                f"counts per stage with `block_type`; got {depth}."
            )
        standard_type = "basic" if depth < 50 else "bottleneck"
        if block_type not in (None, standard_type):
            raise ValueError(
                f"ResNet-{depth} uses {standard_type} blocks; got `block_type={block_type!r}`. "
                "Leave `block_type` unset or pass block counts as `depth`."
            )
        return BLOCK_COUNTS[depth], standard_type
    if (
        not isinstance(depth, (tuple, list))
        or not depth
        or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in depth)
    ):
        raise ValueError(
            f"`depth` must be one of {sorted(BLOCK_COUNTS)} or a non-empty sequence of "
            f"positive block counts per stage; got {depth!r}."
        )
    if block_type is None:
        raise ValueError(
            f"`block_type` is required with custom block counts `depth={depth!r}`: pass "
            "'basic' or 'bottleneck'."
        )
    check_choice(block_type, BLOCK_TYPES, "block_type")
    return tuple(depth), block_type


def _scaled(channels, width_multiplier):
    return max(1, int(round(channels * width_multiplier)))


def _conv_bn(x, filters, kernel_size, strides, name, batch_norm, activation=True, gamma_zero=False):
    x = conv2d(x, filters, kernel_size, strides, name=f"{name}_conv")
    x = keras.layers.BatchNormalization(
        **batch_norm, gamma_initializer="zeros" if gamma_zero else "ones", name=f"{name}_bn"
    )(x)
    if activation:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def _stem(x, stem, deep, width_multiplier, batch_norm):
    if stem == "cifar":
        return _conv_bn(x, _scaled(64, width_multiplier), 3, 1, "stem", batch_norm)
    if deep:
        # ResNet-C: three 3x3 convs cost less than a 7x7 on the same receptive field.
        x = _conv_bn(x, _scaled(32, width_multiplier), 3, 2, "stem_1", batch_norm)
        x = _conv_bn(x, _scaled(32, width_multiplier), 3, 1, "stem_2", batch_norm)
        x = _conv_bn(x, _scaled(64, width_multiplier), 3, 1, "stem_3", batch_norm)
    else:
        x = _conv_bn(x, _scaled(64, width_multiplier), 7, 2, "stem", batch_norm)
    # Zero padding equals PyTorch's -inf padding here: the inputs are ReLU outputs (>= 0).
    x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
    return keras.layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)


def _shortcut(x, filters, strides, variant, batch_norm, name):
    if strides == 1 and x.shape[-1] == filters:
        return x
    if variant == "d" and strides > 1:
        # ResNet-D: average first so the 1x1 conv sees every input pixel. "same" pooling
        # excludes padding from the mean: PyTorch's ceil_mode=True, count_include_pad=False.
        x = keras.layers.AveragePooling2D(
            2, strides=strides, padding="same", name=f"{name}_shortcut_pool"
        )(x)
        strides = 1
    return _conv_bn(x, filters, 1, strides, f"{name}_shortcut", batch_norm, activation=False)


def _basic_block(x, width, strides, variant, zero_gamma, drop_rate, batch_norm, name):
    shortcut = _shortcut(x, width, strides, variant, batch_norm, name)
    y = _conv_bn(x, width, 3, strides, f"{name}_1", batch_norm)
    y = _conv_bn(y, width, 3, 1, f"{name}_2", batch_norm, activation=False, gamma_zero=zero_gamma)
    y = residual_sum(shortcut, y, drop_rate, name)
    return keras.layers.ReLU(name=f"{name}_out")(y)


def _bottleneck_block(x, width, strides, variant, zero_gamma, drop_rate, batch_norm, name):
    filters = width * BOTTLENECK_EXPANSION
    shortcut = _shortcut(x, filters, strides, variant, batch_norm, name)
    # ResNet-A strides on the first 1x1 conv and so ignores 3/4 of its input; B moves the
    # stride to the 3x3 conv.
    strides_1x1, strides_3x3 = (strides, 1) if variant == "a" else (1, strides)
    y = _conv_bn(x, width, 1, strides_1x1, f"{name}_1", batch_norm)
    y = _conv_bn(y, width, 3, strides_3x3, f"{name}_2", batch_norm)
    y = _conv_bn(y, filters, 1, 1, f"{name}_3", batch_norm, activation=False, gamma_zero=zero_gamma)
    y = residual_sum(shortcut, y, drop_rate, name)
    return keras.layers.ReLU(name=f"{name}_out")(y)


PRESETS = {
    **{
        f"resnet{depth}": {
            "class": ResNet,
            "config": {"depth": depth, "num_classes": 1000, "input_shape": (224, 224, 3)},
            "description": f"ResNet-{depth} (torchvision layout, variant 'b'), 224x224.",
        }
        for depth in BLOCK_COUNTS
    },
    **{
        f"resnet50_{variant}": {
            "class": ResNet,
            "config": {
                "depth": 50,
                "variant": variant,
                "num_classes": 1000,
                "input_shape": (224, 224, 3),
            },
            "description": f"ResNet-50-{variant.upper()} of Bag of Tricks Table 5, 224x224.",
        }
        for variant in ("a", "c", "d")
    },
    "resnet18_cifar": {
        "class": ResNet,
        "config": {"depth": 18, "stem": "cifar", "num_classes": 10, "input_shape": (32, 32, 3)},
        "description": "ResNet-18 with the CIFAR stem (3x3 conv, no max-pool), 32x32.",
    },
    "resnet_cifar_small": {
        "class": ResNet,
        "config": {
            "depth": 18,
            "stem": "cifar",
            "width_multiplier": 0.25,
            "num_classes": 10,
            "input_shape": (32, 32, 3),
        },
        "description": "ResNet-18 at quarter width (16-128 channels, ~0.7M parameters) with "
        "the CIFAR stem: a quick CPU model, takes inputs down to 8x8.",
    },
    "resnet_tiny": {
        "class": ResNet,
        "config": {
            "depth": (1, 1),
            "block_type": "basic",
            "stem": "cifar",
            "width_multiplier": 0.125,
            "num_classes": 10,
            "input_shape": (32, 32, 3),
        },
        "description": "Two basic blocks of 8 and 16 channels (~5k parameters) for tests.",
    },
}
