"""Run files written atomically (a kill mid-write never leaves a half-written checkpoint or
metrics file), metrics as strict JSON, and `.keras` files loaded with a clear error when damaged.
"""

import contextlib
import csv
import io
import json
import logging
import math
import os
import pathlib
import shutil
import tempfile
import zipfile

from absl import logging as absl_logging


def atomic_write_text(path, text):
    """Writes `text` to `path` through a temporary file in the same folder and `os.replace`."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path, content):
    """Writes `content` to `path` through a temporary file in the same folder and `os.replace`."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path, value):
    """Writes `value` as JSON; NaN and infinite floats become null.

    JSON has no NaN: Python would write a bare `NaN` that other parsers (jq, JavaScript,
    pandas' strict mode) reject. null is JSON's "no value", what JavaScript's JSON.stringify
    writes for NaN. It is the right reading for the metrics that are legitimately undefined
    (the AUC of a split that holds one kind of sample); a diverged loss never gets this far,
    training stops with an error first (`kerasssl.experiments.divergence`).
    """
    text = json.dumps(_finite_or_null(value), indent=2, sort_keys=True, allow_nan=False)
    atomic_write_text(path, text + "\n")


def _finite_or_null(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_null(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_null(item) for item in value]
    return value


def atomic_write_csv(path, records):
    """Writes dicts as CSV rows; the columns are every key, in order of first appearance.

    A record without a column leaves its cell empty (warm-up epochs have no split figures).
    """
    columns = list(dict.fromkeys(key for record in records for key in record))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    atomic_write_text(path, text.getvalue())


def atomic_save_model(model, path):
    """Saves a Keras model to `path` (a `.keras` file) atomically."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras infers the format from the suffix, so the temporary name must end in .keras too.
    temporary = path.with_name(f".{path.stem}.partial.keras")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_model(path, **kwargs):
    """`keras.saving.load_model(path, **kwargs)`, with a clear error for a damaged file.

    Keras reports a truncated `.keras` file as "File not found" and a corrupted one as a bare
    `BadZipFile`; both become a ValueError that says the file is damaged and what to do.
    """
    import keras  # here: `kerasssl.files` is also imported where TensorFlow is not needed

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist.")
    damaged = (
        f"{path} is damaged: it is not a complete .keras (zip) file (truncated by a full disk "
        "or an interrupted copy, or changed since it was saved; kerasssl writes it atomically). "
        "Restore it from a copy, or delete it and rerun the `kerasssl train` command that made "
        "it: a finished run rebuilds it from its checkpoint without training again."
    )
    if not zipfile.is_zipfile(path):
        raise ValueError(damaged)
    try:
        return keras.saving.load_model(path, **kwargs)
    except (zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{damaged} ({type(error).__name__}: {error})") from None


def atomic_export(model, folder):
    """Exports `model` as a TensorFlow SavedModel (`model.export`) into `folder` atomically.

    The SavedModel is written beside `folder` and renamed into place, so `folder` never holds
    half an export; an older export is replaced.
    """
    folder = pathlib.Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.with_name(f".{folder.name}.partial")
    previous = folder.with_name(f".{folder.name}.previous")
    for leftover in (temporary, previous):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        with _quiet_tensorflow_logs():
            model.export(str(temporary), format="tf_saved_model", verbose=False)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    # A directory cannot replace a non-empty one: move the old export aside first.
    if folder.exists():
        os.replace(folder, previous)
    os.replace(temporary, folder)
    shutil.rmtree(previous, ignore_errors=True)


@contextlib.contextmanager
def _quiet_tensorflow_logs():
    """Hides TensorFlow's INFO lines about each traced function and asset of an export."""
    # TensorFlow logs through absl, and while saving it sets absl's verbosity and restores
    # the one it found: lowering that verbosity (not a logger's level) is what sticks.
    verbosity = absl_logging.get_verbosity()
    tensorflow_logger = logging.getLogger("tensorflow")
    level = tensorflow_logger.level
    absl_logging.set_verbosity(min(verbosity, absl_logging.WARNING))
    tensorflow_logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        absl_logging.set_verbosity(verbosity)
        tensorflow_logger.setLevel(level)
