"""Input checks shared by the augmentation ops: images, seeds, ranges and one-hot labels.

Every op converts its inputs here so bad input fails early with a message naming the
argument and the fix, instead of deep inside a TensorFlow kernel.
"""

import tensorflow as tf


def to_float_images(images, ranks=(3, 4), name="images"):
    """Returns `images` as float32 (values kept, [0, 255] by convention); checks the rank.

    Args:
        images: uint8 or float tensor/array, [H, W, C] or [B, H, W, C].
        ranks: the accepted ranks.
        name: the argument name used in error messages.
    """
    images = tf.convert_to_tensor(images)
    if not (images.dtype.is_integer or images.dtype.is_floating):
        raise TypeError(
            f"`{name}` must be uint8 or float (values in [0, 255]); received dtype "
            f"{images.dtype.name}."
        )
    rank = images.shape.rank
    if rank not in ranks:
        expected = " or ".join(
            "[H, W, C]" if accepted == 3 else "[B, H, W, C]" for accepted in ranks
        )
        raise ValueError(
            f"`{name}` must have shape {expected} (rank {' or '.join(map(str, ranks))}); "
            f"received shape {images.shape}. Add or remove the batch axis, e.g. "
            "`images[None]` or `tf.expand_dims(image, -1)` for a grayscale [H, W] image."
        )
    if images.shape[-1] is None:
        raise ValueError(
            f"`{name}` needs a known channel count (last axis); received shape {images.shape}. "
            "Call `images.set_shape([..., channels])` or `tf.ensure_shape` first."
        )
    return tf.cast(images, tf.float32)


def to_seed(seed, name="seed"):
    """Returns a stateless-op seed: int32/int64 tensor of shape [2].

    A Python int `s` becomes `[s, 0]`, so eager calls can pass a plain integer.
    """
    if isinstance(seed, bool):
        raise TypeError(f"`{name}` must be an int or an integer tensor of shape [2]; got a bool.")
    if isinstance(seed, int):
        return tf.constant([seed, 0], dtype=tf.int64)
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer or seed.shape.rank != 1 or seed.shape[0] not in (2, None):
        raise ValueError(
            f"`{name}` must be an int or an integer tensor of shape [2] (e.g. two elements of "
            f"`tf.data.Dataset.random(seed).batch(2)`); received {seed.dtype.name} "
            f"tensor of shape {seed.shape}."
        )
    if seed.dtype not in (tf.int32, tf.int64):
        seed = tf.cast(seed, tf.int64)
    return seed


def split_seed(seed, num):
    """`num` independent stateless seeds derived from `seed`, shape [num, 2].

    `num` may be a tensor (a dynamic batch size), unlike `stateless_split`.
    """
    return tf.random.stateless_uniform(
        tf.stack([num, 2]), seed=seed, minval=None, maxval=None, dtype=tf.int32
    )


def check_number(value, name, low, high, integer=False):
    """Raises ValueError/TypeError unless `low <= value <= high` (and an int if `integer`)."""
    kind = "an int" if integer else "a number"
    valid_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not valid_type:
        raise TypeError(f"`{name}` must be {kind} in [{low}, {high}]; received {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}]; received {value!r}.")
    return value


def check_one_hot_labels(labels, batch_size=None, name="labels"):
    """Returns float32 labels [B, num_classes]; mixing ops need one-hot (or soft) labels."""
    labels = tf.convert_to_tensor(labels)
    how_to_convert = (
        f"convert sparse class ids with `keras.ops.one_hot({name}, num_classes)` (float32), "
        "e.g. `dataset.map(to_one_hot)` with a named function, before mixing"
    )
    if not labels.dtype.is_floating:
        raise TypeError(
            f"`{name}` must be one-hot float labels of shape [B, num_classes]; received dtype "
            f"{labels.dtype.name} with shape {labels.shape}: {how_to_convert}."
        )
    if labels.shape.rank != 2 or labels.shape[-1] is None or labels.shape[-1] < 2:
        raise ValueError(
            f"`{name}` must be one-hot float labels of shape [B, num_classes]; received shape "
            f"{labels.shape}: {how_to_convert}."
        )
    if batch_size is not None and labels.shape[0] is not None and labels.shape[0] != batch_size:
        raise ValueError(
            f"`{name}` has {labels.shape[0]} rows but `images` has {batch_size}; pass the "
            "labels of the same batch."
        )
    return tf.cast(labels, tf.float32)
