"""Runs a recipe end to end: data, the algorithm's experiment, evaluation, files in the workdir.

A workdir holds:
    config.json      the resolved recipe (what `kerasssl evaluate` rebuilds the data from, and
                     what a rerun must match to resume: see `kerasssl.run_folder`)
    backup/          Keras BackupAndRestore state: rerunning the same command resumes
    tensorboard/     TensorBoard logs
    history.csv      one row per epoch (appended across resumes)
    model.keras      the final network (written atomically); loading it needs `import kerasssl`
    saved_model/     the same network as a TensorFlow SavedModel: serving needs TensorFlow only
    metrics.json     final metrics, at least `test_accuracy`, and `wall_seconds` (what the
                     run cost over every call that trained it, killed ones too:
                     `kerasssl.run_clock`), written atomically
Multi-phase algorithms (teacher then student, rounds) keep one such folder per phase inside it.
"""

import json
import pathlib
import time

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from kerasssl import distribute, files, losses, run_clock, run_folder
from kerasssl.data.prepare import prepare_data
from kerasssl.experiments import context as shared
from kerasssl.experiments import get_experiment
from kerasssl.experiments.context import ExperimentContext

DTYPE_POLICIES = ("float32", "mixed_bfloat16")
# Algorithms whose evaluated network trains with one Keras optimizer that `fit` can finalize
# (MPL: its student's optimizer); the others' two-network steps would average the wrong list.
EMA_ALGORITHMS = ("supervised", "fix_match", "meta_pseudo_labels")


def seed_everything(seed, deterministic_ops=True):
    """Python, NumPy and TensorFlow seeds, and deterministic TF kernels: same seed, same run.

    `deterministic_ops=False` (XLA runs, `train.jit_compile`) turns TF's op determinism off
    again: Keras silently drops `jit_compile=True` while it is on.
    """
    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
    else:
        # No public API turns it off, and it stays on for the process once enabled.
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()


def _validate(config):
    get_experiment(config.algorithm)
    distribute.validate(config.distribute)
    if config.train.dtype_policy not in DTYPE_POLICIES:
        raise ValueError(
            f"config.train.dtype_policy must be one of {DTYPE_POLICIES}, got "
            f"{config.train.dtype_policy!r}."
        )
    ema_momentum = config.train.get("ema_momentum", 0.0)
    if not 0.0 <= ema_momentum < 1.0:
        raise ValueError(
            f"config.train.ema_momentum must be in [0, 1) (0: no EMA), got {ema_momentum}."
        )
    if ema_momentum and config.algorithm not in EMA_ALGORITHMS:
        raise ValueError(
            f"config.train.ema_momentum={ema_momentum} is supported by {EMA_ALGORITHMS}, not "
            f"{config.algorithm!r}: set it to 0."
        )
    if config.train.batch_size < 1 or config.train.epochs < 1:
        raise ValueError(
            "config.train.batch_size and config.train.epochs must be >= 1, got "
            f"{config.train.batch_size} and {config.train.epochs}."
        )


def train_and_evaluate(config, workdir, callbacks=(), overwrite=False):
    """Trains the recipe `config` into `workdir` and returns the final metrics.

    Rerunning with the same config and workdir after an interruption resumes from the last
    completed epoch (Keras `BackupAndRestore`); a finished run is only evaluated again. A
    workdir whose `config.json` differs from `config` (beyond `run_folder.RESULT_NEUTRAL_FIELDS`)
    is an error unless `overwrite=True`, which deletes that run and starts afresh. A run that
    fails before saving any progress leaves no workdir behind. A NaN or infinite loss raises
    `TrainingDivergedError` and keeps the last good checkpoint.
    """
    config = ml_collections.ConfigDict(config.to_dict())
    _validate(config)
    # Before any file: a TPU that does not answer or an uneven global batch fails here.
    strategy = distribute.build_strategy(config.distribute)
    distribute.check_global_batch(strategy, config.train)
    with distribute.process_workdir(strategy, workdir) as workdir:
        return _train_in_folder(config, workdir, strategy, callbacks, overwrite)


def _train_in_folder(config, workdir, strategy, callbacks, overwrite):
    start = time.perf_counter()
    # Nothing is written before the workdir's stored config has been checked.
    folder = run_folder.RunFolder(workdir, config, overwrite=overwrite).check()
    workdir = folder.workdir
    seed_everything(config.seed, deterministic_ops=not config.train.jit_compile)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.train.dtype_policy)
    try:
        # Bad data fails here, before the workdir is touched.
        data = prepare_data(config.data, seed=config.seed)
        folder.start()
        try:
            clock = run_clock.RunClock(workdir, resuming=folder.resuming, since=start)
            with clock:
                experiment = get_experiment(config.algorithm)
                # Networks, optimizers and algorithms built in the scope have mirrored
                # variables; fit then splits each global batch over the replicas.
                with strategy.scope(), distribute.multi_worker_compatibility(strategy):
                    context = ExperimentContext(config, workdir, data, tuple(callbacks))
                    metrics = experiment.run(context)
                export_saved_model(workdir)
                if data.label_noise is not None:
                    metrics["realised_noise_rate"] = float(np.mean(data.label_noise.is_noisy))
                if clock.seconds() is not None:  # None: a run from before wall_seconds
                    metrics["wall_seconds"] = round(clock.seconds(), 2)
                    metrics["wall_machines"] = clock.machines()
                files.atomic_write_json(workdir / "metrics.json", metrics)
        except BaseException:
            folder.remove_partial_run()
            raise
        return metrics
    finally:
        keras.config.set_dtype_policy(previous_policy)


def export_saved_model(workdir):
    """Exports `workdir/model.keras` to `workdir/saved_model/` (`tf.saved_model.load`, TF Serving).

    Every experiment saves its final network as model.keras; exporting that file here, in one
    place, keeps both forms of the network identical.
    """
    workdir = pathlib.Path(workdir)
    model = files.load_model(workdir / "model.keras", compile=False)
    files.atomic_export(model, workdir / "saved_model")


def load_workdir_config(workdir):
    path = pathlib.Path(workdir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"--workdir {workdir} has no config.json: train into it first with "
            "`kerasssl train --config=... --workdir=...`."
        )
    return ml_collections.ConfigDict(json.loads(path.read_text()))


def evaluate_workdir(workdir):
    """Evaluates `workdir/model.keras` on the test split of the run's data; updates metrics.json."""
    workdir = pathlib.Path(workdir)
    config = load_workdir_config(workdir)
    model_path = workdir / "model.keras"
    if not model_path.is_file():
        raise FileNotFoundError(
            f"{model_path} does not exist: the run has not finished training; rerun the same "
            "`kerasssl train` command to resume it."
        )
    model = files.load_model(model_path)
    data = prepare_data(config.data, seed=config.seed)
    model.compile(loss=losses.CrossEntropy(), metrics=[shared.accuracy_metric()])
    test = model.evaluate(shared.eval_dataset(data.test, config), return_dict=True, verbose=0)
    metrics_path = workdir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics.update({"test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"])})
    files.atomic_write_json(metrics_path, metrics)
    return metrics


def format_metrics(metrics, workdir):
    lines = [f"{name}: {value}" for name, value in sorted(metrics.items())]
    lines.append(f"run folder: {pathlib.Path(workdir).resolve()}")
    return "\n".join(lines)
