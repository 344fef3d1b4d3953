"""Supervised, FixMatch, FlexMatch, Noisy Student and MPL on one labeled split, one table.

    .venv/bin/python tools/compare_ssl.py --dataset=digits --workdir=runs/compare_digits
    .venv/bin/python tools/compare_ssl.py --dataset=cifar10 \
        --root=../shared/data/cifar10-subset --seeds=0,1 --steps=2000 --all_labels \
        --workdir=runs/compare_cifar10
    .venv/bin/python tools/compare_ssl.py --dataset=digits --smoke --workdir=/tmp/compare

Each method runs its recipe (`fixmatch_<dataset>` and its `:flex` and `:supervised` presets,
`noisy_student_<dataset>`, `mpl_cifar10` with the data settings of `fixmatch_<dataset>` on
digits) through `kerasssl.train.train_and_evaluate`, into `<workdir>/<method>/seed_<s>`: a
killed comparison resumes where it stopped when run again. Every method gets the same data
settings (source, root, validation split, `--labels_per_class`) and seed, so the same labeled
images (the "labeled" column shows their count and a hash, per seed). The budget: `--steps` sets
`config.train.epochs` x `steps_per_epoch` of every method, i.e. the steps of FixMatch,
FlexMatch and supervised training and of Noisy Student's teacher and MPL's joint phase; Noisy
Student's rounds and MPL's fine-tuning keep their recipe's length, and the minutes column
shows what each method really cost. With `--all_labels`, a supervised run on every training
label (`supervised_<dataset>`) is the top row, and "gap closed" is (method - supervised) /
(all labels - supervised), the fraction of the labeled-only -> all-labels gap a method closes.
"""

import hashlib
import importlib.util
import math
import os
import pathlib
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS

RECIPES = pathlib.Path(__file__).resolve().parents[1] / "recipes"
METHODS = ("supervised", "fixmatch", "flexmatch", "noisy_student", "mpl")
DATASETS = ("digits", "cifar10")


def define_flags():
    """The command-line flags, defined when run as a script (importing defines none: tests
    load several tools in one process, and absl flags are global)."""
    flags.DEFINE_enum("dataset", "digits", list(DATASETS), "Data set of the recipes.")
    flags.DEFINE_string("root", "", "cifar10: the image folder (config.data.root).")
    flags.DEFINE_list("methods", list(METHODS), f"Methods, among {METHODS}.")
    flags.DEFINE_list("seeds", ["0"], "Seeds; each seed is its own labeled split.")
    flags.DEFINE_integer("steps", 0, "Training steps of each method (0: its recipe's).")
    flags.DEFINE_integer("labels_per_class", 0, "Labels per class (0: the recipe's).")
    flags.DEFINE_bool("all_labels", False, "Add supervised on every label (the top).")
    flags.DEFINE_bool("smoke", False, "Every recipe's `:smoke` preset (seconds each).")
    flags.DEFINE_string("workdir", None, "Folder of the runs.", required=True)


def load_recipe(name, arg=""):
    spec = importlib.util.spec_from_file_location(name, RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg or None)


def recipe_for(method, dataset, smoke):
    """(recipe name, preset) of `method` on `dataset`."""
    preset = "smoke" if smoke else ""
    names = {
        "supervised": (f"fixmatch_{dataset}", "smoke" if smoke else "supervised"),
        "fixmatch": (f"fixmatch_{dataset}", preset),
        "flexmatch": (f"fixmatch_{dataset}", "smoke" if smoke else "flex"),
        "noisy_student": (f"noisy_student_{dataset}", preset),
        "mpl": ("mpl_cifar10", preset),
        "all_labels": (f"supervised_{dataset}", preset),
    }
    return names[method]


def method_config(method, dataset, seed, steps=0, labels_per_class=0, root="", smoke=False):
    """The recipe config of `method`, with the comparison's shared data settings and budget."""
    reference = load_recipe(*recipe_for("fixmatch", dataset, smoke))
    config = load_recipe(*recipe_for(method, dataset, smoke))
    if smoke and method == "supervised":
        config.algorithm = "supervised"
    if smoke and method == "flexmatch":
        config.fix_match.threshold = "flex"
    data = reference.data
    config.data.source = data.source
    config.data.root = root or data.root
    config.data.validation_size = data.validation_size
    config.data.labels_per_class = (
        0 if method == "all_labels" else (labels_per_class or data.labels_per_class)
    )
    if method == "mpl" and dataset == "digits":
        # mpl_cifar10's flips and views would turn digits into other glyphs.
        config.data.augment = data.augment
        config.meta_pseudo_labels.weak_view = reference.fix_match.weak_view
        config.meta_pseudo_labels.strong_view = reference.fix_match.strong_view
    config.seed = int(seed)
    if steps:
        per_epoch = config.train.steps_per_epoch or min(steps, 50)
        config.train.steps_per_epoch = min(per_epoch, steps)
        config.train.epochs = max(1, steps // config.train.steps_per_epoch)
    return config


def run_one(config, workdir):
    from kerasssl import train

    start = time.perf_counter()
    metrics = train.train_and_evaluate(config, workdir)
    # The run's own cost, summed over resumes: a finished run re-entered here costs seconds.
    return metrics, metrics.get("wall_seconds", time.perf_counter() - start)


def labeled_split(config):
    """The count and a short hash of the labeled images a run trains on (same hash, same split)."""
    from kerasssl.data.prepare import prepare_data

    labeled = prepare_data(config.data, seed=config.seed).labeled
    digest = hashlib.sha256(labeled.images.tobytes() + labeled.labels.tobytes()).hexdigest()
    return f"{len(labeled)} ({digest[:8]})"


def compare(
    dataset,
    workdir,
    methods=METHODS,
    seeds=(0,),
    steps=0,
    labels_per_class=0,
    root="",
    all_labels=False,
    smoke=False,
):
    """Runs every method and seed; returns one row per method (accuracies over seeds)."""
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"--methods: unknown method {method!r}; choose from {METHODS}.")
    if dataset not in DATASETS:
        raise ValueError(f"--dataset must be one of {DATASETS}, got {dataset!r}.")
    if dataset == "cifar10" and not root:
        raise ValueError("--dataset=cifar10 needs --root=<image folder with train/ and test/>.")
    runs = (["all_labels"] if all_labels else []) + list(methods)
    rows = []
    for method in runs:
        results = []
        for seed in seeds:
            config = method_config(method, dataset, seed, steps, labels_per_class, root, smoke)
            folder = pathlib.Path(workdir) / method / f"seed_{seed}"
            print(f"== {method}, seed {seed} -> {folder}", flush=True)
            metrics, seconds = run_one(config, folder)
            results.append((config, metrics, seconds))
        rows.append(summarize(method, results))
    add_gap_closed(rows)
    return rows


def summarize(method, results):
    tests = [metrics["test_accuracy"] for _, metrics, _ in results]
    validations = [metrics.get("validation_accuracy", math.nan) for _, metrics, _ in results]
    config = results[0][0]
    return {
        "method": method,
        "algorithm": config.algorithm,
        "seeds": len(results),
        "labeled": ", ".join(labeled_split(config) for config, _, _ in results),
        # steps_per_epoch 0 means whole passes over the labeled set (supervised_<dataset>).
        "steps": config.train.epochs * config.train.steps_per_epoch
        or f"{config.train.epochs} epochs",
        "ema": config.train.get("ema_momentum", 0.0),
        "test_accuracy": statistics.mean(tests),
        "test_accuracy_spread": (max(tests) - min(tests)) / 2 if len(tests) > 1 else 0.0,
        "validation_accuracy": statistics.mean(validations),
        "minutes": statistics.mean(seconds for _, _, seconds in results) / 60,
    }


def add_gap_closed(rows):
    by_method = {row["method"]: row for row in rows}
    top, bottom = by_method.get("all_labels"), by_method.get("supervised")
    for row in rows:
        row["gap_closed"] = math.nan
        if top and bottom and top["test_accuracy"] != bottom["test_accuracy"]:
            gap = top["test_accuracy"] - bottom["test_accuracy"]
            row["gap_closed"] = (row["test_accuracy"] - bottom["test_accuracy"]) / gap


def format_table(rows):
    header = (
        "| method | algorithm | labeled | steps | EMA | test accuracy | validation | "
        "gap closed | minutes |"
    )
    lines = [header, "|" + "---|" * 9]
    for row in rows:
        spread = f" ± {row['test_accuracy_spread']:.3f}" if row["seeds"] > 1 else ""
        gap = "" if math.isnan(row["gap_closed"]) else f"{row['gap_closed']:.2f}"
        lines.append(
            f"| {row['method']} | {row['algorithm']} | {row['labeled']} | {row['steps']} | "
            f"{row['ema'] or '-'} | {row['test_accuracy']:.4f}{spread} | "
            f"{row['validation_accuracy']:.4f} | {gap} | {row['minutes']:.1f} |"
        )
    return "\n".join(lines)


def main(argv):
    del argv
    try:
        rows = compare(
            FLAGS.dataset,
            FLAGS.workdir,
            methods=tuple(FLAGS.methods),
            seeds=tuple(int(seed) for seed in FLAGS.seeds),
            steps=FLAGS.steps,
            labels_per_class=FLAGS.labels_per_class,
            root=FLAGS.root,
            all_labels=FLAGS.all_labels,
            smoke=FLAGS.smoke,
        )
    except ValueError as error:  # a bad flag: one line, no traceback
        raise app.UsageError(str(error)) from None
    print(format_table(rows))


if __name__ == "__main__":
    define_flags()
    app.run(main)
