"""Runs a recipe end to end: data, model, algorithm, `fit`, evaluation, files in the workdir.

A workdir holds:
    config.json      the resolved recipe (what `kerasssl evaluate` rebuilds the data from)
    backup/          Keras BackupAndRestore state: rerunning the same command resumes
    tensorboard/     TensorBoard logs
    history.csv      one row per epoch (appended across resumes)
    model.keras      the trained network (written atomically)
    metrics.json     final metrics, at least `test_accuracy` (written atomically)
"""

import json
import math
import pathlib
import time

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from kerasssl import files, losses, optimizers, schedules
from kerasssl.algorithms.supervised import Supervised
from kerasssl.data import pipelines
from kerasssl.data.prepare import prepare_data
from kerasssl.models import registry

ALGORITHMS = ("supervised",)
DTYPE_POLICIES = ("float32", "mixed_bfloat16")


def seed_everything(seed):
    """Python, NumPy and TensorFlow seeds, and deterministic TF kernels: same seed, same run."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(config, num_classes, input_shape):
    kwargs = dict(config.model.kwargs.to_dict()) if config.model.kwargs else {}
    return registry.get_model(
        config.model.name, num_classes=num_classes, input_shape=input_shape, **kwargs
    )


def steps_per_epoch(config, num_examples):
    if config.train.steps_per_epoch:
        return int(config.train.steps_per_epoch)
    return max(1, math.ceil(num_examples / config.train.batch_size))


def learning_rate_schedule(config, total_steps, steps_in_epoch):
    train = config.train
    peak = train.base_learning_rate
    if train.linear_scaling:
        peak = schedules.scale_learning_rate(peak, train.batch_size)
    warmup_steps = min(int(train.warmup_epochs * steps_in_epoch), total_steps - 1)
    return schedules.warmup_cosine_schedule(
        peak, total_steps, warmup_steps, final_fraction=train.final_learning_rate_fraction
    )


def build_supervised(config, model, total_steps, steps_in_epoch):
    train = config.train
    coupled = train.weight_decay_mode == "coupled"
    algorithm = Supervised(
        model,
        label_smoothing=train.label_smoothing,
        l2_weight_decay=train.weight_decay if coupled else 0.0,
    )
    optimizer = optimizers.build_optimizer(
        train.optimizer,
        learning_rate_schedule(config, total_steps, steps_in_epoch),
        model,
        weight_decay=train.weight_decay,
        weight_decay_mode=train.weight_decay_mode,
        momentum=train.momentum,
        nesterov=train.nesterov,
    )
    algorithm.compile(
        optimizer=optimizer,
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        steps_per_execution=train.steps_per_execution,
    )
    return algorithm


def _validate(config):
    if config.algorithm not in ALGORITHMS:
        raise ValueError(
            f"config.algorithm must be one of {ALGORITHMS}, got {config.algorithm!r}."
        )
    if config.train.dtype_policy not in DTYPE_POLICIES:
        raise ValueError(
            f"config.train.dtype_policy must be one of {DTYPE_POLICIES}, got "
            f"{config.train.dtype_policy!r}."
        )
    if config.train.batch_size < 1 or config.train.epochs < 1:
        raise ValueError(
            "config.train.batch_size and config.train.epochs must be >= 1, got "
            f"{config.train.batch_size} and {config.train.epochs}."
        )


def _eval_subset(data, config):
    limit = config.train.max_eval_examples
    if limit and len(data) > limit:
        return data.subset(np.arange(limit))
    return data


def _eval_dataset(data, config):
    return pipelines.supervised_dataset(
        _eval_subset(data, config), config.train.eval_batch_size, training=False, seed=config.seed
    )


def completed_epochs(workdir):
    """Epochs that `BackupAndRestore` has saved in `workdir/backup` (0 for a new run)."""
    path = pathlib.Path(workdir) / "backup" / "training_metadata.json"
    if not path.is_file():
        return 0
    # Keras stores the number of finished epochs (it becomes fit's initial_epoch).
    return int(json.loads(path.read_text())["epoch"])


def _callbacks(workdir, extra):
    return [
        keras.callbacks.BackupAndRestore(
            str(workdir / "backup"), save_freq="epoch", delete_checkpoint=False
        ),
        keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True),
        keras.callbacks.TensorBoard(str(workdir / "tensorboard"), write_graph=False),
        *extra,
    ]


def train_and_evaluate(config, workdir, callbacks=()):
    """Trains the recipe `config` into `workdir` and returns the final metrics.

    Rerunning with the same config and workdir after an interruption resumes from the last
    completed epoch (Keras `BackupAndRestore`); a finished run is only evaluated again.
    """
    config = ml_collections.ConfigDict(config.to_dict())
    _validate(config)
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    files.atomic_write_text(workdir / "config.json", config.to_json_best_effort(indent=2) + "\n")
    seed_everything(config.seed)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.train.dtype_policy)
    try:
        data = prepare_data(config.data, seed=config.seed)
        model = build_model(config, data.num_classes, data.input_shape)
        steps_in_epoch = steps_per_epoch(config, len(data.labeled))
        total_steps = steps_in_epoch * config.train.epochs
        algorithm = build_supervised(config, model, total_steps, steps_in_epoch)
        # A resumed run continues the exact data stream where the interrupted one stopped.
        train_dataset = pipelines.supervised_dataset(
            data.labeled,
            config.train.batch_size,
            training=True,
            seed=config.seed,
            augment=config.data.augment,
            start_step=completed_epochs(workdir) * steps_in_epoch,
        )
        validation_dataset = _eval_dataset(data.validation, config) if len(data.validation) else None
        start = time.perf_counter()
        history = algorithm.fit(
            train_dataset,
            epochs=config.train.epochs,
            steps_per_epoch=steps_in_epoch,
            validation_data=validation_dataset,
            callbacks=_callbacks(workdir, callbacks),
            verbose=config.train.verbose,
            shuffle=False,  # the pipeline shuffles, seeded

        )
        train_seconds = time.perf_counter() - start
        files.atomic_save_model(model, workdir / "model.keras")
        test = algorithm.evaluate(_eval_dataset(data.test, config), return_dict=True, verbose=0)
        metrics = {
            "test_accuracy": float(test["accuracy"]),
            "test_loss": float(test["loss"]),
            "num_parameters": int(model.count_params()),
            "num_labeled": len(data.labeled),
            "epochs": config.train.epochs,
            "steps_per_epoch": steps_in_epoch,
            "train_seconds_this_run": round(train_seconds, 2),
            "epochs_run_this_time": len(history.epoch),
        }
        if validation_dataset is not None:
            validation = algorithm.evaluate(validation_dataset, return_dict=True, verbose=0)
            metrics["validation_accuracy"] = float(validation["accuracy"])
        if data.label_noise is not None:
            metrics["realised_noise_rate"] = float(np.mean(data.label_noise.is_noisy))
        files.atomic_write_json(workdir / "metrics.json", metrics)
        return metrics
    finally:
        keras.config.set_dtype_policy(previous_policy)


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
    data = prepare_data(config.data, seed=config.seed)
    model = keras.saving.load_model(model_path)
    model.compile(
        loss=losses.CrossEntropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    test = model.evaluate(_eval_dataset(data.test, config), return_dict=True, verbose=0)
    metrics_path = workdir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics.update({"test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"])})
    files.atomic_write_json(metrics_path, metrics)
    return metrics


def format_metrics(metrics, workdir):
    lines = [f"{name}: {value}" for name, value in sorted(metrics.items())]
    lines.append(f"run folder: {pathlib.Path(workdir).resolve()}")
    return "\n".join(lines)
