"""RandAugment with the paper's per-image op choice, for tf.data pipelines."""

import tensorflow as tf

from kerasssl.augment import image_ops, op_switch
from kerasssl.augment.image_checks import check_number, to_float_images, to_seed
from kerasssl.augment.per_image import apply_per_image

# The 14 candidate transformations of the RandAugment paper (Sec. 3), in its order.
RAND_AUGMENT_OPS = image_ops.OP_NAMES[:14]
MAX_MAGNITUDE = 30  # The paper's grid goes to 30; Noisy Student uses M = 27 on ImageNet.


class RandAugment:
    """RandAugment: `num_ops` ops drawn uniformly per image, each at magnitude `magnitude`.

    Every image draws its own ops (and op directions), as in the paper; Keras'
    `keras.layers.RandAugment` draws one op set per batch and computes all candidate ops,
    whereas here `tf.switch_case` runs only the chosen ones. The pixel work is done by Keras
    core preprocessing layers (see `kerasssl.augment.image_ops`).

    Magnitudes follow the AutoAugment ranges, `magnitude / 10` of each range's maximum
    (rotate 30 degrees, shear 0.3, translate `translate_fraction` of the side, solarize
    threshold 256 -> 0, posterize 8 -> 4 bits, enhance factor 1 +/- 0.9 with a random sign).

    Args:
        num_ops: N, the number of ops applied in sequence to each image (1 to 10).
        magnitude: M in [0, 30]; 10 is the AutoAugment maximum.
        random_magnitude: if True, each op draws its magnitude uniformly from [0, M]
            (the FixMatch / UDA variant) instead of using M.
        ops: the candidate op names (default the paper's 14, `RAND_AUGMENT_OPS`).
        translate_fraction: translation at magnitude 10, as a fraction of the image side.
        fill_value: value of the pixels uncovered by geometric ops (128, the reference code).
        interpolation: "nearest" (the reference code) or "bilinear".

    Call with `(images, seed)`: images uint8 or float [H, W, C] or [B, H, W, C] with values in
    [0, 255], seed an int or an integer tensor of shape [2]; returns float32 in [0, 255].

    Example:
    ```python
    rand_augment = RandAugment(num_ops=2, magnitude=10)

    def augment(image, seed):
        return rand_augment(image, seed)

    seeds = tf.data.Dataset.random(seed=0).batch(2)
    dataset = tf.data.Dataset.zip(images, seeds).map(augment)
    ```

    Reference:
        Cubuk et al., "RandAugment: Practical automated data augmentation with a reduced
        search space", CVPR Workshops 2020. https://arxiv.org/abs/1909.13719
    """

    def __init__(
        self,
        num_ops=2,
        magnitude=10.0,
        random_magnitude=False,
        ops=RAND_AUGMENT_OPS,
        translate_fraction=150 / 331,
        fill_value=128.0,
        interpolation="nearest",
    ):
        self.num_ops = check_number(num_ops, "num_ops", 1, 10, integer=True)
        self.magnitude = float(check_number(magnitude, "magnitude", 0, MAX_MAGNITUDE))
        if not isinstance(random_magnitude, bool):
            raise TypeError(f"`random_magnitude` must be a bool; received {random_magnitude!r}.")
        self.random_magnitude = random_magnitude
        self.ops = op_switch.check_op_names(ops, "ops")
        self.translate_fraction = float(
            check_number(translate_fraction, "translate_fraction", 0, 1)
        )
        self.fill_value = float(check_number(fill_value, "fill_value", 0, 255))
        if interpolation not in image_ops.INTERPOLATIONS:
            raise ValueError(
                f"`interpolation` must be one of {image_ops.INTERPOLATIONS}; "
                f"received {interpolation!r}."
            )
        self.interpolation = interpolation

    def __call__(self, images, seed):
        images = to_float_images(images)
        return apply_per_image(self.augment_image, images, to_seed(seed))

    def sample_ops(self, seed):
        """The random choices for one image: op indices into `self.ops` [N], levels [N]
        (magnitude / 10) and signs [N] (+1 or -1)."""
        draws = tf.random.stateless_uniform([self.num_ops, 3], seed=to_seed(seed))
        indices = tf.minimum(tf.cast(draws[:, 0] * len(self.ops), tf.int32), len(self.ops) - 1)
        level = tf.fill([self.num_ops], self.magnitude / 10.0)
        if self.random_magnitude:
            level = level * draws[:, 1]
        signs = tf.where(draws[:, 2] < 0.5, -1.0, 1.0)
        return indices, level, signs

    def apply_ops(self, image, indices, levels, signs):
        """Applies the ops chosen by `sample_ops` to one float32 image [H, W, C]."""
        for position in range(self.num_ops):
            image = op_switch.switch_op(
                self.ops,
                indices[position],
                image,
                levels[position],
                signs[position],
                enhance_mode="signed",
                translate_fraction=self.translate_fraction,
                fill_value=self.fill_value,
                interpolation=self.interpolation,
            )
        return image

    def augment_image(self, image, seed):
        """RandAugment on one float32 image [H, W, C] with a seed of shape [2]."""
        return self.apply_ops(image, *self.sample_ops(seed))

    def get_config(self):
        return {
            "num_ops": self.num_ops,
            "magnitude": self.magnitude,
            "random_magnitude": self.random_magnitude,
            "ops": list(self.ops),
            "translate_fraction": self.translate_fraction,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
        }
