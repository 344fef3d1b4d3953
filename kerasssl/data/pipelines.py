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
from kerasssl.data.image_data import ImageData

AUTOTUNE = tf.data.AUTOTUNE
# Stream ids keep the labeled and unlabeled streams (and their shuffles) independent.
_LABELED_STREAM, _UNLABELED_STREAM = 0, 1


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
        data: an `ImageData`.
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
        dataset = tf.data.Dataset.from_tensor_slices((data.images, data.labels))
        dataset = dataset.batch(batch_size, drop_remainder=bool(drop_remainder))
        return dataset.map(_cast_images, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
    view = _resolve_view(augment)
    stream = _Stream(data.images, data.labels, {"image": view}, batch_size, seed, _LABELED_STREAM)

    def make_batch(step):
        batch = stream.batch(step)
        return batch["image"], batch["label"]

    return _endless(make_batch, start_step)


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
) -> tf.data.Dataset:
    """Endless batches `(x, y)` of labeled images zipped with views of unlabeled images.

    `x` is a dict: "labeled" float32 [B, H, W, C] (augmented with `labeled_view`), and for each
    name in `views` "unlabeled_<view>" float32 [B * unlabeled_ratio, H, W, C]: the same
    unlabeled images under that view, each view with its own augmentation seed; with
    `include_unlabeled_labels`, also "unlabeled_labels" int64 [B * unlabeled_ratio] (for
    monitoring pseudo-label accuracy only). `y` is the labeled labels int64 [B]. Both streams
    reshuffle every epoch and repeat forever, so pass `steps_per_epoch` to `fit`.

    Args:
        labeled: `ImageData` of the labeled examples.
        unlabeled: `ImageData` (labels ignored unless `include_unlabeled_labels`) or a np.uint8
            array [N, H, W, C] of unlabeled images.
        batch_size: labeled examples per batch, B.
        unlabeled_ratio: unlabeled examples per labeled one (FixMatch's mu), an int >= 1.
        views: names of the unlabeled views (see `kerasssl.augment.views`).
        seed: seed of both shuffles and all augmentations.
        labeled_view: view name (or callable, or None) for the labeled images.
        include_unlabeled_labels: add the unlabeled images' true labels to `x`.
        start_step: index of the first batch (see `supervised_dataset`).

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
    elif isinstance(unlabeled, np.ndarray) and unlabeled.dtype == np.uint8 and unlabeled.ndim == 4:
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
    labeled_augment = _resolve_view(labeled_view)

    labeled_stream = _Stream(
        labeled.images,
        labeled.labels,
        {"labeled": labeled_augment},
        batch_size,
        seed,
        _LABELED_STREAM,
    )
    unlabeled_stream = _Stream(
        unlabeled_images,
        unlabeled_labels,
        unlabeled_views,
        batch_size * unlabeled_ratio,
        seed,
        _UNLABELED_STREAM,
    )

    def make_batch(step):
        labeled_batch = labeled_stream.batch(step)
        unlabeled_batch = unlabeled_stream.batch(step)
        inputs = {"labeled": labeled_batch["labeled"]}
        for key in unlabeled_views:
            inputs[key] = unlabeled_batch[key]
        if include_unlabeled_labels:
            inputs["unlabeled_labels"] = unlabeled_batch["label"]
        return inputs, labeled_batch["label"]

    return _endless(make_batch, start_step)


class _Stream:
    """An endless, reshuffled, augmented stream of one image array, read a batch at a time."""

    def __init__(self, images, labels, views, batch_size, seed, stream):
        self.num_examples = len(images)
        self.batch_size = batch_size
        self.images = tf.constant(images)
        self.labels = tf.constant(labels, tf.int64)
        self.views = tuple(views.items())
        # One 32-bit key per (seed, stream, view), well mixed, the same on every platform.
        keys = np.random.SeedSequence([int(seed) % 2**63, stream]).generate_state(
            len(self.views) + 1, np.uint32
        )
        self.shuffle_key = int(keys[0].astype(np.int32))
        self.view_keys = tuple(int(key) for key in keys[1:].astype(np.int32))

    def batch(self, step):
        """{"label": int64 [B], view name: float32 [B, H, W, C] for each view} at `step`."""
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
        images = tf.gather(self.images, indices)
        batch = {"label": tf.gather(self.labels, indices)}
        if all(view is None for _, view in self.views):
            for name, _ in self.views:
                batch[name] = tf.cast(images, tf.float32)
            return batch
        # int64 -> int32 wraps around; views are promised int32 [2] seeds.
        element_seeds = tf.cast(positions, tf.int32)
        image_spec = tf.TensorSpec(self.images.shape[1:], tf.float32)

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


def _endless(make_batch, start_step):
    if not isinstance(start_step, int | np.integer) or start_step < 0:
        raise ValueError(f"`start_step` must be an int >= 0; got {start_step!r}.")
    dataset = tf.data.Dataset.counter(start=int(start_step)).map(
        make_batch, num_parallel_calls=AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(AUTOTUNE)


def _cast_images(images, labels):
    return tf.cast(images, tf.float32), labels


def _resolve_view(augment):
    if augment is None:
        return None
    if callable(augment):
        return augment
    if isinstance(augment, str):
        return get_view(augment)
    raise TypeError(f"`augment` must be a view name, a callable or None; got {augment!r}.")


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
