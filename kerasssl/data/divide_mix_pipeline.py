"""tf.data streams for DivideMix: warm-up batches and per-epoch labeled/unlabeled batches.

Both networks train in the same step on their own batches, so every element is a dict with
one part per network (see `kerasssl.algorithms.divide_mix.DivideMix`). Streams reuse the
stateless, seeded `BatchStream` of `kerasssl.data.batch_stream`: a stream is a pure function of its
seed and its step, so a run resumed at an epoch boundary sees the batches it would have seen.
A `ShardedImageData` (config.data.source="shards") is read from its shards a batch at a time:
the per-epoch splits are index views of it (`subset`), so memory holds the labels, the split
indices and the clean probabilities (a few numbers per image), never the images.
"""

import numpy as np
import tensorflow as tf

from kerasssl.augment.views import get_view
from kerasssl.data.batch_stream import BatchStream, endless_dataset
from kerasssl.data.image_data import ImageData
from kerasssl.noisy_labels.co_divide import divide

# Stream ids, distinct from pipelines' 0/1 so no stream repeats another's shuffle.
_WARMUP_STREAMS = (10, 11)
_LABELED_STREAMS = (20, 21)
_UNLABELED_STREAMS = (30, 31)
NUM_VIEWS = 2  # M of the paper


def warmup_dataset(data, batch_size, seed=0, augment="weak", start_step=0):
    """Endless dicts {"images_k": float32 [B, H, W, C], "labels_k": int64 [B]} for k = 1, 2.

    Each network gets its own shuffle of all (noisy) labeled data; `data` is an `ImageData`
    or a `ShardedImageData` (read from its shards a batch at a time).
    """
    _check(data, batch_size)
    view = get_view(augment)
    streams = [
        BatchStream(data.images, data.labels, {"images": view}, batch_size, seed, stream)
        for stream in _WARMUP_STREAMS
    ]

    def make_batch(step):
        batch = {}
        for index, stream in enumerate(streams, start=1):
            part = stream.batch(step)
            batch[f"images_{index}"] = part["images"]
            batch[f"labels_{index}"] = part["label"]
        return batch

    return endless_dataset(make_batch, start_step)


def divide_mix_dataset(
    data, clean_probabilities, threshold, batch_size, seed=0, epoch=0, augment="weak"
):
    """Endless DivideMix batches for one epoch, and the set sizes.

    Args:
        data: `ImageData` with the noisy labels, or a `ShardedImageData` (each network's
            labeled and unlabeled sets are then views of the shards, read a batch at a time).
        clean_probabilities: [w for network 1, w for network 2]: network k trains on the split
            given by its own entry (pass the *other* network's co-divide output).
        threshold: tau; w >= tau is labeled (empty sets fall back, with a warning).
        batch_size: B labeled and B unlabeled examples per network and step.
        seed, epoch: the streams are seeded by both, so every epoch reshuffles its new sets.
        augment: view name of the M = 2 augmentations (each view its own seed).

    Returns:
        (dataset, sizes) where dataset yields dicts with, for k = 1, 2,
        "labeled_k_view_1", "labeled_k_view_2", "labels_k", "clean_probability_k",
        "unlabeled_k_view_1", "unlabeled_k_view_2"; sizes = {"labeled_size_k", ...}.
    """
    _check(data, batch_size)
    if len(clean_probabilities) != 2:
        raise ValueError(f"clean_probabilities must hold 2 arrays; got {len(clean_probabilities)}.")
    view = get_view(augment)
    views = {f"view_{index}": view for index in range(1, NUM_VIEWS + 1)}
    epoch_seed = int(np.random.SeedSequence([int(seed) % 2**63, int(epoch)]).generate_state(1)[0])
    parts, sizes = [], {}
    for index, clean_probability in enumerate(clean_probabilities, start=1):
        clean_probability = np.asarray(clean_probability, np.float32)
        if clean_probability.shape != (len(data),):
            raise ValueError(
                f"clean_probabilities[{index - 1}] must have shape ({len(data)},); got "
                f"{clean_probability.shape}."
            )
        labeled, unlabeled = divide(clean_probability, threshold)
        sizes[f"labeled_size_{index}"] = len(labeled)
        sizes[f"unlabeled_size_{index}"] = len(unlabeled)
        # Streams carry positions; labels and w are gathered from these tables. `subset` copies
        # an in-memory array's images but only narrows a shard view (nothing is read here).
        labeled_stream = BatchStream(
            data.subset(labeled).images,
            np.arange(len(labeled)),
            views,
            batch_size,
            epoch_seed,
            _LABELED_STREAMS[index - 1],
        )
        unlabeled_stream = BatchStream(
            data.subset(unlabeled).images,
            np.arange(len(unlabeled)),
            views,
            batch_size,
            epoch_seed,
            _UNLABELED_STREAMS[index - 1],
        )
        parts.append(
            (
                labeled_stream,
                unlabeled_stream,
                tf.constant(data.labels[labeled], tf.int64),
                tf.constant(clean_probability[labeled], tf.float32),
            )
        )

    def make_batch(step):
        batch = {}
        for index, (labeled_stream, unlabeled_stream, labels, weights) in enumerate(parts, 1):
            labeled_part = labeled_stream.batch(step)
            unlabeled_part = unlabeled_stream.batch(step)
            for view_name in views:
                batch[f"labeled_{index}_{view_name}"] = labeled_part[view_name]
                batch[f"unlabeled_{index}_{view_name}"] = unlabeled_part[view_name]
            batch[f"labels_{index}"] = tf.gather(labels, labeled_part["label"])
            batch[f"clean_probability_{index}"] = tf.gather(weights, labeled_part["label"])
        return batch

    return endless_dataset(make_batch, 0), sizes


def _check(data, batch_size):
    if not isinstance(data, ImageData):
        raise TypeError(f"data must be an ImageData; got {type(data).__name__}.")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}.")
