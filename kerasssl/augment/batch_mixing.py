"""Applies a mixing op (MixUp, CutMix, RICAP) to every batch of a tf.data pipeline."""

import tensorflow as tf

from kerasssl.augment.image_checks import check_number


def mix_batches(dataset, mixing, num_classes, seed, start_step=0):
    """Maps `mixing(images, one_hot_labels, batch_seed)` over batches `(images, labels)`.

    Integer class-id labels are one-hot encoded first; float labels are taken as one-hot (or
    already soft). Batch `b` gets its own stateless seed from `tf.data.Dataset.random(seed)`,
    so the mixed stream is reproducible.

    Args:
        dataset: batched `tf.data.Dataset` of `(images [B, H, W, C], labels [B] or [B, K])`,
            e.g. `kerasssl.data.pipelines.supervised_dataset(...)`.
        mixing: a `MixUp`, `CutMix` or `RICAP` (any `(images, labels, seed) -> (images,
            labels)`).
        num_classes: K, for one-hot encoding class ids.
        seed: int seed of the per-batch seeds.
        start_step: batches already consumed by an interrupted run; the seeds continue from
            there, so a resumed run mixes exactly as an uninterrupted one.

    Example:
    ```python
    train = mix_batches(supervised_dataset(data, 128, True, seed=0), CutMix(), 10, seed=1)
    ```
    """
    check_number(num_classes, "num_classes", 2, 2**31 - 1, integer=True)
    check_number(seed, "seed", 0, 2**63 - 1, integer=True)
    if not callable(mixing):
        raise TypeError(f"`mixing` must be callable (images, labels, seed); got {mixing!r}.")

    def mix_batch(batch, batch_seed):
        images, labels = batch
        if labels.dtype.is_integer:
            labels = tf.one_hot(labels, num_classes, dtype=tf.float32)
        return mixing(images, labels, batch_seed)

    check_number(start_step, "start_step", 0, 2**63 - 1, integer=True)
    seeds = tf.data.Dataset.random(seed=seed).batch(2).skip(start_step)
    return tf.data.Dataset.zip(dataset, seeds).map(
        mix_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
