"""The `kerasssl` command: `kerasssl train --config=<recipe>[:preset] --workdir=DIR`,
`kerasssl evaluate --workdir=DIR`, `kerasssl label --config=RECIPE --workdir=DIR
[--teacher=model.keras] [--runner=direct|dataflow|flink|spark [--pool=SHARDS]]` (a teacher's
probabilities over the recipe's unlabeled pool; with a runner, an Apache Beam pipeline that also
selects the recipe's pseudo-labels), `kerasssl prepare --config=RECIPE --output=DIR` (the
recipe's data source written as ArrayRecord shards, streaming: DIR/<split>/; train on them with
--config.data.source=shards --config.data.root=DIR) and `kerasssl recipes` (each recipe with its
summary and presets).

The logic lives in importable modules (`kerasssl.train`), so notebooks call the same code.
TensorFlow is imported only once a command runs, so `--help`, `recipes` and command-line
mistakes answer at once; its C++ start-up logs are kept out of stderr (`KERASSSL_TF_LOGS=1`
shows them, see `kerasssl.tensorflow_logs`).
"""

import difflib
import os
import sys

from absl import app, flags
from ml_collections import config_dict, config_flags

from kerasssl import recipe_catalog, tensorflow_logs

COMMANDS = ("train", "evaluate", "label", "prepare", "recipes")

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "Recipe, `<name>[:preset]` (see `kerasssl recipes`) or the path of a recipe file, "
    "`recipes/<name>.py[:preset]`; fields are overridden with --config.<field>=<value>.",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run folder: checkpoints, TensorBoard logs, config.json, metrics.json."
)
_OVERWRITE = flags.DEFINE_bool(
    "overwrite",
    False,
    "train: delete the previous run in --workdir (a folder with a kerasssl config.json) and "
    "start afresh; without it a workdir whose config differs is an error. prepare: replace "
    "splits already in --output.",
)
_OUTPUT = flags.DEFINE_string(
    "output", None, "prepare only: the folder the shards are written to, one subfolder per split."
)
_RECORDS_PER_SHARD = flags.DEFINE_integer(
    "records_per_shard", 8192, "prepare only: images per ArrayRecord shard file."
)
_TEACHER = flags.DEFINE_string(
    "teacher", None, "label only: the teacher's .keras file (default: <workdir>/model.keras)."
)
_RUNNER = flags.DEFINE_enum(
    "runner",
    None,
    ["direct", "dataflow", "flink", "spark"],
    "label only: run the labeling job as an Apache Beam pipeline on this runner (`pip install "
    "'kerasssl[beam]'`); default: config.pseudo_labels.runner, empty there: in-process.",
)
_POOL = flags.DEFINE_string(
    "pool",
    None,
    "label only, with a runner: a folder of image shards (kerasssl.data.shards) to label "
    "instead of the recipe's unlabeled pool.",
)


class UsageError(Exception):
    """A mistake in the command line, reported as one line without a traceback."""


def _config_argument(argv):
    """The value of the last `--config=...` argument, or None."""
    values = [argument[len("--config=") :] for argument in argv if argument.startswith("--config=")]
    return values[-1] if values else None


def _override_fields(argv):
    """The dotted fields of `--config.<field>=<value>` / `--[no]config.<field>` overrides."""
    fields = []
    for argument in argv:
        name = argument.lstrip("-").partition("=")[0]
        if name.startswith("noconfig."):
            name = name[len("no") :]
        if name.startswith("config.") and argument.startswith("-"):
            fields.append(name[len("config.") :])
    return fields


def _check_field(config, field):
    """UsageError naming `field` (and the closest existing one) unless the recipe has it."""
    node, parts = config, field.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, config_dict.ConfigDict):
            return  # An index into a value: config_flags checks it.
        if part not in node:
            close = difflib.get_close_matches(part, list(node.keys()), n=1)
            hint = f"; did you mean {'.'.join([*parts[:depth], close[0]])}?" if close else ""
            raise UsageError(
                f"--config.{field}: the recipe has no field {'.'.join(parts[: depth + 1])}"
                f"{hint} (the recipe file and kerasssl/recipe_defaults.py list every field)"
            )
        node = node[part]


def _check_recipe(argv):
    """Resolves `--config` to a recipe file and checks its preset and overrides.

    Returns argv with `--config=` rewritten to the recipe's path (config_flags wants a file).
    Recipes import no TensorFlow, so loading one here costs milliseconds.
    """
    value = _config_argument(argv)
    if value is None:
        return argv
    try:
        path, preset = recipe_catalog.find_recipe(value)
        config = recipe_catalog.build_config(recipe_catalog.load_module(path), preset)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--config={value}: {error}") from None
    for field in _override_fields(argv):
        _check_field(config, field)
    resolved = f"--config={path}" + (f":{preset}" if preset else "")
    return [resolved if argument.startswith("--config=") else argument for argument in argv]


def _print_help():
    # absl's own help lists only flags of the __main__ module, i.e. the console-script shim.
    print(__doc__.strip())
    print(f"\nRecipes: {', '.join(recipe_catalog.recipe_names())}\n")
    print(flags.FLAGS.module_help(__name__))


def parse_flags(argv):
    """absl flag parser that turns recipe and field mistakes into one clear line."""
    if any(argument in ("-h", "--help", "--helpshort", "-?") for argument in argv[1:]):
        _print_help()
        sys.exit(0)
    try:
        return flags.FLAGS(_check_recipe(argv))
    except UsageError as error:
        _exit_with(str(error))
    except flags.Error as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        if any(line.startswith("Traceback") for line in lines):
            # config_flags pastes the recipe's traceback into the message; its last line is
            # the recipe's own error.
            lines = [lines[0].split(":")[0] + ":", lines[-1].strip()]
        _exit_with(" ".join(lines))
    except (AttributeError, KeyError) as error:
        # ml_collections raises these for overrides the checks above did not foresee; args[0]
        # is the message itself (str() of a KeyError is its repr, escapes and all).
        message = " ".join(str(error.args[0] if error.args else error).split())
        _exit_with(f"a --config.<field>=<value> override names no field of the recipe: {message}")


def _exit_with(message, exit_code=2):
    print(f"kerasssl: error: {message}", file=sys.stderr)
    sys.exit(exit_code)


def main(argv):
    command = argv[1] if len(argv) > 1 else None
    if command not in COMMANDS or len(argv) > 2:
        _exit_with(
            f"usage: kerasssl {{{'|'.join(COMMANDS)}}} --workdir=DIR [--config=RECIPE]; "
            f"got arguments {argv[1:]!r}."
        )
    if command == "recipes":
        print(recipe_catalog.format_recipes(recipe_catalog.describe_recipes()))
        return
    if command == "prepare":
        _prepare()
        return
    if not _WORKDIR.value:
        _exit_with("--workdir is required: the folder where the run is written.")
    if _OVERWRITE.value and command != "train":
        _exit_with(
            f"--overwrite applies to `kerasssl train` and `prepare`, not to `kerasssl {command}`."
        )
    for name, value in (("runner", _RUNNER.value), ("pool", _POOL.value)):
        if value and command != "label":
            _exit_with(f"--{name} applies to `kerasssl label` only, not to `kerasssl {command}`.")
    # Right before TensorFlow loads (its C++ logging reads the level once, then); `--help`,
    # `recipes` and usage errors answer without either.
    tensorflow_logs.filter_stderr()
    from kerasssl import train
    from kerasssl.experiments.divergence import TrainingDivergedError

    try:
        if command == "train":
            if _CONFIG.value is None:
                _exit_with(
                    "--config is required for train, e.g. --config=recipes/supervised_digits.py"
                )
            metrics = train.train_and_evaluate(
                _CONFIG.value, _WORKDIR.value, overwrite=_OVERWRITE.value
            )
        elif command == "label":
            from kerasssl.pseudo_labels.label_split import label_split

            config = _CONFIG.value or train.load_workdir_config(_WORKDIR.value)
            metrics = label_split(
                config, _WORKDIR.value, _TEACHER.value, runner=_RUNNER.value, pool=_POOL.value
            )
        else:
            metrics = train.evaluate_workdir(_WORKDIR.value)
    except (ValueError, TypeError, FileNotFoundError, TrainingDivergedError) as error:
        if os.environ.get("KERASSSL_TRACEBACK"):
            raise
        # 1: the run itself failed (diverged); 2: the command line or its input is wrong.
        exit_code = 1 if isinstance(error, TrainingDivergedError) else 2
        _exit_with(f"{error} (set KERASSSL_TRACEBACK=1 for the traceback)", exit_code)
    print(train.format_metrics(metrics, _WORKDIR.value))


def _prepare():
    if _CONFIG.value is None or not _OUTPUT.value:
        _exit_with(
            "prepare needs --config (its data section is the source) and --output, e.g. "
            "kerasssl prepare --config=supervised_digits --config.data.source=image_folder "
            "--config.data.root=DIR --output=shards/mine"
        )
    tensorflow_logs.filter_stderr()
    from kerasssl.data.to_shards import prepare_shards

    try:
        manifests = prepare_shards(
            _CONFIG.value.data,
            _OUTPUT.value,
            records_per_shard=_RECORDS_PER_SHARD.value,
            overwrite=_OVERWRITE.value,
        )
    except (ValueError, TypeError, FileNotFoundError) as error:
        if os.environ.get("KERASSSL_TRACEBACK"):
            raise
        _exit_with(f"{error} (set KERASSSL_TRACEBACK=1 for the traceback)")
    for split, manifest in manifests.items():
        shape = "x".join(str(size) for size in manifest["image_shape"])
        print(
            f"{split}: {manifest['count']} images {shape}, {len(manifest['classes'])} classes, "
            f"{len(manifest['shards'])} shards in {os.path.join(_OUTPUT.value, split)}"
        )
    print(f"train on them with --config.data.source=shards --config.data.root={_OUTPUT.value}")


def run():
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
