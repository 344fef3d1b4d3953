"""Forward + backward throughput (images/s) of EfficientNet-B0 and Mixer-S/4 on 32x32 inputs.

    .venv/bin/python tools/bench_models.py                       # both models, fp32 and bf16
    .venv/bin/python tools/bench_models.py --models=mixer_s4 --steps=5

One training step = forward, loss, backward and an SGD update (`model.train_on_batch` in a
compiled graph) on a random batch of 64 images with 10 classes. The first two steps (tracing,
oneDNN warm-up) are excluded; the figure is the median over the timed steps. Prints one JSON
object per (model, policy) and a summary table. On a shared CPU the numbers move with the
load of other processes: note the load average printed beside them.
"""

import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_MODELS = flags.DEFINE_list("models", ["efficientnet_b0", "mixer_s4"], "Presets to time.")
_POLICIES = flags.DEFINE_list("policies", ["float32", "mixed_bfloat16"], "Dtype policies.")
_BATCH = flags.DEFINE_integer("batch_size", 64, "Images per step.")
_STEPS = flags.DEFINE_integer("steps", 8, "Timed steps (after two warm-up steps).")
_SIZE = flags.DEFINE_integer("image_size", 32, "Square input size.")
_CLASSES = flags.DEFINE_integer("num_classes", 10, "Number of classes.")

WARMUP_STEPS = 2


def build(name, num_classes, image_size):
    from kerasssl.models import efficient_net, mlp_mixer

    for module in (efficient_net, mlp_mixer):
        if name in module.PRESETS:
            preset = module.PRESETS[name]
            config = {
                **preset["config"],
                "num_classes": num_classes,
                "input_shape": (image_size, image_size, 3),
            }
            return preset["class"](**config)
    raise ValueError(
        f"--models: unknown preset {name!r}; valid: "
        f"{sorted([*efficient_net.PRESETS, *mlp_mixer.PRESETS])}."
    )


def measure(name, policy, batch_size, steps, image_size, num_classes):
    """Median images/s of `steps` training steps after the warm-up."""
    import keras
    import numpy as np

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    keras.config.set_dtype_policy(policy)
    model = build(name, num_classes, image_size)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch_size, image_size, image_size, 3)).astype("float32")
    labels = rng.integers(0, num_classes, batch_size)
    seconds = []
    for step in range(WARMUP_STEPS + steps):
        start = time.perf_counter()
        model.train_on_batch(images, labels)
        if step >= WARMUP_STEPS:
            seconds.append(time.perf_counter() - start)
    keras.config.set_dtype_policy("float32")
    return {
        "model": name,
        "policy": policy,
        "batch_size": batch_size,
        "image_size": image_size,
        "params": int(model.count_params()),
        "images_per_second": round(batch_size / statistics.median(seconds), 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
    }


def main(argv):
    del argv
    rows = []
    for name in _MODELS.value:
        for policy in _POLICIES.value:
            row = measure(name, policy, _BATCH.value, _STEPS.value, _SIZE.value, _CLASSES.value)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(f"\n{'model':<18}{'policy':<16}{'img/s':>8}  load")
    for row in rows:
        print(
            f"{row['model']:<18}{row['policy']:<16}{row['images_per_second']:>8.1f}"
            f"  {row['load_average_1min']}"
        )


if __name__ == "__main__":
    app.run(main)
