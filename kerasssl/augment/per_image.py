"""Runs a one-image augmentation on an image or on each image of a batch."""

import tensorflow as tf

from kerasssl.augment.image_checks import split_seed


def apply_per_image(function, images, seed):
    """`function(image, seed)` on [H, W, C], or on each image of [B, H, W, C] with its own seed.

    Image `i` of a batch gets seed `split_seed(seed, B)[i]`, so a batch and a `Dataset.map`
    over single images give the same result when they are fed the same per-image seeds.
    """
    if images.shape.rank == 3:
        return function(images, seed)
    seeds = split_seed(seed, tf.shape(images)[0])
    return tf.map_fn(
        _unpack_and_call(function),
        (images, seeds),
        fn_output_signature=tf.TensorSpec(images.shape[1:], tf.float32),
    )


def _unpack_and_call(function):
    def call_on_pair(image_and_seed):
        image, seed = image_and_seed
        return function(image, seed)

    return call_on_pair
