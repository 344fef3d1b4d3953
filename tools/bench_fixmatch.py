"""Cost of one FixMatch step against supervised steps on the same images, in one process.

    nice .venv/bin/python tools/bench_fixmatch.py --model=wrn_28_2 --batch_size=64 \
        --unlabeled_ratio=7 --rounds=4 --steps=2

One FixMatch step runs the network forward and backward on B + 2 mu B images (960 at the
paper's B = 64, mu = 7). Its ideal cost is that of a supervised step on as many images, i.e.
960 x the supervised per-image forward + backward time. The tool times both through `fit` on
in-memory batches (no input pipeline), interleaved round by round (supervised, then FixMatch)
so that load from other processes hits both alike, drops the first round (tracing, oneDNN
warm-up) and prints the median seconds per step of each and their ratio (target <= 1.1).
The supervised reference runs at batch (1 + 2 mu) B, the same tensor shapes as FixMatch's
concatenated batch; `--supervised_batch_size` measures the per-image time at another batch.
Both use coupled L2 5e-4 and SGD with Nesterov momentum; FixMatch also keeps an EMA (0.999).
"""

import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    """The command-line flags, defined when run as a script (importing defines none: tests
    load several tools in one process, and absl flags are global)."""
    flags.DEFINE_string("model", "wrn_28_2", "Model preset (kerasssl.models.list_models()).")
    flags.DEFINE_integer("batch_size", 64, "Labeled images per FixMatch step, B.")
    flags.DEFINE_integer("unlabeled_ratio", 7, "mu: unlabeled images per labeled one.")
    flags.DEFINE_integer(
        "supervised_batch_size", 0, "Batch of the supervised reference (0: (1 + 2 mu) B)."
    )
    flags.DEFINE_integer("rounds", 4, "Interleaved rounds; the first is a warm-up.")
    flags.DEFINE_integer("steps", 2, "Steps of each method per round.")
    flags.DEFINE_integer("image_size", 32, "Square input size.")


class StepTimer:
    """Seconds of each training step (fit's batch callbacks; the steps run synchronously)."""

    def __init__(self):
        import keras

        timer = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                timer.start = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                timer.seconds.append(time.perf_counter() - timer.start)

        self.seconds = []
        self.callback = Callback()


def build(model_name, batch_size, ratio, supervised_batch, image_size):
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasssl.algorithms.fix_match import FixMatch
    from kerasssl.algorithms.supervised import Supervised
    from kerasssl.models import get_model

    keras.utils.set_random_seed(0)
    shape = (image_size, image_size, 3)
    rng = np.random.default_rng(0)

    def images(count):
        return rng.uniform(0, 255, (count, *shape)).astype("float32")

    def optimizer(**kwargs):
        return keras.optimizers.SGD(0.03, momentum=0.9, nesterov=True, **kwargs)

    unlabeled = batch_size * ratio
    fix_match = FixMatch(
        get_model(model_name, num_classes=10, input_shape=shape),
        unlabeled_ratio=ratio,
        l2_weight_decay=5e-4,
    )
    fix_match.compile(optimizer=optimizer(use_ema=True, ema_momentum=0.999))
    fix_match_batch = (
        {
            "labeled": images(batch_size),
            "unlabeled_weak": images(unlabeled),
            "unlabeled_strong": images(unlabeled),
        },
        rng.integers(0, 10, batch_size),
    )
    supervised = Supervised(
        get_model(model_name, num_classes=10, input_shape=shape), l2_weight_decay=5e-4
    )
    supervised.compile(optimizer=optimizer())
    supervised_batch = (images(supervised_batch), rng.integers(0, 10, supervised_batch))
    return {
        "supervised": (supervised, tf.data.Dataset.from_tensors(supervised_batch).repeat()),
        "fixmatch": (fix_match, tf.data.Dataset.from_tensors(fix_match_batch).repeat()),
    }


def measure(model_name, batch_size, ratio, supervised_batch, rounds, steps, image_size):
    images_per_step = batch_size * (1 + 2 * ratio)
    supervised_batch = supervised_batch or images_per_step
    runs = build(model_name, batch_size, ratio, supervised_batch, image_size)
    seconds = {name: [] for name in runs}
    for round_index in range(rounds):
        for name, (algorithm, dataset) in runs.items():
            timer = StepTimer()
            algorithm.fit(
                dataset,
                steps_per_epoch=steps,
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[timer.callback],
            )
            if round_index:  # the first round traces the graphs
                seconds[name].extend(timer.seconds)
    fix_match_step = statistics.median(seconds["fixmatch"])
    per_image = statistics.median(seconds["supervised"]) / supervised_batch
    return {
        "model": model_name,
        "batch_size": batch_size,
        "unlabeled_ratio": ratio,
        "images_per_fixmatch_step": images_per_step,
        "supervised_batch_size": supervised_batch,
        "fixmatch_seconds_per_step": float(f"{fix_match_step:.6g}"),
        "supervised_seconds_per_image": float(f"{per_image:.6g}"),
        "ratio_to_supervised": round(fix_match_step / (images_per_step * per_image), 3),
        "timed_steps_each": len(seconds["fixmatch"]),
        "fixmatch_step_seconds": [round(value, 2) for value in seconds["fixmatch"]],
        "supervised_step_seconds": [round(value, 2) for value in seconds["supervised"]],
    }


def main(argv):
    del argv
    if FLAGS.rounds < 2:
        raise app.UsageError("--rounds must be >= 2 (the first round is a warm-up).")
    result = measure(
        FLAGS.model,
        FLAGS.batch_size,
        FLAGS.unlabeled_ratio,
        FLAGS.supervised_batch_size,
        FLAGS.rounds,
        FLAGS.steps,
        FLAGS.image_size,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    define_flags()
    app.run(main)
