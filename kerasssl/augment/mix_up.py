"""mixup on Keras core `MixUp`, with stateless seeds for tf.data."""

import functools

import keras
import tensorflow as tf

from kerasssl.augment.image_checks import (
    check_number,
    check_one_hot_labels,
    split_seed,
    to_float_images,
    to_seed,
)
from kerasssl.augment.stateless_random import stateless_beta, stateless_permutation


@functools.cache
def _core_mix_up():
    # Only `transform_images`/`transform_labels` are used: the layer's own draws come from a
    # stateful SeedGenerator, which is not reproducible per element under a parallel map.
    with tf.init_scope():
        layer = keras.layers.MixUp(dtype="float32")
    layer.backend.set_backend("tensorflow")
    return layer


class MixUp:
    """mixup: each image is blended with a random partner of the batch, labels alike.

    Image `i` becomes `w_i * x_i + (1 - w_i) * x_perm(i)` with `w_i ~ Beta(alpha, alpha)`, and
    its label the same blend of the one-hot labels, so labels stay soft and sum to 1. The
    blending is Keras core `keras.layers.MixUp`; the draws are stateless, from `seed`.

    Args:
        alpha: the Beta concentration, in (0, 100]. 0.2 for ImageNet, 1.0 for CIFAR
            (Zhang et al.), 4.0 in DivideMix, 0.75 in MixMatch.

    Call with `(images, labels, seed)`: images uint8 or float [B, H, W, C] in [0, 255], labels
    one-hot float [B, num_classes] (from class ids: `keras.ops.one_hot(labels, num_classes)`),
    seed an int or an integer tensor of shape [2]. Returns `(images, labels)` as float32.

    Example:
    ```python
    mix_up = MixUp(alpha=1.0)
    images, soft_labels = mix_up(images, keras.ops.one_hot(labels, 10), seed=0)
    ```

    Reference:
        Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018.
        https://arxiv.org/abs/1710.09412
    """

    def __init__(self, alpha=0.2):
        check_number(alpha, "alpha", 0, 100)
        if alpha == 0:
            raise ValueError("`alpha` must be > 0 (Beta(alpha, alpha)); received 0.")
        self.alpha = float(alpha)

    def __call__(self, images, labels, seed):
        images = to_float_images(images, ranks=(4,))
        labels = check_one_hot_labels(labels, batch_size=images.shape[0])
        transformation = self.sample(tf.shape(images)[0], seed)
        layer = _core_mix_up()
        mixed_images = layer.transform_images(images, transformation)
        # w * a + (1 - w) * b can round a hair past 255 in float32.
        mixed_images = tf.clip_by_value(mixed_images, 0.0, 255.0)
        return mixed_images, layer.transform_labels(labels, transformation)

    def sample(self, batch_size, seed):
        """The draws for one batch: {"mix_weight": [B], "permutation_order": [B]}."""
        seeds = split_seed(to_seed(seed), 2)
        return {
            "mix_weight": stateless_beta(tf.reshape(batch_size, [1]), seeds[0], self.alpha),
            "permutation_order": stateless_permutation(batch_size, seeds[1]),
        }

    def get_config(self):
        return {"alpha": self.alpha}
