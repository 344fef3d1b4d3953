"""Supervised, FixMatch, FlexMatch, Noisy Student, MPL, UDA, billion-scale on one labeled split.

    .venv/bin/python tools/compare_ssl.py --dataset=digits --workdir=runs/compare_digits
    .venv/bin/python tools/compare_ssl.py --dataset=cifar10 \
        --root=../shared/data/cifar10-subset --seeds=0,1 --steps=2000 --all_labels \
        --workdir=runs/compare_cifar10
    .venv/bin/python tools/compare_ssl.py --dataset=digits --smoke --workdir=/tmp/compare
    .venv/bin/python tools/compare_ssl.py --dataset=cifar10 \
        --root=../shared/data/cifar10-subset --methods=supervised,noisy_student --equal_time \
        --workdir=runs/compare_cifar10

Each method runs its recipe (`fixmatch_<dataset>` and its `:flex` and `:supervised` presets,
`noisy_student_<dataset>`, `mpl_cifar10` and its `:uda` preset, the teacher without the MPL
term that the MPL teacher must beat (`tools/results_table.py` shows both teachers), and
`billion_scale_cifar10`, with the data settings of `fixmatch_<dataset>` on digits) through
`kerasssl.train.train_and_evaluate`, into `<workdir>/<method>/seed_<s>`: a killed comparison
resumes where it stopped when run again.
Every method gets the same data settings (source, root, validation split, `--labels_per_class`)
and seed, so the same labeled images (the "labeled" column shows their count and a hash, per
seed). The budget: `--steps` sets `config.train.epochs` x `steps_per_epoch` of every method,
i.e. the steps of FixMatch, FlexMatch and supervised training and of the teacher of Noisy
Student and billion-scale and MPL's joint phase; Noisy Student's rounds, billion-scale's
pre-training and fine-tuning and MPL's fine-tuning keep their recipe's length, and the minutes
column shows what each method really cost. With `--all_labels`, a supervised run on every training
label (`supervised_<dataset>`) is the top row, and "gap closed" is (method - supervised) /
(all labels - supervised), the fraction of the labeled-only -> all-labels gap a method closes.

Equal compute: with `--equal_time`, every method also gets a supervised run of the same wall
clock, `supervised_time_of_<method>/seed_<s>`: as many steps (whole epochs of the supervised
run's) as fit in the method's `wall_seconds` at the `supervised` run's seconds per step (its
`wall_seconds` over its steps: both figures include start-up and evaluation). Both runs must be
timed on the same machine under the same load, so run the comparison alone. The epoch count is
written to `seed_<s>.budget.json` beside that folder the first time and read back after, so a
rerun resumes the same run whatever the method's run reports later (re-entering a finished run
adds nothing to its `wall_seconds`, but a killed method run resumed counts on).
"""

import hashlib
import math
import os
import pathlib
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS

RECIPES = pathlib.Path(__file__).resolve().parents[1] / "recipes"
METHODS = ("supervised", "fixmatch", "flexmatch", "noisy_student", "mpl", "uda", "billion_scale")
# The recipes written for cifar10 only: on digits they take fixmatch_digits' views.
CIFAR10_ONLY = ("mpl", "uda", "billion_scale")
EQUAL_TIME_PREFIX = "supervised_time_of_"
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
    flags.DEFINE_bool("equal_time", False, "Add a supervised run of each method's wall-clock time.")
    flags.DEFINE_string("workdir", None, "Folder of the runs.", required=True)


def load_recipe(name, arg=""):
    from kerasssl import recipe_catalog

    return recipe_catalog.load_module(RECIPES / f"{name}.py").get_config(arg or None)


def recipe_for(method, dataset, smoke):
    """(recipe name, preset) of `method` on `dataset`."""
    preset = "smoke" if smoke else ""
    names = {
        "supervised": (f"fixmatch_{dataset}", "smoke" if smoke else "supervised"),
        "fixmatch": (f"fixmatch_{dataset}", preset),
        "flexmatch": (f"fixmatch_{dataset}", "smoke" if smoke else "flex"),
        "noisy_student": (f"noisy_student_{dataset}", preset),
        "mpl": ("mpl_cifar10", preset),
        # MPL's teacher without the MPL term: what the MPL teacher must beat.
        "uda": ("mpl_cifar10", "smoke" if smoke else "uda"),
        "billion_scale": ("billion_scale_cifar10", preset),
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
    if smoke and method == "uda":
        config.meta_pseudo_labels.mpl_weight = 0.0
    data = reference.data
    config.data.source = data.source
    config.data.root = root or data.root
    config.data.validation_size = data.validation_size
    config.data.labels_per_class = (
        0 if method == "all_labels" else (labels_per_class or data.labels_per_class)
    )
    if method in CIFAR10_ONLY and dataset == "digits":
        # The cifar10 recipes' flips and views would turn digits into other glyphs.
        config.data.augment = data.augment
        if method in ("mpl", "uda"):
            config.meta_pseudo_labels.weak_view = reference.fix_match.weak_view
            config.meta_pseudo_labels.strong_view = reference.fix_match.strong_view
    config.seed = int(seed)
    if steps:
        per_epoch = min(config.train.steps_per_epoch or min(steps, 50), steps)
        if steps % per_epoch:
            # Cutting would train fewer steps than the table's budget says.
            raise ValueError(
                f"--steps={steps} is not a whole number of {method}'s epochs of {per_epoch} "
                f"steps: pass a multiple of {per_epoch}."
            )
        config.train.steps_per_epoch = per_epoch
        config.train.epochs = steps // per_epoch
    return config


def run_one(config, workdir):
    from kerasssl import train

    metrics = train.train_and_evaluate(config, workdir)
    # The run's own cost, summed over the calls that trained it (kerasssl.run_clock); a run
    # from before wall_seconds has none, and this call's seconds would not be its cost.
    return metrics, metrics.get("wall_seconds", math.nan)


def labeled_split(config):
    """The count and a short hash of the labeled images a run trains on (same hash, same split)."""
    from kerasssl.data.prepare import prepare_data

    labeled = prepare_data(config.data, seed=config.seed).labeled
    digest = hashlib.sha256(labeled.images.tobytes() + labeled.labels.tobytes()).hexdigest()
    return f"{len(labeled)} ({digest[:8]})"


def run_steps(config):
    return config.train.epochs * config.train.steps_per_epoch


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
    equal_time=False,
):
    """Runs every method and seed; returns one row per method (accuracies over seeds)."""
    from kerasssl import equal_time as budgets  # not `equal_time`: that is the argument

    for method in methods:
        if method not in METHODS:
            raise ValueError(f"--methods: unknown method {method!r}; choose from {METHODS}.")
    if equal_time and "supervised" not in methods:
        raise ValueError("--equal_time times supervised steps: add supervised to --methods.")
    if dataset not in DATASETS:
        raise ValueError(f"--dataset must be one of {DATASETS}, got {dataset!r}.")
    if dataset == "cifar10" and not root:
        raise ValueError("--dataset=cifar10 needs --root=<image folder with train/ and test/>.")
    # Supervised first: the equal-time runs need its seconds per step.
    runs = (["all_labels"] if all_labels else []) + sorted(
        methods, key=lambda method: method != "supervised"
    )
    rows, timed = [], {}
    for method in runs:
        results = []
        for seed in seeds:
            config = method_config(method, dataset, seed, steps, labels_per_class, root, smoke)
            results.append(_run(method, seed, config, workdir))
        timed[method] = results
        rows.append(summarize(method, results))
    for method in runs if equal_time else ():
        if method in ("all_labels", "supervised"):
            continue
        name, results = f"{EQUAL_TIME_PREFIX}{method}", []
        for index, seed in enumerate(seeds):
            supervised_config, supervised_metrics, _ = timed["supervised"][index]
            folder = run_folder(workdir, name, seed)
            seconds = budgets.timed_seconds(
                {"supervised": supervised_metrics, method: timed[method][index][1]}, seed
            )
            config = budgets.equal_time_config(
                supervised_config, seconds["supervised"], seconds[method], folder
            )
            results.append(_run(name, seed, config, workdir))
        rows.append(summarize(name, results))
    add_gap_closed(rows)
    return rows


def run_folder(workdir, method, seed):
    return pathlib.Path(workdir) / method / f"seed_{seed}"


def _run(method, seed, config, workdir):
    folder = run_folder(workdir, method, seed)
    print(f"== {method}, seed {seed} -> {folder}", flush=True)
    metrics, seconds = run_one(config, folder)
    return config, metrics, seconds


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
        "steps": run_steps(config) or f"{config.train.epochs} epochs",
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
            equal_time=FLAGS.equal_time,
        )
    except ValueError as error:  # a bad flag: one line, no traceback
        raise app.UsageError(str(error)) from None
    print(format_table(rows))


if __name__ == "__main__":
    define_flags()
    app.run(main)
