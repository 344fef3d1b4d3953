"""The one-image ops: eager and tf.data agree, neutral arguments are the identity, and the
pixel ops match PIL (which the AutoAugment / RandAugment reference code used)."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageEnhance, ImageOps

from kerasssl.augment import image_ops, op_switch

# (op, argument) pairs with a visible effect.
OPS_WITH_ARGUMENTS = [
    (image_ops.identity, None),
    (image_ops.auto_contrast, None),
    (image_ops.equalize, None),
    (image_ops.invert, None),
    (image_ops.rotate, 20.0),
    (image_ops.shear_x, 0.2),
    (image_ops.shear_y, -0.2),
    (image_ops.translate_x, 5.0),
    (image_ops.translate_y, -5.0),
    (image_ops.solarize, 100.0),
    (image_ops.posterize, 3),
    (image_ops.color, 0.3),
    (image_ops.contrast, 1.6),
    (image_ops.brightness, 1.5),
    (image_ops.sharpness, 1.8),
]


def _apply(op, argument, image):
    return op(image) if argument is None else op(image, argument)


def test_every_op_eager_equals_dataset_map(images, in_dataset):
    image = tf.constant(images[0], tf.float32)

    def all_ops(graph_image):
        return tuple(_apply(op, argument, graph_image) for op, argument in OPS_WITH_ARGUMENTS)

    graph = in_dataset(all_ops, image)
    for (op, argument), graph_output in zip(OPS_WITH_ARGUMENTS, graph, strict=True):
        eager = _apply(op, argument, image)
        assert eager.shape == (32, 32, 3) and eager.dtype == tf.float32, op.__name__
        assert 0.0 <= float(tf.reduce_min(eager)), op.__name__
        assert float(tf.reduce_max(eager)) <= 255.0, op.__name__
        np.testing.assert_allclose(eager, graph_output, atol=1e-4, err_msg=op.__name__)


def test_every_op_on_grayscale(images):
    image = tf.constant(images[0, :8, :8, :1], tf.float32)
    for op, argument in OPS_WITH_ARGUMENTS:
        assert _apply(op, argument, image).shape == (8, 8, 1), op.__name__


NEUTRAL_ARGUMENTS = [
    (image_ops.rotate, 0.0),
    (image_ops.shear_x, 0.0),
    (image_ops.translate_y, 0.0),
    (image_ops.solarize, 256.0),
    (image_ops.posterize, 8),
    (image_ops.color, 1.0),
    (image_ops.contrast, 1.0),
    (image_ops.brightness, 1.0),
    (image_ops.sharpness, 1.0),
]


def test_neutral_argument_is_identity(images):
    image = tf.constant(images[1], tf.float32)
    for op, neutral in NEUTRAL_ARGUMENTS:
        np.testing.assert_allclose(op(image, neutral), image, atol=1e-3, err_msg=op.__name__)


@pytest.mark.parametrize(
    "op, argument, pil_op, tolerance",
    [
        (image_ops.auto_contrast, None, ImageOps.autocontrast, 0.0),
        (image_ops.invert, None, ImageOps.invert, 0.0),
        (image_ops.solarize, 100.0, lambda im: ImageOps.solarize(im, 100), 0.0),
        (image_ops.posterize, 3, lambda im: ImageOps.posterize(im, 3), 0.0),
        (
            image_ops.translate_x,
            5.0,
            lambda im: im.transform(
                im.size, Image.AFFINE, (1, 0, -5, 0, 1, 0), fillcolor=(128,) * 3
            ),
            0.0,
        ),
        (image_ops.color, 0.3, lambda im: ImageEnhance.Color(im).enhance(0.3), 1.0),
        (image_ops.brightness, 1.5, lambda im: ImageEnhance.Brightness(im).enhance(1.5), 1.0),
        (image_ops.rotate, 20.0, lambda im: im.rotate(20, fillcolor=(128,) * 3), 1.0),
    ],
    ids=[
        "auto_contrast",
        "invert",
        "solarize",
        "posterize",
        "translate",
        "color",
        "brightness",
        "rotate",
    ],
)
def test_op_matches_pil(op, argument, pil_op, tolerance, images):
    expected = np.asarray(pil_op(Image.fromarray(images[2])), np.float32)
    actual = np.asarray(_apply(op, argument, tf.constant(images[2], tf.float32)))
    # Mean absolute difference: rounding and resampling differ by a pixel here and there.
    assert np.abs(actual - expected).mean() <= tolerance


def test_sharpness_matches_pil_inside_the_border(images):
    expected = np.asarray(ImageEnhance.Sharpness(Image.fromarray(images[3])).enhance(1.8))
    actual = np.asarray(image_ops.sharpness(tf.constant(images[3], tf.float32), 1.8))
    # PIL leaves the one-pixel border unfiltered.
    np.testing.assert_allclose(actual[1:-1, 1:-1], expected[1:-1, 1:-1], atol=1.5)


def test_apply_op_maps_level_to_ranges(images):
    image = tf.constant(images[0], tf.float32)
    # level 1 (magnitude 10): solarize threshold 0 inverts everything.
    np.testing.assert_allclose(op_switch.apply_op("solarize", image, 1.0, 1.0), 255.0 - image)
    # level 1: posterize keeps 4 bits.
    np.testing.assert_allclose(
        op_switch.apply_op("posterize", image, 1.0, 1.0), image_ops.posterize(image, 4)
    )
    # AutoAugment's enhance mapping: level 0.5 is the identity; the signed one: level 0.
    np.testing.assert_allclose(
        op_switch.apply_op("color", image, 0.5, 1.0, enhance_mode="autoaugment"),
        image,
        atol=1e-3,
    )
    np.testing.assert_allclose(
        op_switch.apply_op("contrast", image, 0.0, -1.0, enhance_mode="signed"), image, atol=1e-3
    )


def test_switch_op_runs_the_indexed_op(images):
    image = tf.constant(images[0], tf.float32)
    names = ("identity", "invert")
    np.testing.assert_allclose(op_switch.switch_op(names, 1, image, 0.0, 1.0), 255.0 - image)
    np.testing.assert_allclose(op_switch.switch_op(names, 0, image, 0.0, 1.0), image)


def test_unknown_op_name_raises():
    with pytest.raises(ValueError, match="unknown op"):
        op_switch.check_op_names(["rotate", "blur"], "ops")
