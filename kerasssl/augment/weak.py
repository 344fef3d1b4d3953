"""Weak augmentation: random horizontal flip and reflect-pad-and-crop, stateless and seeded."""

import tensorflow as tf

DEFAULT_PADDING_FRACTION = 0.125


def weak_augment(image, seed, padding=None, horizontal_flip: bool = True):
    """Flips an image left-right with probability 1/2, then translates it by reflect-padding and
    cropping back to its size: the "weak" view of FixMatch and the standard CIFAR augmentation.

    All randomness comes from `seed` through stateless ops, so the same image and seed always
    give the same output, eagerly or inside `tf.data.Dataset.map`.

    Args:
        image: [H, W, C] image, float32 in [0, 255] (other dtypes are cast to float32).
        seed: int32 or int64 tensor of shape [2], e.g. one element of
            `tf.data.Dataset.random(seed).batch(2)`.
        padding: pixels of reflect padding on every side; None means 12.5% of the height and
            width, rounded (4 px for 32x32, 1 px for 8x8). Must be smaller than the size.
        horizontal_flip: False to only translate (for data where mirroring changes the class,
            such as digits).

    Returns:
        float32 [H, W, C], the augmented image.

    Example:
    ```python
    dataset = dataset.map(weak_augment_example)  # calls weak_augment(image, seed)
    ```

    Reference:
        Sohn et al., FixMatch, NeurIPS 2020 (https://arxiv.org/abs/2001.07685).
    """
    image = tf.convert_to_tensor(image)
    if image.shape.rank != 3:
        raise ValueError(
            f"`image` must be one [H, W, C] image; got shape {image.shape}. Map weak_augment "
            "over a dataset of single images."
        )
    image = tf.cast(image, tf.float32)
    # Stateless ops give different streams for int32 and int64 seeds of equal value; one dtype
    # makes the output depend on the seed's value only.
    seed = tf.cast(seed, tf.int32)
    flip_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    if horizontal_flip:
        image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    shape = tf.shape(image)
    pad_height, pad_width = _padding(image, padding)
    padded = tf.pad(
        image, [[pad_height, pad_height], [pad_width, pad_width], [0, 0]], mode="REFLECT"
    )
    cropped = tf.image.stateless_random_crop(padded, shape, crop_seed)
    return tf.ensure_shape(cropped, image.shape)


def _padding(image, padding):
    """(pad_height, pad_width): static ints when the image shape is known."""
    height, width = image.shape[0], image.shape[1]
    if padding is not None:
        padding = int(padding)
        if padding < 0:
            raise ValueError(f"`padding` must be >= 0 pixels; got {padding}.")
        for size in (height, width):
            if size is not None and padding >= size:
                raise ValueError(
                    f"`padding`={padding} must be smaller than the image size {size} "
                    "(reflect padding needs it)."
                )
        return padding, padding
    if height is not None and width is not None:
        # floor(x + 0.5), not round(): Python rounds 3.5 to 4 but 2.5 to 2.
        return tuple(int(DEFAULT_PADDING_FRACTION * size + 0.5) for size in (height, width))
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    pads = tf.cast(tf.floor(DEFAULT_PADDING_FRACTION * size + 0.5), tf.int32)
    return pads[0], pads[1]
