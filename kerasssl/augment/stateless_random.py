"""Stateless random draws the mixing ops need and `tf.random` lacks: Beta and permutations."""

import tensorflow as tf

from kerasssl.augment.image_checks import split_seed


def stateless_beta(shape, seed, alpha):
    """Samples Beta(alpha, alpha) as G1 / (G1 + G2) with G1, G2 ~ Gamma(alpha).

    For tiny `alpha` both gammas can underflow to 0 in float32; Beta(alpha, alpha) then tends
    to a fair coin on {0, 1}, which is what those draws get.
    """
    seeds = split_seed(seed, 3)
    first = tf.random.stateless_gamma(shape, seeds[0], alpha=alpha)
    second = tf.random.stateless_gamma(shape, seeds[1], alpha=alpha)
    total = first + second
    coin = tf.round(tf.random.stateless_uniform(shape, seeds[2]))
    return tf.where(total > 0, first / tf.where(total > 0, total, 1.0), coin)


def stateless_permutation(size, seed):
    """A random permutation of range(size) (int32), reproducible from `seed`."""
    return tf.argsort(tf.random.stateless_uniform(tf.reshape(size, [1]), seed))
