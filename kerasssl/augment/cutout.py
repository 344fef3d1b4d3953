"""Cutout: a square patch of the image set to a constant."""

import tensorflow as tf

from kerasssl.augment.image_checks import check_number, to_float_images, to_seed
from kerasssl.augment.per_image import apply_per_image


class Cutout:
    """Cutout: sets a patch of `size_fraction` of each side, at a uniform center, to a value.

    The center is uniform over the whole image, so the patch may be cut by the border
    (DeVries & Taylor). Keras core `RandomErasing` draws a random area and aspect ratio kept
    inside the image, a different op (see `kerasssl.augment.RandomErasing`).

    Args:
        size_fraction: patch side as a fraction of the image side, in [0, 1]; 0.5 gives the
            16 x 16 patch used on CIFAR-10 by the paper and by FixMatch.
        fill_value: the patch value in [0, 255]; 128 (gray), as FixMatch/AutoAugment code.

    Call with `(images, seed)`: images uint8 or float [H, W, C] or [B, H, W, C] in [0, 255],
    seed an int or an integer tensor of shape [2]; returns float32 in [0, 255].

    Example:
    ```python
    cutout = Cutout(size_fraction=0.5)
    augmented = cutout(image, seed=0)
    ```

    Reference:
        DeVries & Taylor, "Improved Regularization of Convolutional Neural Networks with
        Cutout", 2017. https://arxiv.org/abs/1708.04552
    """

    def __init__(self, size_fraction=0.5, fill_value=128.0):
        self.size_fraction = float(check_number(size_fraction, "size_fraction", 0, 1))
        self.fill_value = float(check_number(fill_value, "fill_value", 0, 255))

    def __call__(self, images, seed):
        images = to_float_images(images)
        return apply_per_image(self.augment_image, images, to_seed(seed))

    def augment_image(self, image, seed):
        """Cutout on one float32 image [H, W, C] with a seed of shape [2]."""
        shape = tf.shape(image)
        centers = tf.random.stateless_uniform([2], seed)
        rows = _patch_mask(centers[0], self.size_fraction, shape[0])
        columns = _patch_mask(centers[1], self.size_fraction, shape[1])
        mask = rows[:, None, None] & columns[None, :, None]
        return tf.where(mask, tf.constant(self.fill_value, tf.float32), image)

    def get_config(self):
        return {"size_fraction": self.size_fraction, "fill_value": self.fill_value}


def _patch_mask(center_fraction, size_fraction, length):
    """[length] booleans, True on the patch of side round(size_fraction * length)."""
    length_float = tf.cast(length, tf.float32)
    size = tf.round(size_fraction * length_float)
    start = tf.floor(center_fraction * length_float) - tf.floor(size / 2.0)
    positions = tf.range(length_float)
    return (positions >= start) & (positions < start + size)
