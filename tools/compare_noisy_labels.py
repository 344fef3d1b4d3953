"""DivideMix against cross-entropy on the same noisy labels: same epochs, and same wall clock.

    .venv/bin/python tools/compare_noisy_labels.py --dataset=cifar10 \
        --root=../shared/data/cifar10-subset --settings=sym50,asym40 --seeds=0,1 \
        --equal_time --workdir=runs/noisy_cifar10
    .venv/bin/python tools/compare_noisy_labels.py --dataset=digits --smoke --equal_time \
        --workdir=/tmp/noisy

For each noise setting (a preset of `dividemix_<dataset>`: sym50, asym40, sym20, ... on
cifar10; sym50, pair40 on digits) and seed, through `kerasssl.train.train_and_evaluate`:
    <workdir>/<setting>/dividemix/seed_<s>        `dividemix_<dataset>:<setting>`
    <workdir>/<setting>/cross_entropy/seed_<s>    `:ce_<setting>`: the same noisy labels,
                                                  network, epochs, batch size and schedule
and with `--equal_time`
    <workdir>/<setting>/cross_entropy_time_of_dividemix/seed_<s>
cross-entropy trained for DivideMix's wall clock, in whole epochs at the `cross_entropy` run's
pace (`kerasssl.equal_time`; the epochs are kept in `seed_<s>.budget.json`), long enough to show
its own curve: the table's "best / last val epoch" column shows whether it memorises the noise.
Time both on the same machine under the same load: run the comparison alone. `--epochs` and
`--warmup_epochs` replace the recipe's (both methods' epochs, DivideMix's warm-up within them).
A killed comparison resumes where it stopped when run again. It prints
`tools/results_table.py <workdir>`: test accuracy (mean ± half the range over seeds), validation,
best / last validation epoch, DivideMix's split AUC, minutes.
"""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS

TOOLS = pathlib.Path(__file__).resolve().parent
RECIPES = TOOLS.parent / "recipes"
DATASETS = ("digits", "cifar10")
METHODS = ("dividemix", "cross_entropy")
EQUAL_TIME_NAME = "cross_entropy_time_of_dividemix"


def define_flags():
    """The command-line flags, defined when run as a script (importing defines none)."""
    flags.DEFINE_enum("dataset", "cifar10", list(DATASETS), "Data set of the recipes.")
    flags.DEFINE_string("root", "", "cifar10: the image folder (config.data.root).")
    flags.DEFINE_list(
        "settings", ["sym50"], "Noise settings: presets of dividemix_<dataset> (--smoke: smoke)."
    )
    flags.DEFINE_list("seeds", ["0"], "Seeds; each seed is its own noisy labels and split.")
    flags.DEFINE_integer("epochs", 0, "Epochs of both methods (0: the recipe's).")
    flags.DEFINE_integer("warmup_epochs", 0, "DivideMix's warm-up epochs (0: the recipe's).")
    flags.DEFINE_bool("equal_time", False, "Add cross-entropy for DivideMix's wall clock.")
    flags.DEFINE_bool("smoke", False, "The recipe's `smoke` presets (seconds each).")
    flags.DEFINE_string("workdir", None, "Folder of the runs.", required=True)


def _load(path):
    from kerasssl import recipe_catalog

    return recipe_catalog.load_module(path)


def settings_of(dataset):
    """The noise settings of `dividemix_<dataset>`: presets with a `ce_` baseline."""
    presets = _load(RECIPES / f"dividemix_{dataset}.py").PRESETS
    return tuple(name for name in presets if f"ce_{name}" in presets and name != "smoke")


def method_config(
    dataset, setting, method, seed, root="", epochs=0, warmup_epochs=0, smoke=False
):
    """The config of `method` ("dividemix" or "cross_entropy") at one noise setting and seed."""
    if dataset not in DATASETS:
        raise ValueError(f"--dataset must be one of {DATASETS}, got {dataset!r}.")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}.")
    if not smoke and setting not in settings_of(dataset):
        raise ValueError(
            f"--settings: {setting!r} is not a noise setting of dividemix_{dataset}; choose "
            f"from {settings_of(dataset)}."
        )
    preset = "smoke" if smoke else setting
    recipe = _load(RECIPES / f"dividemix_{dataset}.py")
    config = recipe.get_config(preset if method == "dividemix" else f"ce_{preset}")
    if root:
        config.data.root = root
    if config.data.source == "image_folder" and not config.data.root:
        raise ValueError(f"--dataset={dataset} needs --root=<image folder with train/ and test/>.")
    config.seed = int(seed)
    if epochs:
        config.train.epochs = epochs
    if warmup_epochs:
        config.dividemix.warmup_epochs = warmup_epochs
    if config.dividemix.warmup_epochs >= config.train.epochs:
        raise ValueError(
            f"--warmup_epochs ({config.dividemix.warmup_epochs}) must be below --epochs "
            f"({config.train.epochs}): DivideMix needs epochs after its warm-up."
        )
    return config


def run_one(config, workdir):
    from kerasssl import train

    return train.train_and_evaluate(config, workdir)


def run_folder(workdir, setting, method, seed):
    return pathlib.Path(workdir) / setting / method / f"seed_{seed}"


def compare(
    dataset,
    workdir,
    settings=("sym50",),
    seeds=(0,),
    root="",
    epochs=0,
    warmup_epochs=0,
    equal_time=False,
    smoke=False,
):
    """Runs both methods (and the equal-time cross-entropy) for every setting and seed;
    returns {(setting, method, seed): metrics}."""
    from kerasssl import equal_time as budgets

    settings = ("smoke",) if smoke else tuple(settings)
    configs = {}
    for setting in settings:  # every config first: a bad flag fails before any training
        for seed in seeds:
            for method in METHODS:
                configs[setting, method, seed] = method_config(
                    dataset, setting, method, seed, root, epochs, warmup_epochs, smoke
                )
            if (
                configs[setting, "dividemix", seed].data.to_dict()
                != configs[setting, "cross_entropy", seed].data.to_dict()
            ):
                # Different noisy labels would make the comparison meaningless.
                raise ValueError(
                    f"dividemix_{dataset}:{setting} and its ce_ baseline differ in config.data."
                )
    results = {}
    for (setting, method, seed), config in configs.items():
        folder = run_folder(workdir, setting, method, seed)
        print(f"== {setting}, {method}, seed {seed} -> {folder}", flush=True)
        results[setting, method, seed] = run_one(config, folder)
        if equal_time and method == "cross_entropy":
            seconds = budgets.timed_seconds(
                {name: results[setting, name, seed] for name in METHODS}, seed
            )
            folder = run_folder(workdir, setting, EQUAL_TIME_NAME, seed)
            timed = budgets.equal_time_config(
                config, seconds["cross_entropy"], seconds["dividemix"], folder
            )
            print(f"== {setting}, {EQUAL_TIME_NAME}, seed {seed} -> {folder}", flush=True)
            results[setting, EQUAL_TIME_NAME, seed] = run_one(timed, folder)
    return results


def table(workdir):
    """results_table's table of the runs under `workdir`."""
    results_table = _load(TOOLS / "results_table.py")
    rows = results_table.build_rows([workdir])
    results_table.add_gap_closed(rows, "", "")
    note = results_table.machines_note(rows)
    return results_table.format_table(rows) + (f"\n\n{note}" if note else "")


def main(argv):
    del argv
    try:
        compare(
            FLAGS.dataset,
            FLAGS.workdir,
            settings=tuple(FLAGS.settings),
            seeds=tuple(int(seed) for seed in FLAGS.seeds),
            root=FLAGS.root,
            epochs=FLAGS.epochs,
            warmup_epochs=FLAGS.warmup_epochs,
            equal_time=FLAGS.equal_time,
            smoke=FLAGS.smoke,
        )
    except ValueError as error:  # a bad flag: one line, no traceback
        raise app.UsageError(str(error)) from None
    print(table(FLAGS.workdir))


if __name__ == "__main__":
    define_flags()
    app.run(main)
