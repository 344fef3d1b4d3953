"""CutMix on Keras core `CutMix`, with stateless seeds and exact area weights."""

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
def _core_cut_mix():
    # Only `transform_images`/`transform_labels` are used; the draws are ours (stateless).
    with tf.init_scope():
        layer = keras.layers.CutMix(dtype="float32")
    layer.backend.set_backend("tensorflow")
    return layer


class CutMix:
    """CutMix: a box of a random partner image is pasted in; labels mixed by pixel area.

    As in the paper, `lambda ~ Beta(alpha, alpha)`, the box has sides `sqrt(1 - lambda)` times
    the image's, a uniform center, and is clipped at the border; the label weight of the
    partner is the pasted pixel area / image area, counted on the actual mask (Keras core's
    own draw keeps boxes inside and weighs by the unrounded box). Pasting and label mixing
    are Keras core `keras.layers.CutMix`.

    Args:
        alpha: the Beta concentration, in (0, 100]; 1.0 in the paper.

    Call with `(images, labels, seed)`: images uint8 or float [B, H, W, C] in [0, 255], labels
    one-hot float [B, num_classes] (from class ids: `keras.ops.one_hot(labels, num_classes)`),
    seed an int or an integer tensor of shape [2]. Returns `(images, labels)` as float32.

    Example:
    ```python
    cut_mix = CutMix(alpha=1.0)
    images, soft_labels = cut_mix(images, keras.ops.one_hot(labels, 10), seed=0)
    ```

    Reference:
        Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with
        Localizable Features", ICCV 2019. https://arxiv.org/abs/1905.04899
    """

    def __init__(self, alpha=1.0):
        check_number(alpha, "alpha", 0, 100)
        if alpha == 0:
            raise ValueError("`alpha` must be > 0 (Beta(alpha, alpha)); received 0.")
        self.alpha = float(alpha)

    def __call__(self, images, labels, seed):
        images = to_float_images(images, ranks=(4,))
        labels = check_one_hot_labels(labels, batch_size=images.shape[0])
        transformation = self.sample(tf.shape(images), seed)
        layer = _core_cut_mix()
        return (
            layer.transform_images(images, transformation),
            layer.transform_labels(labels, transformation),
        )

    def sample(self, images_shape, seed):
        """The draws for one batch: permutation [B], boolean masks [B, H, W, C] (True where
        the partner's pixels go) and the kept weight [B] = 1 - masked fraction."""
        batch_size, height, width, channels = tf.unstack(images_shape)
        seeds = split_seed(to_seed(seed), 3)
        mix_weight = stateless_beta(tf.reshape(batch_size, [1]), seeds[0], self.alpha)
        centers = tf.random.stateless_uniform(tf.stack([batch_size, 2]), seeds[1])
        side_ratio = tf.sqrt(1.0 - mix_weight)
        rows = _box_mask(centers[:, 0], side_ratio, height)  # [B, H]
        columns = _box_mask(centers[:, 1], side_ratio, width)  # [B, W]
        masks = rows[:, :, None] & columns[:, None, :]
        pasted = tf.reduce_mean(tf.cast(masks, tf.float32), axis=[1, 2])
        masks = tf.tile(masks[..., None], tf.stack([1, 1, 1, channels]))
        return {
            "permutation_order": stateless_permutation(batch_size, seeds[2]),
            "batch_masks": masks,
            "mix_weight": 1.0 - pasted,
        }

    def get_config(self):
        return {"alpha": self.alpha}


def _box_mask(center_fraction, side_ratio, length):
    """[B, length] booleans: inside a box of side `side_ratio * length` around the center."""
    length_float = tf.cast(length, tf.float32)
    center = center_fraction * length_float
    half = side_ratio * length_float / 2.0
    start = tf.round(tf.maximum(center - half, 0.0))
    end = tf.round(tf.minimum(center + half, length_float))
    positions = tf.range(length_float)[None, :]
    return (positions >= start[:, None]) & (positions < end[:, None])
