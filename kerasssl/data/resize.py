"""Resizing uint8 image arrays, shared by the sources that take `image_size`."""

import numpy as np
import tensorflow as tf


def normalize_image_size(image_size) -> tuple[int, int] | None:
    """`None`, an int or a (height, width) pair -> `None` or (height, width)."""
    if image_size is None:
        return None
    if isinstance(image_size, int | np.integer):
        image_size = (image_size, image_size)
    try:
        height, width = (int(size) for size in image_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"`image_size` must be None, an int or a (height, width) pair; got {image_size!r}."
        ) from None
    if height < 1 or width < 1:
        raise ValueError(f"`image_size` must be positive; got {image_size!r}.")
    return height, width


def resize_image(image: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    """Resizes one or a batch of images to `image_size`, keeping uint8 values 0..255."""
    # Antialiasing keeps downscaled images close to what PIL's resize gives.
    resized = tf.image.resize(tf.cast(image, tf.float32), image_size, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def resize_images(images: np.ndarray, image_size, batch_size: int = 1024) -> np.ndarray:
    """Resizes a np.uint8 array [N, H, W, C] to `image_size`; a no-op when sizes match."""
    image_size = normalize_image_size(image_size)
    if image_size is None or tuple(images.shape[1:3]) == image_size:
        return images
    # Batches bound the float32 copy that tf.image.resize makes.
    chunks = [
        resize_image(images[start : start + batch_size], image_size).numpy()
        for start in range(0, len(images), batch_size)
    ]
    if not chunks:
        return np.zeros((0, *image_size, images.shape[-1]), np.uint8)
    return np.concatenate(chunks)
