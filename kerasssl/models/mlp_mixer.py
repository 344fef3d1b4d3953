"""MLP-Mixer: patches mixed by MLPs across tokens and across channels."""

import collections
import numbers

import keras

from kerasssl.models.blocks import check_num_classes, check_rate
from kerasssl.models.flops import ModelSize
from kerasssl.models.stochastic_depth import StochasticDepth

MixerSpec = collections.namedtuple(
    "MixerSpec", ["patch_size", "hidden_size", "num_blocks", "tokens_mlp_dim", "channels_mlp_dim"]
)

# The paper's Table 1: hidden size C, blocks, token-mixing width D_S, channel-mixing width D_C.
_SMALL = {"hidden_size": 512, "num_blocks": 8, "tokens_mlp_dim": 256, "channels_mlp_dim": 2048}
_BASE = {"hidden_size": 768, "num_blocks": 12, "tokens_mlp_dim": 384, "channels_mlp_dim": 3072}
_LARGE = {"hidden_size": 1024, "num_blocks": 24, "tokens_mlp_dim": 512, "channels_mlp_dim": 4096}
_HUGE = {"hidden_size": 1280, "num_blocks": 32, "tokens_mlp_dim": 640, "channels_mlp_dim": 5120}


def check_image_size(input_shape, patch_size):
    """Validates `(height, width, channels)` against the patch size; returns the tuple."""
    if not _is_positive_int(patch_size):
        raise ValueError(f"`patch_size` must be a positive int; got {patch_size!r}.")
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels) with fixed sizes; got "
            f"{input_shape!r}."
        )
    for value, part in zip(input_shape, ("height", "width", "channels"), strict=True):
        if not _is_positive_int(value):
            raise ValueError(
                f"`input_shape` {part} must be a positive int (the token-mixing MLP needs a "
                f"fixed number of patches); got {input_shape!r}."
            )
    for value, part in zip(input_shape[:2], ("height", "width"), strict=True):
        if value < patch_size:
            raise ValueError(
                f"`input_shape` {part} is {value}, smaller than `patch_size` {patch_size}; "
                "use larger images or a smaller patch size."
            )
        if value % patch_size:
            raise ValueError(
                f"`input_shape` {part} {value} is not divisible by `patch_size` {patch_size}; "
                f"resize to {value // patch_size * patch_size} or "
                f"{(value // patch_size + 1) * patch_size}, or pick a patch size dividing it."
            )
    return tuple(int(value) for value in input_shape)


def _is_positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _mlp(x, hidden_units, output_units, name):
    x = keras.layers.Dense(hidden_units, name=f"{name}_fc1")(x)
    x = keras.layers.Activation("gelu", name=f"{name}_gelu")(x)
    return keras.layers.Dense(output_units, name=f"{name}_fc2")(x)


def _skip(shortcut, residual, drop_rate, name):
    if drop_rate > 0:
        return StochasticDepth(drop_rate, name=f"{name}_drop_path")([shortcut, residual])
    return keras.layers.Add(name=f"{name}_add")([shortcut, residual])


def _mixer_block(x, num_patches, spec, drop_rate, name):
    """LayerNorm -> token-mixing MLP (over patches) -> skip; LayerNorm -> channel MLP -> skip."""
    y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_token_norm")(x)
    # Dense acts on the last axis, so patches go last to be mixed, then come back.
    y = keras.layers.Permute((2, 1), name=f"{name}_to_channels_first")(y)
    y = _mlp(y, spec.tokens_mlp_dim, num_patches, f"{name}_token_mixing")
    y = keras.layers.Permute((2, 1), name=f"{name}_to_tokens_first")(y)
    x = _skip(x, y, drop_rate, f"{name}_token")
    y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_channel_norm")(x)
    y = _mlp(y, spec.channels_mlp_dim, spec.hidden_size, f"{name}_channel_mixing")
    return _skip(x, y, drop_rate, f"{name}_channel")


def analytic_size(
    patch_size,
    hidden_size,
    num_blocks,
    tokens_mlp_dim,
    channels_mlp_dim,
    input_shape,
    num_classes=1000,
    **unused,
):
    """Parameters and multiply-adds of `MLPMixer(...)` computed without building it.

    For the 200M+ presets, whose weights take seconds to initialise. The paper's parameter
    counts leave out the classifier: compare them with `params - head_params`. Takes a
    preset's config, e.g. `analytic_size(**PRESETS["mixer_h14"]["config"])`.

    Returns:
        `ModelSize(params, flops, head_params)`.
    """
    del unused
    height, width, channels = input_shape
    patches = (height // patch_size) * (width // patch_size)
    patch_volume = patch_size * patch_size * channels
    params = patch_volume * hidden_size + hidden_size
    flops = patches * patch_volume * hidden_size
    layer_norm = 2 * hidden_size  # gamma and beta
    token_mlp = 2 * patches * tokens_mlp_dim + tokens_mlp_dim + patches
    channel_mlp = 2 * hidden_size * channels_mlp_dim + channels_mlp_dim + hidden_size
    params += num_blocks * (2 * layer_norm + token_mlp + channel_mlp) + layer_norm
    flops += num_blocks * (
        hidden_size * 2 * patches * tokens_mlp_dim + patches * 2 * hidden_size * channels_mlp_dim
    )
    head_params = hidden_size * num_classes + num_classes
    return ModelSize(params + head_params, flops + hidden_size * num_classes, head_params)


@keras.saving.register_keras_serializable(package="kerasssl")
class MLPMixer(keras.Model):
    """MLP-Mixer image classifier.

    A strided convolution embeds each `patch_size` x `patch_size` patch into `hidden_size`
    channels; `num_blocks` Mixer blocks follow (LayerNorm -> token-mixing MLP across patches
    -> skip; LayerNorm -> channel-mixing MLP -> skip; GELU inside both MLPs); a final
    LayerNorm, global average pooling over patches (`"pooled_features"`), optional dropout
    and a zero-initialised float32 head (as the paper). Images in [0, 255] are rescaled to
    [-1, 1] inside the model. Any image size divisible by the patch size works.

    Parameters (paper Table 1 gives the backbone, without head, rounded to millions; "+head"
    adds a 1000-class classifier):

    | preset | backbone    | paper | +head       |
    |--------|-------------|-------|-------------|
    | S/32   |  18,591,624 | 19M   |  19,104,624 |
    | S/16   |  18,015,264 | 18M   |  18,528,264 |
    | B/32   |  59,524,428 | 60M   |  60,293,428 |
    | B/16   |  59,111,472 | 59M   |  59,880,472 |
    | L/32   | 205,914,264 | 206M  | 206,939,264 |
    | L/16   | 207,171,168 | 207M  | 208,196,168 |
    | H/14   | 431,069,952 | 431M  | 432,350,952 |

    Args:
        patch_size: int, side of the square patches (image sides must be multiples of it).
        hidden_size: int, channels per patch (C).
        num_blocks: int, number of Mixer blocks.
        tokens_mlp_dim: int, hidden width of the token-mixing MLP (D_S).
        channels_mlp_dim: int, hidden width of the channel-mixing MLP (D_C).
        num_classes: int, number of logits.
        input_shape: `(height, width, channels)`, fixed sizes divisible by `patch_size`.
        dropout_rate: float in [0, 1), dropout before the head.
        stochastic_depth_rate: float in [0, 1), scale of the blocks' drop rates: both
            branches of block `i` of `N` (0-based) drop with `rate * i / N`, from 0 to
            `rate * (N - 1) / N` at the last block, as the EfficientNet code.
        **kwargs: `keras.Model` arguments such as `name`.

    Example:
    ```python
    model = MLPMixer(patch_size=4, num_classes=10, input_shape=(32, 32, 3))  # Mixer-S/4
    logits = model(np.zeros((2, 32, 32, 3), "float32"))  # images in [0, 255]
    b16 = get_model("mixer_b16", num_classes=10)  # kerasssl.models.get_model
    ```

    Reference:
        Tolstikhin et al., "MLP-Mixer: An all-MLP Architecture for Vision", NeurIPS 2021,
        https://arxiv.org/abs/2105.01601.
    """

    def __init__(
        self,
        patch_size=16,
        hidden_size=512,
        num_blocks=8,
        tokens_mlp_dim=256,
        channels_mlp_dim=2048,
        num_classes=1000,
        input_shape=(224, 224, 3),
        dropout_rate=0.0,
        stochastic_depth_rate=0.0,
        **kwargs,
    ):
        input_shape = check_image_size(input_shape, patch_size)
        for value, argument in (
            (hidden_size, "hidden_size"),
            (num_blocks, "num_blocks"),
            (tokens_mlp_dim, "tokens_mlp_dim"),
            (channels_mlp_dim, "channels_mlp_dim"),
        ):
            if not _is_positive_int(value):
                raise ValueError(f"`{argument}` must be a positive int; got {value!r}.")
        num_classes = check_num_classes(num_classes)
        check_rate(dropout_rate, "dropout_rate")
        check_rate(stochastic_depth_rate, "stochastic_depth_rate")
        patch_size, hidden_size, num_blocks, tokens_mlp_dim, channels_mlp_dim = (
            int(patch_size),
            int(hidden_size),
            int(num_blocks),
            int(tokens_mlp_dim),
            int(channels_mlp_dim),
        )
        spec = MixerSpec(patch_size, hidden_size, num_blocks, tokens_mlp_dim, channels_mlp_dim)
        num_patches = (input_shape[0] // patch_size) * (input_shape[1] // patch_size)

        inputs = keras.Input(shape=input_shape, name="images")
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescaling")(inputs)
        x = keras.layers.Conv2D(
            hidden_size, patch_size, strides=patch_size, name="patch_embedding"
        )(x)
        x = keras.layers.Reshape((num_patches, hidden_size), name="tokens")(x)
        for index in range(num_blocks):
            # Linear rule: block i of n drops with rate * i / n (0 for the first block).
            drop_rate = stochastic_depth_rate * index / num_blocks
            x = _mixer_block(x, num_patches, spec, drop_rate, f"block{index}")
        x = keras.layers.LayerNormalization(epsilon=1e-6, name="pre_head_norm")(x)
        x = keras.layers.GlobalAveragePooling1D(name="pooled_features")(x)
        if dropout_rate > 0:
            x = keras.layers.Dropout(dropout_rate, name="head_dropout")(x)
        # float32 keeps logits float32 under mixed_bfloat16; zeros as the paper's head init.
        outputs = keras.layers.Dense(
            num_classes, kernel_initializer="zeros", dtype="float32", name="predictions"
        )(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.patch_size = patch_size
        self.hidden_size = hidden_size
        self.num_blocks = num_blocks
        self.tokens_mlp_dim = tokens_mlp_dim
        self.channels_mlp_dim = channels_mlp_dim
        self.num_classes = num_classes
        self.image_shape = input_shape
        self.dropout_rate = dropout_rate
        self.stochastic_depth_rate = stochastic_depth_rate

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "patch_size": self.patch_size,
            "hidden_size": self.hidden_size,
            "num_blocks": self.num_blocks,
            "tokens_mlp_dim": self.tokens_mlp_dim,
            "channels_mlp_dim": self.channels_mlp_dim,
            "num_classes": self.num_classes,
            "input_shape": list(self.image_shape),
            "dropout_rate": self.dropout_rate,
            "stochastic_depth_rate": self.stochastic_depth_rate,
        }


def _preset(label, widths, patch_size, image_size, description=None, num_classes=1000):
    return {
        "class": MLPMixer,
        "config": {
            **widths,
            "patch_size": patch_size,
            "num_classes": num_classes,
            "input_shape": (image_size, image_size, 3),
        },
        "description": description
        or f"MLP-Mixer-{label} ({widths['num_blocks']} blocks of width "
        f"{widths['hidden_size']}), {image_size}x{image_size}.",
    }


PRESETS = {
    "mixer_s32": _preset("S/32", _SMALL, 32, 224),
    "mixer_s16": _preset("S/16", _SMALL, 16, 224),
    "mixer_b32": _preset("B/32", _BASE, 32, 224),
    "mixer_b16": _preset("B/16", _BASE, 16, 224),
    "mixer_l32": _preset("L/32", _LARGE, 32, 224),
    "mixer_l16": _preset("L/16", _LARGE, 16, 224),
    "mixer_h14": _preset("H/14", _HUGE, 14, 224),
    "mixer_s4": _preset(
        "S/4",
        _SMALL,
        4,
        32,
        "MLP-Mixer-S with 4x4 patches: 64 tokens on 32x32 images (CIFAR-sized), 10 classes.",
        num_classes=10,
    ),
    "mixer_tiny": _preset(
        "tiny",
        {"hidden_size": 32, "num_blocks": 2, "tokens_mlp_dim": 16, "channels_mlp_dim": 64},
        4,
        32,
        "Two Mixer blocks of width 32 on 4x4 patches (~15k parameters), 32x32: for tests.",
        num_classes=10,
    ),
}
