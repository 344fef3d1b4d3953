"""Images/s of each augmentation in a tf.data pipeline vs. WRN-28-2 training, on this machine.

    .venv/bin/python tools/bench_augment.py                     # ~2 minutes on 2 CPU cores
    .venv/bin/python tools/bench_augment.py --ops=strong,weak --batches=20

Each pipeline is the realistic one: 32x32 uint8 images, per-image views mapped with
`num_parallel_calls=AUTOTUNE` and their own stateless seeds, batch 128, prefetch; mixing ops
run on batches of weak views. The first batches (tracing, warm-up) are excluded. WRN-28-2
(`kerasssl.models.wide_res_net.WideResNet`) is trained with `fit` at batch 128 on in-memory
data in the same process; the figure to watch is the ratio of the "strong" pipeline (FixMatch's
RandAugment + Cutout view) to that training throughput: >= 3 means training never waits.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from kerasssl.augment import RICAP, CutMix, MixUp, get_view  # noqa: E402
from kerasssl.augment.batch_mixing import mix_batches  # noqa: E402

_OPS = flags.DEFINE_list(
    "ops",
    [
        "identity",
        "weak",
        "randaugment",
        "strong",
        "autoaugment_cifar10",
        "cutout",
        "random_erasing",
        "keras_rand_augment_batched",
        "mix_up",
        "cut_mix",
        "ricap",
    ],
    "Pipelines to time: view names, keras_rand_augment_batched, mix_up, cut_mix, ricap.",
)
_BATCH = flags.DEFINE_integer("batch_size", 128, "Batch size.")
_BATCHES = flags.DEFINE_integer("batches", 30, "Timed batches per pipeline.")
_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 5, "Timed WRN-28-2 steps per epoch.")
_NUM_EXAMPLES = 4096
_MIXINGS = {"mix_up": MixUp(alpha=1.0), "cut_mix": CutMix(alpha=1.0), "ricap": RICAP(beta=0.3)}


def _images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (_NUM_EXAMPLES, 32, 32, 3)).astype(np.uint8)


def _view_pipeline(images, view, batch_size):
    """Per-image `view(image, seed)`, then batch and prefetch (the kerasssl pipeline shape)."""

    def augment(image, seed):
        return view(tf.cast(image, tf.float32), tf.cast(seed, tf.int32))

    seeds = tf.data.Dataset.random(seed=0).batch(2)
    dataset = tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices(images).repeat(), seeds)
    dataset = dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size, drop_remainder=True)


def _pipeline(name, images, batch_size):
    if name in _MIXINGS:
        labels = np.arange(_NUM_EXAMPLES) % 10
        weak = _view_pipeline(images, get_view("weak"), batch_size)
        labeled = tf.data.Dataset.zip(
            weak, tf.data.Dataset.from_tensor_slices(labels).repeat().batch(batch_size)
        )
        dataset = mix_batches(labeled, _MIXINGS[name], num_classes=10, seed=0)
    elif name == "keras_rand_augment_batched":
        # Keras core's layer on whole batches: one op set per batch, every op computed.
        layer = keras.layers.RandAugment(value_range=(0, 255), num_ops=2, seed=0)

        def rand_augment_batch(batch):
            return layer(tf.cast(batch, tf.float32))

        dataset = tf.data.Dataset.from_tensor_slices(images).repeat().batch(batch_size)
        dataset = dataset.map(rand_augment_batch, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = _view_pipeline(images, get_view(name), batch_size)
    return dataset.prefetch(tf.data.AUTOTUNE)


def measure_pipeline(name, images, batch_size, batches):
    iterator = iter(_pipeline(name, images, batch_size))
    for _ in range(5):  # Tracing and the AUTOTUNE ramp-up.
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def measure_training(batch_size, steps):
    """WRN-28-2 `fit` throughput (images/s) on in-memory data, warm-up epoch excluded."""
    try:
        from kerasssl.models.wide_res_net import WideResNet
    except ImportError as error:  # The models helper's module is missing.
        raise SystemExit(f"kerasssl.models.wide_res_net is needed: {error}") from error
    keras.utils.set_random_seed(0)
    model = WideResNet(depth=28, width=2, num_classes=10)
    model.compile(
        optimizer=keras.optimizers.SGD(0.03, momentum=0.9, nesterov=True),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch_size, 32, 32, 3)).astype(np.float32)
    labels = rng.integers(0, 10, batch_size)
    dataset = tf.data.Dataset.from_tensors((images, labels)).repeat()

    class Timer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    timer = Timer()
    model.fit(dataset, epochs=3, steps_per_epoch=steps, callbacks=[timer], shuffle=False, verbose=0)
    return steps * batch_size / min(timer.seconds[1:])


def main(argv):
    del argv
    batch_size = _BATCH.value
    images = _images()
    print(
        f"tf {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} CPU cores, "
        f"batch {batch_size}, 32x32x3"
    )
    throughputs = {}
    for name in _OPS.value:
        throughputs[name] = measure_pipeline(name, images, batch_size, _BATCHES.value)
        print(f"  {name:28s} {throughputs[name]:9.0f} img/s", flush=True)
    training = measure_training(batch_size, _TRAIN_STEPS.value)
    print(f"  {'WRN-28-2 training (fit)':28s} {training:9.0f} img/s")
    if "strong" in throughputs:
        print(
            f"strong (RandAugment + Cutout) pipeline / WRN-28-2 training = "
            f"{throughputs['strong'] / training:.1f}x (target >= 3)"
        )
    if "randaugment" in throughputs:
        print(
            f"randaugment pipeline / WRN-28-2 training = "
            f"{throughputs['randaugment'] / training:.1f}x"
        )


if __name__ == "__main__":
    app.run(main)
