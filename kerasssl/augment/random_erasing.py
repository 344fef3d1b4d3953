"""Random erasing on Keras core `RandomErasing`, with the paper's draw and stateless seeds."""

import functools

import keras
import tensorflow as tf

from kerasssl.augment.image_checks import check_number, to_float_images, to_seed
from kerasssl.augment.per_image import apply_per_image


@functools.cache
def _core_random_erasing():
    # Only `transform_images` is used: the layer's draw comes from a stateful SeedGenerator,
    # and it samples each side's fraction independently instead of area and aspect ratio.
    with tf.init_scope():
        layer = keras.layers.RandomErasing(value_range=(0, 255), dtype="float32")
    layer.backend.set_backend("tensorflow")
    return layer


class RandomErasing:
    """Random erasing: with `probability`, a random rectangle of the image is overwritten.

    As in Algorithm 1 of the paper, the rectangle's area is a uniform fraction in `area` of the
    image and its aspect ratio (height / width) is uniform in `aspect_ratio`; its sides are
    clipped to the image and its position is uniform among those that keep it inside (the
    paper redraws until it fits). The overwrite is Keras core `keras.layers.RandomErasing`.

    Args:
        probability: chance of erasing each image, in [0, 1]; 0.5 in the paper.
        area: (low, high) fractions of the image area, 0 < low <= high <= 1; (0.02, 0.4).
        aspect_ratio: (low, high) with 0 < low <= high; (0.3, 1 / 0.3).
        fill_value: "random" (each erased pixel uniform in [0, 255], the paper's best) or a
            number in [0, 255].

    Call with `(images, seed)`: images uint8 or float [H, W, C] or [B, H, W, C] in [0, 255],
    seed an int or an integer tensor of shape [2]; returns float32 in [0, 255].

    Example:
    ```python
    random_erasing = RandomErasing(probability=0.5)
    augmented = random_erasing(images, seed=0)
    ```

    Reference:
        Zhong et al., "Random Erasing Data Augmentation", AAAI 2020.
        https://arxiv.org/abs/1708.04896
    """

    def __init__(
        self, probability=0.5, area=(0.02, 0.4), aspect_ratio=(0.3, 1 / 0.3), fill_value="random"
    ):
        self.probability = float(check_number(probability, "probability", 0, 1))
        self.area = _check_interval(area, "area", 1.0)
        self.aspect_ratio = _check_interval(aspect_ratio, "aspect_ratio", 100.0)
        if isinstance(fill_value, str) and fill_value != "random":
            raise ValueError(
                f'`fill_value` must be "random" or a number in [0, 255]; received {fill_value!r}.'
            )
        if fill_value != "random":
            check_number(fill_value, "fill_value", 0, 255)
            fill_value = float(fill_value)
        self.fill_value = fill_value

    def __call__(self, images, seed):
        images = to_float_images(images)
        return apply_per_image(self.augment_image, images, to_seed(seed))

    def augment_image(self, image, seed):
        """Random erasing on one float32 image [H, W, C] with a seed of shape [2]."""
        shape = tf.shape(image)
        height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
        draws = tf.random.stateless_uniform([5], seed)
        area = (self.area[0] + (self.area[1] - self.area[0]) * draws[0]) * height * width
        ratio = self.aspect_ratio[0] + (self.aspect_ratio[1] - self.aspect_ratio[0]) * draws[1]
        patch_height = tf.clip_by_value(tf.round(tf.sqrt(area * ratio)), 1.0, height)
        patch_width = tf.clip_by_value(tf.round(tf.sqrt(area / ratio)), 1.0, width)
        top = tf.floor(draws[2] * (height - patch_height + 1.0))
        left = tf.floor(draws[3] * (width - patch_width + 1.0))
        rows = tf.range(height)
        columns = tf.range(width)
        inside_rows = (rows >= top) & (rows < top + patch_height)
        inside_columns = (columns >= left) & (columns < left + patch_width)
        mask = inside_rows[:, None, None] & inside_columns[None, :, None]
        mask = mask & tf.ones(shape, tf.bool)
        if self.fill_value == "random":
            fill = tf.random.stateless_uniform(
                shape, tf.random.experimental.stateless_fold_in(seed, 1), maxval=255.0
            )
        else:
            fill = tf.fill(shape, self.fill_value)
        transformation = {
            "batch_masks": mask[None],
            "apply_erasing": (draws[4] < self.probability)[None],
            "fill_value": fill[None],
        }
        return _core_random_erasing().transform_images(image[None], transformation)[0]

    def get_config(self):
        return {
            "probability": self.probability,
            "area": list(self.area),
            "aspect_ratio": list(self.aspect_ratio),
            "fill_value": self.fill_value,
        }


def _check_interval(interval, name, high):
    message = f"`{name}` must be a pair (low, high) with 0 < low <= high <= {high}"
    try:
        low, upper = (float(value) for value in interval)
    except (TypeError, ValueError):
        raise ValueError(f"{message}; received {interval!r}.") from None
    if not 0 < low <= upper <= high:
        raise ValueError(f"{message}; received {interval!r}.")
    return (low, upper)
