"""The run folder (`--workdir`): which config it holds, starting afresh, and cleaning up a failure.

A rerun resumes a folder only when its config equals the one stored in `config.json`, apart
from `RESULT_NEUTRAL_FIELDS`; any other difference is an error that names the fields, because
resuming (or skipping finished phases) would report metrics that the new config never
produced. `config.json` is written only after that check.
"""

import json
import pathlib
import shutil

from kerasssl import files

# Config fields that cannot change a run's result: they may differ on a rerun that resumes.
# Kept to what is certain. Not here, on purpose: train.eval_batch_size and
# train.steps_per_execution (they change the floating-point order of evaluation and
# pseudo-labeling, so in rare ties a label), data.root/path/data_dir (another folder may hold
# other images) and train.max_eval_examples (the metrics are computed on another subset).
# pseudo_labels.num_workers / pipeline_arguments: how many threads or which machines run the
# Beam labeler, whose outputs do not depend on them.
RESULT_NEUTRAL_FIELDS = (
    "train.verbose",
    "data.verify_checksums",
    "pseudo_labels.num_workers",
    "pseudo_labels.pipeline_arguments",
)
# Fields added after run folders were written: absent from a stored config, they had this value
# (so such a folder still resumes when the field keeps its default).
VALUES_BEFORE_THE_FIELD_EXISTED = {"pseudo_labels.runner": ""}
CONFIG_FILE = "config.json"
# Keys every kerasssl config.json has: `overwrite` deletes only folders whose config has them.
_RUN_CONFIG_KEYS = ("algorithm", "data", "model", "seed", "train")
_MAX_LISTED_DIFFERENCES = 12
_ABSENT = object()


def config_as_json(config):
    """The JSON form of a ConfigDict, as `config.json` stores it (tuples become lists)."""
    return json.loads(config.to_json_best_effort())


def config_differences(stored, resolved):
    """["field: old -> new", ...] for the fields of two JSON configs that differ.

    Fields in `RESULT_NEUTRAL_FIELDS` are ignored; a field only one side has shows as
    `(absent)` on the other.
    """
    old, new = _flatten(stored), _flatten(resolved)
    differences = []
    for field in sorted(old.keys() | new.keys()):
        if field in RESULT_NEUTRAL_FIELDS:
            continue
        old_value = old.get(field, VALUES_BEFORE_THE_FIELD_EXISTED.get(field, _ABSENT))
        new_value = new.get(field, _ABSENT)
        if old_value is _ABSENT or new_value is _ABSENT or old_value != new_value:
            differences.append(f"{field}: {_show(old_value)} -> {_show(new_value)}")
    return differences


def _flatten(tree, prefix=""):
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            # An empty section (model.kwargs = {}) has no fields, as an absent one.
            flat.update(_flatten(value, name))
        else:
            flat[name] = value
    return flat


def _show(value):
    return "(absent)" if value is _ABSENT else json.dumps(value)


def read_stored_config(workdir):
    """The parsed `workdir/config.json`, or None when there is none."""
    path = pathlib.Path(workdir) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is damaged ({error}); it cannot tell which config made this run. Train into "
            "a new --workdir, or delete the folder yourself."
        ) from None
    if not isinstance(stored, dict) or not all(key in stored for key in _RUN_CONFIG_KEYS):
        raise ValueError(
            f"{path} is not a kerasssl config (it lacks {', '.join(_RUN_CONFIG_KEYS)}): "
            f"{workdir} is not a kerasssl run folder. Train into a new --workdir."
        )
    return stored


class RunFolder:
    """Checks `workdir` against a run of `config`, starts it, and cleans up a failed start.

    `check()` reads only: it decides to resume, start afresh or refuse. `start()` then writes
    (deletes the previous run when overwriting, creates the folder, writes `config.json` for
    a new run). If the run fails, `remove_partial_run()` deletes what this run created, but
    only when the run saved no progress, so a rerun never meets a folder that merely looks
    like a run.

    Args:
        workdir: the run folder.
        config: the resolved recipe (a ConfigDict).
        overwrite: True deletes the previous run in `workdir` (a folder whose `config.json` is
            a kerasssl config) and starts afresh.
    """

    def __init__(self, workdir, config, overwrite=False):
        self.workdir = pathlib.Path(workdir)
        self.config = config
        self.overwrite = overwrite
        self.resuming = False
        self._wipe = False
        self._existing_names = set()
        self._first_created = None

    def check(self):
        workdir = self.workdir
        if workdir.exists() and not workdir.is_dir():
            raise ValueError(f"--workdir {workdir} is a file; pass a folder for the run.")
        stored = read_stored_config(workdir) if workdir.is_dir() else None
        if stored is not None:
            if self.overwrite:
                self._wipe = True
                return self
            differences = config_differences(stored, config_as_json(self.config))
            if differences:
                raise ValueError(self._mismatch_message(differences))
            self.resuming = True
            return self
        if workdir.is_dir():
            visible = sorted(p.name for p in workdir.iterdir() if not p.name.startswith("."))
            if visible:
                raise ValueError(
                    f"--workdir {workdir} already holds files ({', '.join(visible[:5])}) but no "
                    f"{CONFIG_FILE}: it is not a kerasssl run folder, so it is neither resumed "
                    "nor overwritten. Train into a new or empty --workdir."
                )
        return self

    def _mismatch_message(self, differences):
        listed = differences[:_MAX_LISTED_DIFFERENCES]
        if len(differences) > len(listed):
            listed.append(f"... and {len(differences) - len(listed)} more")
        return (
            f"--workdir {self.workdir} holds a run made with another config; {CONFIG_FILE} "
            f"differs in: {'; '.join(listed)}. Resuming it would report results that this "
            "config never produced. Train into a new --workdir, or pass --overwrite "
            "(train_and_evaluate(..., overwrite=True)) to delete the previous run and start "
            f"afresh. (Only {', '.join(RESULT_NEUTRAL_FIELDS)} may change on a resume.)"
        )

    def start(self):
        """Deletes the previous run if overwriting, creates the folder, writes config.json."""
        if self._wipe:
            for path in self.workdir.iterdir():
                _remove(path)
        if self.workdir.is_dir():
            self._existing_names = {path.name for path in self.workdir.iterdir()}
        else:
            first_created = self.workdir.resolve()
            while not first_created.parent.exists():
                first_created = first_created.parent
            self._first_created = first_created
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.resuming:
            text = self.config.to_json_best_effort(indent=2) + "\n"
            files.atomic_write_text(self.workdir / CONFIG_FILE, text)
        return self

    def remove_partial_run(self):
        """After a failure: deletes what this run created, unless it resumed or saved progress.

        Progress is any file a rerun would resume from (a checkpoint, a finished phase's
        model, pseudo-label shards): everything but config.json, history.csv, TensorBoard logs
        and hidden temporary files.
        """
        if self.resuming or not self.workdir.is_dir() or _holds_progress(self.workdir):
            return
        if self._first_created is not None:
            shutil.rmtree(self._first_created, ignore_errors=True)
            return
        for path in self.workdir.iterdir():
            if path.name not in self._existing_names:
                _remove(path)


_LOG_FILES = (CONFIG_FILE, "history.csv")


def _holds_progress(workdir):
    for path in workdir.rglob("*"):
        parts = path.relative_to(workdir).parts
        if (
            path.is_file()
            and path.name not in _LOG_FILES
            and "tensorboard" not in parts
            and not any(part.startswith(".") for part in parts)
        ):
            return True
    return False


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
