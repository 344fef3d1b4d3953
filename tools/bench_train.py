"""Training throughput (images/s) of a kerasssl model through `Supervised.fit`, fp32 vs bf16.

    .venv/bin/python tools/bench_train.py --model=wrn_28_2 --batch_size=128 --steps=30

Each dtype policy runs in its own process (the Keras policy is global). The first epoch (graph
tracing, oneDNN warm-up) is excluded; the figure is the median over the timed epochs.
"""

import json
import os
import subprocess
import sys

from absl import app, flags

_MODEL = flags.DEFINE_string("model", "wrn_28_2", "Model preset (kerasssl.models.list_models()).")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Batch size.")
_STEPS = flags.DEFINE_integer("steps", 20, "Steps per timed epoch.")
_EPOCHS = flags.DEFINE_integer("epochs", 3, "Timed epochs (after one warm-up epoch).")
_SIZE = flags.DEFINE_integer("image_size", 32, "Square input size.")
_POLICIES = flags.DEFINE_list("policies", ["float32", "mixed_bfloat16"], "Dtype policies.")
_WORKER = flags.DEFINE_string("worker_policy", "", "Internal: run one policy in this process.")


def measure(model_name, policy, batch_size, steps, epochs, image_size):
    import time

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasssl.algorithms.supervised import Supervised
    from kerasssl.models import get_model

    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(policy)
    model = get_model(model_name, num_classes=10, input_shape=(image_size, image_size, 3))
    algorithm = Supervised(model, l2_weight_decay=5e-4)
    algorithm.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True))
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch_size * 4, image_size, image_size, 3)).astype("float32")
    labels = rng.integers(0, 10, batch_size * 4)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).repeat().batch(batch_size)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    timer = Timer()
    algorithm.fit(dataset, epochs=epochs + 1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    timed = sorted(timer.seconds[1:])
    median = timed[len(timed) // 2]
    return {
        "model": model_name,
        "policy": policy,
        "batch_size": batch_size,
        "images_per_second": round(batch_size * steps / median, 1),
        "parameters": int(model.count_params()),
    }


def main(argv):
    del argv
    if _WORKER.value:
        result = measure(
            _MODEL.value, _WORKER.value, _BATCH.value, _STEPS.value, _EPOCHS.value, _SIZE.value
        )
        print(json.dumps(result))
        return
    for policy in _POLICIES.value:
        command = [sys.executable, __file__, f"--worker_policy={policy}"] + [
            arg for arg in sys.argv[1:] if not arg.startswith("--worker_policy")
        ]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        output = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        print(output.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    app.run(main)
