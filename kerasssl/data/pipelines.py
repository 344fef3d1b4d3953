"""tf.data pipelines: supervised batches and zipped labeled + unlabeled batches with views.

Training streams are pure functions of `seed` and the position in the stream: element p of an
endless stream is example `index_shuffle(p mod N)` of epoch p // N (a fresh stateless
permutation per epoch), and each of its views is augmented with the seed
[key(seed, stream, view), p] (equivalent to zipping in `tf.data.Dataset.random(seed)`, but
independent of TensorFlow's global seed). So two iterations of the same pipeline give identical
batches and nothing has to be saved to reproduce a run. Work is done per batch (one gather,
then the views per image inside `tf.map_fn`), which is about twice as fast as a per-example
`Dataset.map` for 32x32 images. Images leave the pipelines as float32 in [0, 255].
"""

import numpy as np
import tensorflow as tf

from kerasssl.augment.views import get_view
from kerasssl.data.batch_stream import (
    LABELED_STREAM,
    UNLABELED_STREAM,
    BatchStream,
    endless_dataset,
    ordered_image_batches,
    resolve_view,
)
from kerasssl.data.image_data import ImageData

AUTOTUNE = tf.data.AUTOTUNE


def supervised_dataset(
    data: ImageData,
    batch_size: int,
    training: bool,
    seed: int = 0,
    augment="weak",
    drop_remainder=None,
    start_step: int = 0,
) -> tf.data.Dataset:
    """Batches of `(images, labels)` for `model.fit` / `model.evaluate`.

    Args:
        data: an `ImageData`; a `ShardedImageData` (config.data.source="shards") is read
            from its shards a batch at a time, by the same stateless index shuffle.
        batch_size: examples per batch.
        training: True: reshuffle every epoch (seeded), repeat forever, augment each image with
            its own seed, batch, prefetch (pass `steps_per_epoch` to `fit`). False: one pass in
            the stored order, no augmentation.
        seed: seed of the shuffle and of the augmentation.
        augment: training only; a view name (see `kerasssl.augment.views.list_views()`, e.g.
            "weak", "weak_no_flip"), a callable `view(image, seed) -> image`, or None.
        drop_remainder: evaluation only (default False): drop a last partial batch. Training
            streams are endless, so all their batches are full.
        start_step: training only; index of the first batch. A run resumed at step k that
            passes k continues the exact stream of batches it would have seen.

    Returns:
        A `tf.data.Dataset` of (float32 [B, H, W, C] in [0, 255], int64 [B]).

    Example:
    ```python
    train = supervised_dataset(data["train"], 128, training=True, seed=0)
    model.fit(train, steps_per_epoch=len(data["train"]) // 128, epochs=10)
    ```
    """
    _check_image_data(data, "data")
    _check_positive_int(batch_size, "batch_size")
    if not training:
        if hasattr(data.images, "gather"):
            return _streamed_eval_dataset(data, batch_size, bool(drop_remainder))
        dataset = tf.data.Dataset.from_tensor_slices((data.images, data.labels))
        dataset = dataset.batch(batch_size, drop_remainder=bool(drop_remainder))
        return dataset.map(_cast_images, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
    view = resolve_view(augment)
    stream = BatchStream(
        data.images, data.labels, {"image": view}, batch_size, seed, LABELED_STREAM
    )

    def make_batch(step):
        batch = stream.batch(step)
        return batch["image"], batch["label"]

    return endless_dataset(make_batch, start_step)


def semi_supervised_dataset(
    labeled: ImageData,
    unlabeled,
    batch_size: int,
    unlabeled_ratio: int = 7,
    views=("weak", "strong"),
    seed: int = 0,
    labeled_view="weak",
    include_unlabeled_labels: bool = False,
    start_step: int = 0,
    include_unlabeled_indices: bool = False,
) -> tf.data.Dataset:
    """Endless batches `(x, y)` of labeled images zipped with views of unlabeled images.

    `x` is a dict: "labeled" float32 [B, H, W, C] (augmented with `labeled_view`), and for each
    name in `views` "unlabeled_<view>" float32 [B * unlabeled_ratio, H, W, C]: the same
    unlabeled images under that view, each view with its own augmentation seed; with
    `include_unlabeled_labels`, also "unlabeled_labels" int64 [B * unlabeled_ratio] (for
    monitoring pseudo-label accuracy only); with `include_unlabeled_indices`, also
    "unlabeled_index" int64 [B * unlabeled_ratio] (each image's position in `unlabeled`, for
    per-image state such as FlexMatch's). `y` is the labeled labels int64 [B]. Both streams
    reshuffle every epoch and repeat forever, so pass `steps_per_epoch` to `fit`.

    Args:
        labeled: `ImageData` of the labeled examples.
        unlabeled: `ImageData` (labels ignored unless `include_unlabeled_labels`; a
            `ShardedImageData` streams from its shards) or a np.uint8 array [N, H, W, C] (or
            `ShardImages`) of unlabeled images.
        batch_size: labeled examples per batch, B.
        unlabeled_ratio: unlabeled examples per labeled one (FixMatch's mu), an int >= 1.
        views: names of the unlabeled views (see `kerasssl.augment.views`).
        seed: seed of both shuffles and all augmentations.
        labeled_view: view name (or callable, or None) for the labeled images.
        include_unlabeled_labels: add the unlabeled images' true labels to `x`.
        start_step: index of the first batch (see `supervised_dataset`).
        include_unlabeled_indices: add the unlabeled images' positions in `unlabeled` to `x`.

    Returns:
        A `tf.data.Dataset` of `(x, y)`.

    Example:
    ```python
    labeled, unlabeled = labeled_unlabeled_split(data.labels, 25, seed=0)
    dataset = semi_supervised_dataset(
        data.subset(labeled), data.subset(unlabeled), 64, unlabeled_ratio=7,
        views=("weak", "strong"),
    )
    ```

    Reference:
        Sohn et al., FixMatch, NeurIPS 2020 (https://arxiv.org/abs/2001.07685).
    """
    _check_image_data(labeled, "labeled")
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(unlabeled_ratio, "unlabeled_ratio")
    if isinstance(unlabeled, ImageData):
        unlabeled_images, unlabeled_labels = unlabeled.images, unlabeled.labels
    elif (
        isinstance(unlabeled, np.ndarray) and unlabeled.dtype == np.uint8 and unlabeled.ndim == 4
    ) or hasattr(unlabeled, "gather"):
        if include_unlabeled_labels:
            raise ValueError(
                "`include_unlabeled_labels=True` needs `unlabeled` as an ImageData with labels; "
                "got a bare image array."
            )
        unlabeled_images = unlabeled
        unlabeled_labels = np.full(len(unlabeled), -1, np.int64)
    else:
        raise TypeError(
            "`unlabeled` must be an ImageData or a np.uint8 array [N, H, W, C]; got "
            f"{type(unlabeled).__name__}."
        )
    if len(unlabeled_images) == 0:
        raise ValueError("`unlabeled` is empty; pass at least one unlabeled image.")
    if unlabeled_images.shape[1:] != labeled.images.shape[1:]:
        raise ValueError(
            f"`labeled` images are {labeled.images.shape[1:]} but `unlabeled` images are "
            f"{unlabeled_images.shape[1:]}; load both at the same image_size."
        )
    if isinstance(views, str):
        views = (views,)
    views = tuple(views)
    if not views or len(set(views)) != len(views):
        raise ValueError(f"`views` must be a non-empty tuple of distinct view names; got {views}.")
    unlabeled_views = {f"unlabeled_{name}": get_view(name) for name in views}
    labeled_augment = resolve_view(labeled_view)

    labeled_stream = BatchStream(
        labeled.images,
        labeled.labels,
        {"labeled": labeled_augment},
        batch_size,
        seed,
        LABELED_STREAM,
    )
    unlabeled_stream = BatchStream(
        unlabeled_images,
        unlabeled_labels,
        unlabeled_views,
        batch_size * unlabeled_ratio,
        seed,
        UNLABELED_STREAM,
    )

    def make_batch(step):
        labeled_batch = labeled_stream.batch(step)
        unlabeled_batch = unlabeled_stream.batch(step)
        inputs = {"labeled": labeled_batch["labeled"]}
        for key in unlabeled_views:
            inputs[key] = unlabeled_batch[key]
        if include_unlabeled_labels:
            inputs["unlabeled_labels"] = unlabeled_batch["label"]
        if include_unlabeled_indices:
            inputs["unlabeled_index"] = unlabeled_batch["index"]
        return inputs, labeled_batch["label"]

    return endless_dataset(make_batch, start_step)


def _streamed_eval_dataset(data, batch_size, drop_remainder):
    """One pass in stored order over shard-backed images, read a batch at a time."""
    images = ordered_image_batches(data.images, batch_size, drop_remainder)
    labels = tf.data.Dataset.from_tensor_slices(data.labels)
    labels = labels.batch(batch_size, drop_remainder=drop_remainder)
    return tf.data.Dataset.zip((images, labels)).prefetch(AUTOTUNE)


def _cast_images(images, labels):
    return tf.cast(images, tf.float32), labels


def _check_image_data(data, name):
    if not isinstance(data, ImageData):
        raise TypeError(
            f"`{name}` must be an ImageData (see kerasssl.data.load_dataset / load_arrays); "
            f"got {type(data).__name__}."
        )
    if len(data) == 0:
        raise ValueError(f"`{name}` is empty.")


def _check_positive_int(value, name):
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be an int >= 1; got {value!r}.")
