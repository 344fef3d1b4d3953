"""The AutoAugment / RandAugment image operations on one image, built on Keras core layers.

Each op takes one float32 image [H, W, C] with values in [0, 255] and its argument in the
op's own unit (degrees, pixels, PIL enhance factor, bits, threshold) and returns a float32
image of the same shape. The pixel work is done by the `transform_images` method of the
matching Keras core preprocessing layer, fed with a transformation we choose instead of one
the layer samples: the layers draw from a stateful `SeedGenerator`, which cannot give one
chosen op per image nor a reproducible stateless seed per `tf.data` element.

`RandAugment` and `AutoAugment` map their magnitudes onto these arguments and pick the op
per image with `tf.switch_case`, so only the chosen op runs.
"""

import functools
import math

import keras
import tensorflow as tf

# Names of the ops, in the order of `RandAugment`'s candidate list (Cubuk et al. 2020, Sec. 3)
# followed by the ones only AutoAugment's policies use.
OP_NAMES = (
    "identity",
    "auto_contrast",
    "equalize",
    "rotate",
    "solarize",
    "color",
    "posterize",
    "contrast",
    "brightness",
    "sharpness",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "invert",
)

INTERPOLATIONS = ("nearest", "bilinear")


@functools.cache
def _core_layers(fill_value, interpolation):
    """The Keras core layers whose `transform_images` does the pixel work, made once.

    `tf.init_scope` lifts creation out of a `Dataset.map` trace: the layers own seed
    variables, which cannot be created inside a graph function.
    """
    geometry = dict(
        fill_mode="constant", fill_value=fill_value, interpolation=interpolation, dtype="float32"
    )
    color = dict(value_range=(0, 255), dtype="float32")
    with tf.init_scope():
        layers = {
            "rotate": keras.layers.RandomRotation(factor=0.1, **geometry),
            "shear": keras.layers.RandomShear(x_factor=0.1, y_factor=0.1, **geometry),
            "translate": keras.layers.RandomTranslation(0.1, 0.1, **geometry),
            "color": keras.layers.RandomColorDegeneration(factor=0.5, **color),
            "contrast": keras.layers.RandomContrast(factor=0.5, **color),
            "sharpness": keras.layers.RandomSharpness(factor=0.5, **color),
            "solarize": keras.layers.Solarization(**color),
            "posterize": keras.layers.RandomPosterization(factor=(1, 8), **color),
            "auto_contrast": keras.layers.AutoContrast(**color),
            "equalize": keras.layers.Equalization(**color),
            "invert": keras.layers.RandomInvert(**color),
        }
    for layer in layers.values():
        # tf.data always runs TensorFlow ops, whatever KERAS_BACKEND says.
        layer.backend.set_backend("tensorflow")
    return layers


def _layer(name, fill_value=128.0, interpolation="nearest"):
    return _core_layers(float(fill_value), interpolation)[name]


def _scalar_as_4d(value):
    # The core layers broadcast per-image factors of shape [B, 1, 1, 1]; here B = 1.
    return tf.reshape(tf.cast(value, tf.float32), [1, 1, 1, 1])


def identity(image):
    """Returns the image unchanged (RandAugment's 'Identity')."""
    return image


def auto_contrast(image):
    """Stretches each channel to the full [0, 255] range (PIL `ImageOps.autocontrast`)."""
    return _layer("auto_contrast").transform_images(image[None], None)[0]


def equalize(image):
    """Histogram-equalizes each channel (PIL `ImageOps.equalize`)."""
    return _layer("equalize").transform_images(image[None], None)[0]


def invert(image):
    """Returns 255 - image."""
    transformation = {"apply_inversion": tf.constant([True])}
    return _layer("invert").transform_images(image[None], transformation)[0]


def rotate(image, degrees, fill_value=128.0, interpolation="nearest"):
    """Rotates by `degrees` about the image center; uncovered pixels get `fill_value`."""
    angle = tf.cast(degrees, tf.float32) * (math.pi / 180.0)
    height = tf.cast(tf.shape(image)[0], tf.float32)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    center_x, center_y = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Output->input map of a rotation about the center, as RandomRotation builds it.
    matrix = tf.stack(
        [
            cos,
            -sin,
            center_x - center_x * cos + center_y * sin,
            sin,
            cos,
            center_y - center_x * sin - center_y * cos,
            0.0,
            0.0,
        ]
    )[None]
    layer = _layer("rotate", fill_value, interpolation)
    return layer.transform_images(image[None], {"rotation_matrix": matrix})[0]


def _shear(image, shear_x_factor, shear_y_factor, fill_value, interpolation):
    factors = tf.cast(tf.stack([shear_x_factor, shear_y_factor]), tf.float32)[None]
    layer = _layer("shear", fill_value, interpolation)
    return layer.transform_images(image[None], {"shear_factor": factors})[0]


def shear_x(image, shear, fill_value=128.0, interpolation="nearest"):
    """Shears along x: input x = x + shear * y (PIL's AFFINE (1, shear, 0, 0, 1, 0))."""
    return _shear(image, shear, 0.0, fill_value, interpolation)


def shear_y(image, shear, fill_value=128.0, interpolation="nearest"):
    """Shears along y: input y = y + shear * x."""
    return _shear(image, 0.0, shear, fill_value, interpolation)


def _translate(image, pixels_x, pixels_y, fill_value, interpolation):
    translations = tf.cast(tf.stack([pixels_x, pixels_y]), tf.float32)[None]
    layer = _layer("translate", fill_value, interpolation)
    return layer.transform_images(image[None], {"translations": translations})[0]


def translate_x(image, pixels, fill_value=128.0, interpolation="nearest"):
    """Shifts the content `pixels` to the right (negative: left)."""
    return _translate(image, pixels, 0.0, fill_value, interpolation)


def translate_y(image, pixels, fill_value=128.0, interpolation="nearest"):
    """Shifts the content `pixels` down (negative: up)."""
    return _translate(image, 0.0, pixels, fill_value, interpolation)


def solarize(image, threshold):
    """Inverts the pixels >= `threshold` (256 leaves the image unchanged)."""
    transformation = {"thresholds": _scalar_as_4d(threshold), "additions": _scalar_as_4d(0.0)}
    return _layer("solarize").transform_images(image[None], transformation)[0]


def posterize(image, bits):
    """Keeps the `bits` most significant bits of each channel (1 <= bits <= 8)."""
    shift = tf.reshape(tf.cast(8 - tf.clip_by_value(bits, 1, 8), tf.uint8), [1])
    return _layer("posterize").transform_images(image[None], {"shift_factor": shift})[0]


def color(image, factor):
    """PIL `ImageEnhance.Color`: 0 gives grayscale, 1 the image, > 1 more saturation."""
    if image.shape[-1] != 3:
        return image  # A one-channel image is already gray.
    # RandomColorDegeneration blends toward gray by its factor: 1 - PIL's factor.
    transformation = {"factor": _scalar_as_4d(1.0 - tf.cast(factor, tf.float32))}
    return _layer("color").transform_images(image[None], transformation)[0]


def contrast(image, factor):
    """Contrast enhance: 0 gives the mean color, 1 the image (per-channel mean, Keras core)."""
    transformation = {"contrast_factor": _scalar_as_4d(factor)}
    return _layer("contrast").transform_images(image[None], transformation)[0]


def brightness(image, factor):
    """PIL `ImageEnhance.Brightness`: image * factor, clipped to [0, 255].

    Keras' RandomBrightness adds an offset instead of scaling, so this is the one op that
    is not delegated to a core layer.
    """
    return tf.clip_by_value(image * tf.cast(factor, tf.float32), 0.0, 255.0)


def sharpness(image, factor):
    """PIL `ImageEnhance.Sharpness`: 0 gives the smoothed image, 1 the image, 2 sharper."""
    # RandomSharpness doubles its sampled factor before blending; halve ours to match.
    transformation = {"factor": tf.reshape(tf.cast(factor, tf.float32) / 2.0, [1])}
    return _layer("sharpness").transform_images(image[None], transformation)[0]
