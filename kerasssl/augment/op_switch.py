"""Magnitude -> argument mapping of the image ops, and the per-image op choice.

RandAugment and AutoAugment share the ops of `image_ops` and the ranges of the AutoAugment
paper (Cubuk et al. 2019, Table 1); a magnitude `m` reads as the fraction `level = m / 10` of
the range's maximum, as in the reference code (PARAMETER_MAX = 10). They differ only in the
enhance ops (color, contrast, brightness, sharpness), see `ENHANCE_MODES`.
"""

import functools

import tensorflow as tf

from kerasssl.augment import image_ops

# "autoaugment": factor = 0.1 + 1.8 * level, the mapping the AutoAugment policies were searched
#     with (0 is nearly gray/flat/black, 5 the identity).
# "signed": factor = 1 +/- 0.9 * level with a random sign, so a larger RandAugment magnitude
#     always means a stronger change (as in torchvision's and timm's "increasing" ops).
ENHANCE_MODES = ("autoaugment", "signed")

_MAX_ROTATE_DEGREES = 30.0
_MAX_SHEAR = 0.3
_MAX_POSTERIZE_BITS_REMOVED = 4.0  # Table 1: 8 bits down to 4.
_ENHANCE_OPS = {
    "color": image_ops.color,
    "contrast": image_ops.contrast,
    "brightness": image_ops.brightness,
    "sharpness": image_ops.sharpness,
}


def apply_op(
    name,
    image,
    level,
    sign,
    enhance_mode="signed",
    translate_fraction=150 / 331,
    fill_value=128.0,
    interpolation="nearest",
):
    """Applies op `name` at `level` (magnitude / 10) to one image [H, W, C].

    Args:
        name: one of `image_ops.OP_NAMES` (a Python string, fixed at trace time).
        image: float32 [H, W, C], values in [0, 255].
        level: float scalar tensor, magnitude / 10 (may exceed 1 for magnitudes > 10).
        sign: float scalar tensor, +1 or -1, the direction of signed ops.
        enhance_mode: see `ENHANCE_MODES`.
        translate_fraction: the translation at level 1, as a fraction of the image side
            (150/331 in the ImageNet AutoAugment, 10/32 in its CIFAR-10 code).
        fill_value: value of the pixels uncovered by geometric ops.
        interpolation: "nearest" (the reference code) or "bilinear".
    """
    geometry = dict(fill_value=fill_value, interpolation=interpolation)
    if name == "identity":
        return image
    if name in ("auto_contrast", "equalize", "invert"):
        return getattr(image_ops, name)(image)
    if name == "rotate":
        return image_ops.rotate(image, _MAX_ROTATE_DEGREES * level * sign, **geometry)
    if name in ("shear_x", "shear_y"):
        return getattr(image_ops, name)(image, _MAX_SHEAR * level * sign, **geometry)
    if name in ("translate_x", "translate_y"):
        axis = 1 if name == "translate_x" else 0
        side = tf.cast(tf.shape(image)[axis], tf.float32)
        return getattr(image_ops, name)(image, translate_fraction * side * level * sign, **geometry)
    if name == "solarize":
        return image_ops.solarize(image, tf.maximum(256.0 * (1.0 - level), 0.0))
    if name == "posterize":
        bits = 8 - tf.cast(tf.round(_MAX_POSTERIZE_BITS_REMOVED * level), tf.int32)
        return image_ops.posterize(image, bits)
    if name in _ENHANCE_OPS:
        if enhance_mode == "signed":
            factor = tf.maximum(1.0 + 0.9 * level * sign, 0.0)
        else:
            factor = 0.1 + 1.8 * level
        return _ENHANCE_OPS[name](image, factor)
    raise ValueError(f"Unknown op {name!r}; valid ops: {', '.join(image_ops.OP_NAMES)}.")


def switch_op(names, index, image, level, sign, **op_kwargs):
    """Applies `names[index]` to `image`; `index` is a tensor, so each image picks its own op.

    `tf.switch_case` runs only the chosen branch, unlike Keras' batched RandAugment which
    computes every candidate op and selects with `where`.
    """
    branches = [
        functools.partial(apply_op, name, image, level, sign, **op_kwargs) for name in names
    ]
    output = tf.switch_case(tf.convert_to_tensor(index, tf.int32), branches)
    output.set_shape(image.shape)
    return output


def check_op_names(names, argument):
    """Returns `names` as a tuple after checking each is a known op."""
    if isinstance(names, str) or not names:
        raise ValueError(
            f"`{argument}` must be a non-empty sequence of op names; received {names!r}."
        )
    unknown = [name for name in names if name not in image_ops.OP_NAMES]
    if unknown:
        raise ValueError(
            f"`{argument}` has unknown op(s) {unknown}; valid ops: {', '.join(image_ops.OP_NAMES)}."
        )
    return tuple(names)
