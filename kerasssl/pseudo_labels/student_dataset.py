"""The student's input stream: labeled batches zipped with pseudo-labeled batches."""

import numpy as np
import tensorflow as tf

from kerasssl.data.batch_stream import (
    LABELED_STREAM,
    BatchStream,
    endless_dataset,
    resolve_view,
)
from kerasssl.data.image_data import ImageData
from kerasssl.pseudo_labels.selection import Selection

# Ids 0 and 1 are the labeled/unlabeled streams of kerasssl.data.batch_stream.
_PSEUDO_STREAM = 2


def student_dataset(
    labeled,
    pool_images,
    selection,
    batch_size,
    unlabeled_ratio=1,
    labeled_view="strong",
    pseudo_view="strong",
    seed=0,
    start_step=0,
):
    """Endless `(x, y)` batches for `NoisyStudent`, reproducible and resumable at `start_step`.

    `x` = {"labeled": float32 [B, H, W, C], "pseudo_labeled": float32 [B * ratio, H, W, C],
    "pseudo_targets": float32 [B * ratio, num_classes] (soft) or int64 [B * ratio] (hard)},
    `y` = int64 [B] labels. Both streams reshuffle every epoch (seeded) and are augmented with
    their view, e.g. "strong" (RandAugment) as the noised student sees them.

    Args:
        labeled: `ImageData` of the labeled set.
        pool_images: np.uint8 [N, H, W, C], the unlabeled pool the selection indexes, or a
            `ShardImages` (`data.unlabeled.images` of a shards source): then neither the pool
            nor the selected images are held in memory; they are read by position (each an
            image id, `pool_images.ids()`) from the shards, a batch at a time.
        selection: a `Selection` (soft or hard targets). Soft targets held by reference (a
            `ProbabilityRows`) are read from the labeling job's shards a batch at a time, the
            same values as in memory.
        batch_size: labeled images per batch, B.
        unlabeled_ratio: pseudo-labeled images per labeled one (Noisy Student uses 14 or 28
            on ImageNet), an int >= 1.
        labeled_view / pseudo_view: view names (see `kerasssl.augment.views`) or None.
        seed: seed of the shuffles and augmentations.
        start_step: index of the first batch (pass completed epochs x steps when resuming).
    """
    if not isinstance(selection, Selection) or len(selection) == 0:
        raise ValueError("selection must be a non-empty Selection: no pseudo-label was selected.")
    if not isinstance(labeled, ImageData):
        raise TypeError(f"labeled must be an ImageData, got {type(labeled).__name__}.")
    labeled_stream = BatchStream(
        labeled.images,
        labeled.labels,
        {"labeled": resolve_view(labeled_view)},
        batch_size,
        seed,
        LABELED_STREAM,
    )
    # The pseudo stream carries row numbers as its "labels"; targets are gathered from them.
    # A shard-backed pool is narrowed to the selection without reading it: the stream reads
    # the selected images from the shards a batch at a time.
    if hasattr(pool_images, "gather"):
        selected_images = pool_images.take(selection.indices)
    else:
        selected_images = np.asarray(pool_images)[selection.indices]
    pseudo_stream = BatchStream(
        selected_images,
        np.arange(len(selection), dtype=np.int64),
        {"pseudo_labeled": resolve_view(pseudo_view)},
        batch_size * unlabeled_ratio,
        seed,
        _PSEUDO_STREAM,
    )
    # Targets by reference (`ProbabilityRows`) are read a batch at a time, as shard images are.
    if hasattr(selection.targets, "gather"):
        gather_targets = selection.targets.gather
    else:
        targets = tf.constant(selection.targets)

        def gather_targets(positions):
            return tf.gather(targets, positions)

    def make_batch(step):
        labeled_batch = labeled_stream.batch(step)
        pseudo_batch = pseudo_stream.batch(step)
        inputs = {
            "labeled": labeled_batch["labeled"],
            "pseudo_labeled": pseudo_batch["pseudo_labeled"],
            "pseudo_targets": gather_targets(pseudo_batch["label"]),
        }
        return inputs, labeled_batch["label"]

    if not isinstance(unlabeled_ratio, int | np.integer) or unlabeled_ratio < 1:
        raise ValueError(f"unlabeled_ratio must be an int >= 1, got {unlabeled_ratio!r}.")
    return endless_dataset(make_batch, start_step)
