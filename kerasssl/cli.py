"""The `kerasssl` command: `kerasssl train --config=recipes/x.py[:arg] --workdir=DIR`,
`kerasssl evaluate --workdir=DIR` and `kerasssl label --config=RECIPE --workdir=DIR
[--teacher=model.keras]` (a teacher's probabilities over the recipe's unlabeled pool).

The logic lives in importable modules (`kerasssl.train`), so notebooks call the same code.
"""

import os
import pathlib
import sys

# TensorFlow's C++ start-up chatter hides the progress bars; errors still print.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags
from ml_collections import config_flags

COMMANDS = ("train", "evaluate", "label")
RECIPES_DIR = pathlib.Path(__file__).resolve().parents[1] / "recipes"

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "Recipe file, `recipes/<name>.py[:arg]` (or just `<name>[:arg]`); fields are overridden "
    "with --config.<field>=<value>.",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run folder: checkpoints, TensorBoard logs, config.json, metrics.json."
)
_OVERWRITE = flags.DEFINE_bool(
    "overwrite",
    False,
    "train only: delete the previous run in --workdir (a folder with a kerasssl config.json) "
    "and start afresh; without it a workdir whose config differs is an error.",
)
_TEACHER = flags.DEFINE_string(
    "teacher", None, "label only: the teacher's .keras file (default: <workdir>/model.keras)."
)


class UsageError(Exception):
    """A mistake in the command line, reported as one line without a traceback."""


def available_recipes():
    return sorted(path.stem for path in RECIPES_DIR.glob("*.py") if not path.stem.startswith("_"))


def _resolve_recipe(value):
    """Maps `name[:arg]` or `path.py[:arg]` to an existing recipe path, or raises UsageError."""
    path, separator, arg = value.partition(":")
    candidates = [pathlib.Path(path)]
    if not path.endswith(".py"):
        candidates += [pathlib.Path(f"{path}.py"), RECIPES_DIR / f"{path}.py"]
    candidates.append(RECIPES_DIR / pathlib.Path(path).name)
    for candidate in candidates:
        if candidate.is_file():
            return f"{candidate}{separator}{arg}"
    raise UsageError(
        f"--config: no recipe file {path!r}. Pass a path such as recipes/supervised_digits.py "
        f"or one of the recipe names: {', '.join(available_recipes())}."
    )


def _rewrite_config_flag(argv):
    rewritten = []
    for argument in argv:
        if argument.startswith("--config="):
            argument = "--config=" + _resolve_recipe(argument[len("--config=") :])
        rewritten.append(argument)
    return rewritten


def parse_flags(argv):
    """absl flag parser that turns recipe and field mistakes into one clear line."""
    if any(argument in ("-h", "--help", "--helpshort", "-?") for argument in argv[1:]):
        # absl's own help lists only flags of the __main__ module, i.e. the console-script shim.
        print(__doc__.strip())
        print(f"\nRecipes: {', '.join(available_recipes())}\n")
        print(flags.FLAGS.module_help(__name__))
        sys.exit(0)
    try:
        return flags.FLAGS(_rewrite_config_flag(argv))
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
        # ml_collections raises these for --config.<field> overrides that the recipe lacks.
        field = str(error).strip("\"'")
        _exit_with(
            f"unknown config field {field!r} in a --config.<field>=<value> override: the recipe "
            "has no such field. Check its spelling against the recipe file, which lists them all."
        )


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
    if not _WORKDIR.value:
        _exit_with("--workdir is required: the folder where the run is written.")
    if _OVERWRITE.value and command != "train":
        _exit_with(f"--overwrite applies to `kerasssl train` only, not to `kerasssl {command}`.")
    # Imported here so `kerasssl --help` and usage errors answer without loading TensorFlow.
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
            metrics = label_split(config, _WORKDIR.value, _TEACHER.value)
        else:
            metrics = train.evaluate_workdir(_WORKDIR.value)
    except (ValueError, TypeError, FileNotFoundError, TrainingDivergedError) as error:
        if os.environ.get("KERASSSL_TRACEBACK"):
            raise
        # 1: the run itself failed (diverged); 2: the command line or its input is wrong.
        exit_code = 1 if isinstance(error, TrainingDivergedError) else 2
        _exit_with(f"{error} (set KERASSSL_TRACEBACK=1 for the traceback)", exit_code)
    print(train.format_metrics(metrics, _WORKDIR.value))


def run():
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
