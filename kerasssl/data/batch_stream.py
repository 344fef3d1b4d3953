"""Seeded, stateless batch streams: the building block of every training pipeline."""

import numpy as np
import tensorflow as tf

from kerasssl.augment.views import get_view

AUTOTUNE = tf.data.AUTOTUNE
# Stream ids of the labeled and unlabeled streams of one run: distinct ids, independent shuffles.
LABELED_STREAM, UNLABELED_STREAM = 0, 1


class BatchStream:
    """An endless, reshuffled, augmented stream of one image array, read a batch at a time.

    `batch(step)` is a pure function of (seed, stream, step): element p of the stream is
    example `index_shuffle(p mod N)` of epoch p // N, a fresh stateless permutation per epoch,
    and each view of it is augmented with the seed [key(seed, stream, view), p]. So a stream
    read again from any step gives the same batches, and a resumed run needs no saved state.

    Args:
        images: uint8 or float array [N, H, W, C], or a random-access source with `gather`
            and `shape` (a `kerasssl.data.shard_images.ShardImages`: each batch is read
            from the shards, so memory holds batches, not the data set). The stream is the
            same pure function of (seed, stream, step) for both.
        labels: int array [N] (or positions into a side table the caller gathers from).
        views: dict of output name -> view callable `(image, seed) -> image`, or None for the
            image unchanged.
        batch_size: examples per batch.
        seed: run seed.
        stream: an int that keeps streams of one run (and their shuffles) independent.

    Example:
        >>> stream = BatchStream(images, labels, {"weak": get_view("weak")}, 64, seed=0, stream=0)
        >>> dataset = endless_dataset(stream.batch)
    """

    def __init__(self, images, labels, views, batch_size, seed, stream):
        self.num_examples = len(images)
        self.batch_size = batch_size
        self.gather_images = image_gatherer(images)
        self.image_shape = tuple(images.shape[1:])
        self.labels = tf.constant(labels, tf.int64)
        self.views = tuple(views.items())
        # One 32-bit key per (seed, stream, view), well mixed, the same on every platform.
        keys = np.random.SeedSequence([int(seed) % 2**63, stream]).generate_state(
            len(self.views) + 1, np.uint32
        )
        self.shuffle_key = int(keys[0].astype(np.int32))
        self.view_keys = tuple(int(key) for key in keys[1:].astype(np.int32))

    def batch(self, step):
        """{"label": int64 [B], "index": int64 [B] (positions in `images`), view name: float32
        [B, H, W, C] for each view} at `step`."""
        positions = step * self.batch_size + tf.range(self.batch_size, dtype=tf.int64)
        epochs = positions // self.num_examples
        key = tf.fill(tf.shape(epochs), tf.constant(self.shuffle_key, tf.int64))
        # The raw op: the tf.random.experimental wrapper mis-pads batched [n, 2] seeds.
        indices = tf.raw_ops.RandomIndexShuffle(
            index=positions % self.num_examples,
            seed=tf.stack([key, epochs, tf.zeros_like(epochs)], axis=1),
            max_index=tf.constant(self.num_examples - 1, tf.int64),
            rounds=4,
        )
        images = self.gather_images(indices)
        batch = {"label": tf.gather(self.labels, indices), "index": indices}
        if all(view is None for _, view in self.views):
            for name, _ in self.views:
                batch[name] = tf.cast(images, tf.float32)
            return batch
        # int64 -> int32 wraps around; views are promised int32 [2] seeds.
        element_seeds = tf.cast(positions, tf.int32)
        image_spec = tf.TensorSpec(self.image_shape, tf.float32)

        def augment_image(example):
            image, element_seed = example
            image = tf.cast(image, tf.float32)
            outputs = []
            for (_, view), view_key in zip(self.views, self.view_keys, strict=True):
                if view is None:
                    outputs.append(image)
                else:
                    outputs.append(view(image, tf.stack([tf.constant(view_key), element_seed])))
            return tuple(outputs)

        outputs = tf.map_fn(
            augment_image,
            (images, element_seeds),
            fn_output_signature=tuple(image_spec for _ in self.views),
        )
        for (name, _), output in zip(self.views, outputs, strict=True):
            batch[name] = output
        return batch


def image_gatherer(images):
    """`gather(indices) -> images at int64 indices` (a tensor), graph-safe.

    A random-access source (`ShardImages`) reads those images from its shards; an array is
    held as one constant. Streams and evaluation passes read both through this one function,
    so an array source and its shards give the same tensors.
    """
    if hasattr(images, "gather"):
        return images.gather
    constant = tf.constant(images)
    return lambda indices: tf.gather(constant, indices)


def ordered_image_batches(images, batch_size, drop_remainder=False):
    """One pass over `images` in stored order: float32 batches [b, ...], the last maybe short.

    Args:
        images: an array [N, ...] or a random-access source with `gather` (`ShardImages`:
            read a batch at a time, so memory holds batches, not the data set).
        batch_size: images per batch, an int >= 1.
        drop_remainder: drop a last partial batch.

    Both kinds of `images` run the same graph (a gather of `tf.range` indices, whose batch
    size is not static), so a model predicts the same floats on an array and on its shards:
    DivideMix's per-epoch co-divide relies on it.
    """
    integer = isinstance(batch_size, int | np.integer) and not isinstance(batch_size, bool)
    if not integer or batch_size < 1:
        raise ValueError(f"`batch_size` must be an int >= 1; got {batch_size!r}.")
    gather, count = image_gatherer(images), len(images)
    stop = count - count % batch_size if drop_remainder else count

    def read_batch(start):
        indices = tf.range(start, tf.minimum(start + batch_size, count), dtype=tf.int64)
        return tf.cast(gather(indices), tf.float32)

    dataset = tf.data.Dataset.range(0, stop, batch_size)
    dataset = dataset.map(read_batch, num_parallel_calls=AUTOTUNE, deterministic=True)
    # As Keras' adapter of an array passed to `predict`: workers of a cluster split batches.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def endless_dataset(make_batch, start_step=0):
    """`make_batch(step)` for step = start_step, start_step + 1, ..., as a prefetched dataset."""
    if not isinstance(start_step, int | np.integer) or start_step < 0:
        raise ValueError(f"`start_step` must be an int >= 0; got {start_step!r}.")
    dataset = tf.data.Dataset.counter(start=int(start_step)).map(
        make_batch, num_parallel_calls=AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(AUTOTUNE)


def resolve_view(augment):
    """A view callable from a view name, a callable, or None (no augmentation)."""
    if augment is None:
        return None
    if callable(augment):
        return augment
    if isinstance(augment, str):
        return get_view(augment)
    raise TypeError(f"`augment` must be a view name, a callable or None; got {augment!r}.")
