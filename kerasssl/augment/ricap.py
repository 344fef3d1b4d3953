"""RICAP: random image cropping and patching, labels mixed by patch area."""

import tensorflow as tf

from kerasssl.augment.image_checks import (
    check_number,
    check_one_hot_labels,
    split_seed,
    to_float_images,
    to_seed,
)
from kerasssl.augment.stateless_random import stateless_beta, stateless_permutation


class RICAP:
    """RICAP: four images cropped around a random boundary point and patched into one.

    Per batch, a boundary point `(w, h) = (round(W * Beta(beta, beta)), round(H * ...))`
    splits the output into four regions (top-left w x h, top-right, bottom-left,
    bottom-right); region k is filled with a crop of that size from a random permutation k
    of the batch, at a random position. Each label is the sum of the four partners' one-hot
    labels weighted by their region's area / image area, so it sums to 1. As in the
    authors' code, the boundary and crop positions are shared by the batch.

    Args:
        beta: the Beta concentration of the boundary point, in (0, 100]; 0.3 in the paper.

    Call with `(images, labels, seed)`: images uint8 or float [B, H, W, C] in [0, 255], labels
    one-hot float [B, num_classes] (from class ids: `keras.ops.one_hot(labels, num_classes)`),
    seed an int or an integer tensor of shape [2]. Returns `(images, labels)` as float32.

    Example:
    ```python
    ricap = RICAP(beta=0.3)
    images, soft_labels = ricap(images, keras.ops.one_hot(labels, 10), seed=0)
    ```

    Reference:
        Takahashi et al., "Data Augmentation using Random Image Cropping and Patching for
        Deep CNNs", IEEE TCSVT 2020 (ACML 2018). https://arxiv.org/abs/1811.09030
    """

    def __init__(self, beta=0.3):
        check_number(beta, "beta", 0, 100)
        if beta == 0:
            raise ValueError("`beta` must be > 0 (Beta(beta, beta)); received 0.")
        self.beta = float(beta)

    def __call__(self, images, labels, seed):
        images = to_float_images(images, ranks=(4,))
        labels = check_one_hot_labels(labels, batch_size=images.shape[0])
        batch_size, height, width = tf.unstack(tf.shape(images)[:3])
        seeds = split_seed(to_seed(seed), 6)
        boundary = stateless_beta([2], seeds[0], self.beta)
        boundary_height = tf.cast(tf.round(tf.cast(height, tf.float32) * boundary[0]), tf.int32)
        boundary_width = tf.cast(tf.round(tf.cast(width, tf.float32) * boundary[1]), tf.int32)
        rest_height = height - boundary_height
        patch_heights = tf.stack([boundary_height, boundary_height, rest_height, rest_height])
        patch_widths = tf.stack([boundary_width, width - boundary_width] * 2)
        # Crop offsets, uniform over the valid positions of each patch.
        offset_draws = tf.random.stateless_uniform([4, 2], seeds[1])
        offsets_y = _uniform_offsets(offset_draws[:, 0], height - patch_heights)
        offsets_x = _uniform_offsets(offset_draws[:, 1], width - patch_widths)
        patches, mixed_labels = [], 0.0
        area = tf.cast(height * width, tf.float32)
        for k in range(4):
            order = stateless_permutation(batch_size, seeds[2 + k])
            partners = tf.gather(images, order)
            patches.append(
                tf.slice(
                    partners,
                    tf.stack([0, offsets_y[k], offsets_x[k], 0]),
                    tf.stack([-1, patch_heights[k], patch_widths[k], -1]),
                )
            )
            weight = tf.cast(patch_heights[k] * patch_widths[k], tf.float32) / area
            mixed_labels += weight * tf.gather(labels, order)
        top = tf.concat(patches[:2], axis=2)
        bottom = tf.concat(patches[2:], axis=2)
        mixed_images = tf.concat([top, bottom], axis=1)
        mixed_images.set_shape(images.shape)
        return mixed_images, mixed_labels

    def get_config(self):
        return {"beta": self.beta}


def _uniform_offsets(draws, max_offsets):
    """Integers uniform in [0, max_offset] from uniform [0, 1) draws."""
    offsets = tf.cast(draws * tf.cast(max_offsets + 1, tf.float32), tf.int32)
    return tf.minimum(offsets, max_offsets)
