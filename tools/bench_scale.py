"""Peak memory of streaming from shards at two pool sizes: it must not grow with the data set.

    nice -n 10 .venv/bin/python tools/bench_scale.py                      # 20k and 200k images
    nice -n 10 .venv/bin/python tools/bench_scale.py --sizes=2000,20000 --max_steps=50
    nice -n 10 .venv/bin/python tools/bench_scale.py --folder=/tmp/bench --phases=noisy_student
    nice -n 10 .venv/bin/python tools/bench_scale.py --phases=divide_mix --max_steps=100

For each size, a pool of 32x32 RGB images is generated (the 1,797 digits, upscaled, coloured
and shifted per copy: tiled, never held in memory) and written as shards with
`write_shards`, plus a 1,000-image test split. Then, each in a fresh process so that its peak
RSS (`ru_maxrss`) is its own:
- train: `kerasssl.train.train_and_evaluate` of supervised_digits' smoke model on
  data.source=shards for one epoch over the whole pool (batch 128), then its evaluation;
- label: `label_images` of that model over the pool read from the shards, then the streamed
  top-K-per-class selection of billion-scale (K = 1000, P = 2) over the probability shards;
- noisy_student: a Noisy Student round's labeling and selection
  (`pool_labeling.noisy_student_pseudo_labels`: `label_images`, then
  `ConfidentBalancedSelection` with images_per_class = 1000 and threshold 0 streamed over the
  probability shards, soft targets gathered from them, the pool pseudo-label accuracy counted).
- divide_mix: one DivideMix epoch of dividemix_digits' smoke settings (symmetric noise 0.5,
  no warm-up) with the same model on data.source=shards: the co-divide's per-sample-loss pass
  of both networks over the whole pool, then the MixMatch steps (labeled and unlabeled
  streams of both networks' splits; `--max_steps` caps them: a full epoch at 200k is 1,563
  steps of four views of 128 images per network).
Target: peak RSS at the largest size within 15% of the smallest (ratio <= 1.15). Labels and
split indices are kept in memory (8 bytes per image each), so a small growth is expected.

Measured (2 shared cores, load 5-10, 2026-12-07): train 828 MB at 20k, 845 MB at 200k: ratio
1.021 (one epoch of 1,563 steps in 540 s); labeling + top-K 1,122 MB at 20k, 1,137 MB at 200k:
ratio 1.014 (200k labeled in 165 s). Writing the 200k shards took 168 s (~0.8 ms an image,
PNG encoding most of it). In memory the 200k images alone would take 614 MB, before tf.data's
copy. Labeling's floor is one labeling shard (8,192 images as float32, 100 MB) plus the model.
Noisy Student's labeling + selection (--phases=train,noisy_student --max_steps=50, load 6-11,
2026-12-07): 1,062 MB at 20k, 1,077 MB at 200k: ratio 1.014 (200k in 244 s; 8,000 and 7,000
images selected: the 50-step model predicts 8 and 7 of the classes). With 10 classes the
matrix a whole-matrix selection would load is small (8 MB at 200k); what the ratio shows is that
nothing else grows.
DivideMix (`--phases=divide_mix --max_steps=100`, load 9-14, 2026-12-07): 1,342 MB at 20k,
1,359 MB at 200k: ratio 1.012 (the co-divide over all 200k images of both networks, then 100
MixMatch steps, in 641 s). Before DivideMix streamed, it loaded the training set, and copied
it into each network's split streams and, as float32, into the co-divide: 11,001 MB at 200k,
measured the same way (the same co-divide figures, to the last digit of the split AUC).
"""

import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["20000", "200000"], "Pool sizes (images) to compare.")
_FOLDER = flags.DEFINE_string("folder", "", "Where the shards go ('' = a temporary folder).")
_MAX_STEPS = flags.DEFINE_integer("max_steps", 0, "Cap on the training steps (0: one epoch).")
_PHASES = flags.DEFINE_list(
    "phases",
    ["train", "label", "noisy_student", "divide_mix"],
    "Measurements to run (label and noisy_student need a trained model: train first, once).",
)
_PHASE = flags.DEFINE_string("phase", "", "Internal: run one measurement (a phase name).")
_ROOT = flags.DEFINE_string("root", "", "Internal: the shard folder of the measurement.")

BATCH_SIZE = 128
TEST_SIZE = 1000
NOISY_STUDENT_IMAGES_PER_CLASS = 1000


def _base_images():
    import numpy as np
    import tensorflow as tf

    from kerasssl.data import load_digits

    digits = load_digits("train", seed=0)
    test = load_digits("test", seed=0)
    images = np.concatenate([digits.images, test.images])
    labels = np.concatenate([digits.labels, test.labels])
    large = tf.image.resize(images.astype("float32"), (32, 32)).numpy()
    colours = np.random.default_rng(0).uniform(0.3, 1.0, (len(images), 1, 1, 3))
    return np.clip(large * colours, 0, 255).astype(np.uint8), labels


def _tiled(base_images, base_labels, count, offset):
    """count images: base image i % n, shifted by the copy number (a generator)."""
    import numpy as np

    for position in range(offset, offset + count):
        copy, index = divmod(position, len(base_images))
        image = np.roll(base_images[index], (copy % 5, (copy // 5) % 5), axis=(0, 1))
        yield image, int(base_labels[index])


def write_pool(root, size):
    from kerasssl.data import shards

    if (root / "train" / "manifest.json").is_file():
        return
    base_images, base_labels = _base_images()
    classes = [str(label) for label in range(10)]
    for split, count, offset in (("train", size, 0), ("test", TEST_SIZE, size)):
        images = (image for image, _ in _tiled(base_images, base_labels, count, offset))
        labels = (label for _, label in _tiled(base_images, base_labels, count, offset))
        shards.write_shards(
            root / split,
            images,
            labels,
            range(offset, offset + count),
            split=split,
            classes=classes,
            image_shape=(32, 32, 3),
            records_per_shard=8192,
            overwrite=True,
        )


def _config(root):
    from kerasssl import recipe_catalog

    path, _ = recipe_catalog.find_recipe("supervised_digits")
    config = recipe_catalog.build_config(recipe_catalog.load_module(path), "smoke")
    config.data.source = "shards"
    config.data.root = str(root)
    config.data.validation_size = 0
    config.train.epochs = 1
    config.train.batch_size = BATCH_SIZE
    config.train.eval_batch_size = 256
    config.train.max_eval_examples = 0
    config.train.verbose = "0"
    return config


def measure_train(root, max_steps):
    from kerasssl import train
    from kerasssl.data import shards

    config = _config(root)
    count = shards.read_manifest(root / "train", "train")["count"]
    steps = -(-count // BATCH_SIZE)
    config.train.steps_per_epoch = min(steps, max_steps) if max_steps else steps
    workdir = root / f"run-{time.time_ns()}"
    metrics = train.train_and_evaluate(config, workdir)
    return {"steps": config.train.steps_per_epoch, "test_accuracy": metrics["test_accuracy"]}


def _trained_model(root):
    runs = sorted(root.glob("run-*/model.keras"))
    if not runs:
        raise SystemExit(f"no trained model in {root}/run-*: run the train phase first.")
    return runs[-1]


def measure_divide_mix(root, max_steps):
    from kerasssl import train
    from kerasssl.data import shards
    from kerasssl.testing import recipe_config

    config = recipe_config("dividemix_digits", "smoke")
    supervised = _config(root)
    config.model = supervised.model  # the model the train phase measures
    config.data = supervised.data  # shards, no validation split
    config.data.noise.rate, config.data.noise.type = 0.5, "symmetric"
    config.train.epochs, config.dividemix.warmup_epochs = 1, 0
    config.train.batch_size, config.train.eval_batch_size = BATCH_SIZE, 256
    config.train.max_eval_examples, config.train.verbose = 0, "0"
    count = shards.read_manifest(root / "train", "train")["count"]
    steps = -(-count // BATCH_SIZE)
    config.train.steps_per_epoch = 0
    config.dividemix.steps_per_epoch = min(steps, max_steps) if max_steps else steps
    metrics = train.train_and_evaluate(config, root / f"divide-mix-{time.time_ns()}")
    epoch = metrics["per_epoch"][0]
    return {
        "steps": config.dividemix.steps_per_epoch,
        "clean_set_sizes": [epoch["clean_set_size_1"], epoch["clean_set_size_2"]],
        "test_accuracy": metrics["test_accuracy"],
    }


def measure_label(root):
    import kerasssl.models  # noqa: F401 -- registers the model classes the .keras file names
    from kerasssl import files
    from kerasssl.data.sharded_image_data import load_shards
    from kerasssl.pseudo_labels import label_images, read_shards, select_top_k_per_class

    run = _trained_model(root)
    teacher = files.load_model(run, compile=False)
    pool = load_shards(root / "train", "train")
    output = root / f"labels-{time.time_ns()}"
    label_images(teacher, pool.images, output, shard_size=8192, batch_size=256, verbose=0)
    selection = select_top_k_per_class(read_shards(output), k=1000, p=2)
    return {"selected": len(selection)}


def measure_noisy_student(root):
    """Noisy Student's labeling and selection, as a round runs them (`pool_labeling`)."""
    import types

    import kerasssl.models  # noqa: F401 -- registers the model classes the .keras file names
    from kerasssl import files
    from kerasssl.data.sharded_image_data import load_shards
    from kerasssl.experiments import pool_labeling
    from kerasssl.experiments.teacher_student_config import noisy_student_section

    run = _trained_model(root)
    teacher = files.load_model(run, compile=False)
    config = _config(root)
    config.noisy_student = noisy_student_section()
    config.noisy_student.shard_size = 8192
    config.noisy_student.images_per_class = NOISY_STUDENT_IMAGES_PER_CLASS
    # Every image enters the heaps (a --max_steps model is too unsure for the paper's 0.3).
    config.noisy_student.confidence_threshold = 0.0
    config.noisy_student.soft_targets = True  # the selected rows are gathered from the shards
    data = types.SimpleNamespace(unlabeled=load_shards(root / "train", "train"))
    output = root / f"noisy-student-labels-{time.time_ns()}"
    selection, pool_accuracy = pool_labeling.noisy_student_pseudo_labels(
        config, teacher, run.parent, data, output, root
    )
    return {"selected": len(selection), "pool_pseudo_label_accuracy": round(pool_accuracy, 4)}


def _child(phase, root, max_steps):
    start = time.perf_counter()
    if phase == "train":
        result = measure_train(root, max_steps)
    elif phase == "label":
        result = measure_label(root)
    elif phase == "divide_mix":
        result = measure_divide_mix(root, max_steps)
    else:
        result = measure_noisy_student(root)
    result["seconds"] = round(time.perf_counter() - start, 1)
    # Linux reports ru_maxrss in KiB.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)


def main(argv):
    del argv
    if _PHASE.value:
        _child(_PHASE.value, pathlib.Path(_ROOT.value), _MAX_STEPS.value)
        return
    folder = pathlib.Path(_FOLDER.value or tempfile.mkdtemp(prefix="bench-scale-"))
    results = {}
    for size in (int(size) for size in _SIZES.value):
        root = folder / f"pool-{size}"
        start = time.perf_counter()
        write_pool(root, size)
        print(f"{size} images: shards written in {time.perf_counter() - start:.0f} s", flush=True)
        for phase in _PHASES.value:
            command = [
                sys.executable,
                __file__,
                f"--phase={phase}",
                f"--root={root}",
                f"--max_steps={_MAX_STEPS.value}",
            ]
            output = subprocess.run(command, capture_output=True, text=True, check=False)
            lines = [line for line in output.stdout.splitlines() if line.startswith("RESULT ")]
            if output.returncode or not lines:
                raise SystemExit(f"{phase} at {size} failed:\n{output.stderr[-3000:]}")
            results[(size, phase)] = json.loads(lines[-1][len("RESULT ") :])
            print(f"  {phase}: {results[(size, phase)]}", flush=True)
    sizes = sorted({size for size, _ in results})
    print(f"load {os.getloadavg()[0]:.2f}; shards in {folder}")
    for phase in _PHASES.value:
        small, large = results[(sizes[0], phase)], results[(sizes[-1], phase)]
        ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
        print(
            f"{phase:13s} peak RSS {small['peak_rss_mb']:.0f} MB at {sizes[0]}, "
            f"{large['peak_rss_mb']:.0f} MB at {sizes[-1]}: ratio {ratio:.3f} (target <= 1.15)"
        )


if __name__ == "__main__":
    app.run(main)
