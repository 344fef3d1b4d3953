"""DivideMix on noisy labels: warm-up epochs, then a co-divide (plain Python) before each epoch.

The run is resumable between epochs: after every epoch both networks, both optimizers, the
in-step seed state and the per-epoch history go into one file (`divide_mix_state.npz`, written
atomically); rerunning the same command continues from the last completed epoch.

`history.csv` holds the same per-epoch records as `metrics.json`'s `per_epoch` (epochs counted
from 1; the co-divide's clean-set sizes and, when the noise is known, split AUC, precision and
recall). It is rewritten from the saved state after each save, so a kill anywhere leaves no
duplicate or orphan row. TensorBoard gets the same figures under `tensorboard/divide_mix`.
`model.keras` is the averaged network users predict with (`DivideMix.averaged_network`).

With config.data.source="shards" the noisy training set is never in memory: the warm-up and
MixMatch streams and the co-divide's per-sample-loss pass read it a batch at a time, by index,
through the same stateless shuffles and batches as in memory, so a run on shards of an array
source is bit for bit the in-memory run. Memory holds its labels, the split indices and the
per-sample losses and clean probabilities (and their `loss_average_epochs` history).
"""

import json
import math
import os
import pathlib
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from kerasssl import files, losses, optimizers
from kerasssl.algorithms.divide_mix import DivideMix
from kerasssl.algorithms.seed_generator_checkpointing import seed_generator_states
from kerasssl.data import divide_mix_pipeline
from kerasssl.experiments import context as shared
from kerasssl.experiments import progress
from kerasssl.experiments.divergence import StopOnDivergence
from kerasssl.noisy_labels.co_divide import co_divide
from kerasssl.noisy_labels.gmm_split import check_threshold

STATE_FILE = "divide_mix_state.npz"


def check_settings(settings, epochs):
    check_threshold(settings.threshold)
    if not 0 <= settings.warmup_epochs < epochs:
        raise ValueError(
            f"config.dividemix.warmup_epochs must be in [0, config.train.epochs={epochs}); got "
            f"{settings.warmup_epochs}. DivideMix needs at least one epoch after warm-up."
        )
    if settings.lambda_u < 0:
        raise ValueError(f"config.dividemix.lambda_u must be >= 0; got {settings.lambda_u}.")
    for field in ("steps_per_epoch", "warmup_batch_size"):
        value = settings.get(field, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"config.dividemix.{field} must be an int >= 0; got {value!r}.")
    if settings.get("labeled_pass_epochs", False) and settings.get("steps_per_epoch", 0):
        raise ValueError(
            "config.dividemix.labeled_pass_epochs sets each DivideMix epoch's length itself: "
            "leave config.dividemix.steps_per_epoch at 0."
        )


def check_decay(settings, train_config):
    if settings.get("decay_all_parameters", False) and train_config.weight_decay_mode != "coupled":
        raise ValueError(
            "config.dividemix.decay_all_parameters is the reference's SGD weight_decay, a "
            "coupled L2: set config.train.weight_decay_mode='coupled'."
        )


def divide_mix_steps(settings, steps_in_pass):
    """Steps of each DivideMix epoch: `config.dividemix.steps_per_epoch`, or `steps_in_pass`.

    `steps_in_pass` is `config.train.steps_per_epoch`, or one pass over the noisy training set
    at `config.train.batch_size`. With `labeled_pass_epochs` each DivideMix epoch is instead
    a pass over its labeled (clean) split, as the reference, so it shrinks with the noise
    rate: the count is set per epoch (`labeled_pass_steps`), after the co-divide.
    """
    return settings.get("steps_per_epoch", 0) or steps_in_pass


def warmup_batch_size(settings, train_config):
    """The warm-up batch: `config.dividemix.warmup_batch_size`, or the reference's 2B."""
    return settings.get("warmup_batch_size", 0) or 2 * train_config.batch_size


def labeled_pass_steps(sizes, batch_size):
    """Steps of one pass over the labeled splits (their mean size: both networks step together).

    The reference trains each network for `len(labeled_split) // B + 1` batches of its own
    split; here both networks take each step together, so the epoch covers the mean size.
    """
    labeled = (sizes["labeled_size_1"] + sizes["labeled_size_2"]) / 2
    return max(1, math.ceil(labeled / batch_size))


def epoch_learning_rate(config, epoch):
    """The learning rate of epoch `epoch` when epochs have data-dependent lengths.

    With `labeled_pass_epochs` the run's step count is not known in advance, so the recipe's
    warm-up + cosine runs over epochs instead of steps, evaluated at each epoch's middle and
    held for the epoch (the reference's learning rate is also constant within an epoch).
    """
    settings = config.dividemix
    restart = settings.warmup_epochs if settings.get("schedule_per_phase", False) else 0
    schedule = shared.learning_rate_schedule(config.train, config.train.epochs, 1, restart)
    return float(schedule(epoch + 0.5))


def build_algorithm(config, data, steps_in_epoch, divide_mix_steps_in_epoch):
    """The DivideMix algorithm, compiled; `steps_in_epoch` is a warm-up epoch's length."""
    settings = config.dividemix
    check_decay(settings, config.train)
    networks = [
        shared.build_model(
            config, data.num_classes, data.input_shape, name=f"{config.model.name}_network_{i}"
        )
        for i in (1, 2)
    ]
    algorithm = DivideMix(
        *networks,
        num_classes=data.num_classes,
        warmup_epochs=settings.warmup_epochs,
        lambda_u=settings.lambda_u,
        temperature=settings.temperature,
        alpha=settings.alpha,
        rampup_epochs=settings.rampup_epochs,
        prior_weight=settings.prior_weight,
        confidence_penalty=settings.confidence_penalty,
        l2_weight_decay=shared.coupled_l2(config.train),
        decay_all_parameters=settings.get("decay_all_parameters", False),
        seed=config.seed,
    )
    warmup_steps = settings.warmup_epochs * steps_in_epoch
    total_steps = (
        warmup_steps + (config.train.epochs - settings.warmup_epochs) * divide_mix_steps_in_epoch
    )
    # Optionally one cosine per phase: the warm-up ends annealed and the DivideMix epochs get
    # a full cosine of their own instead of the tail of a shared one.
    restart_step = warmup_steps if settings.get("schedule_per_phase", False) else 0
    if settings.get("labeled_pass_epochs", False):
        # A settable rate, assigned before each epoch (`epoch_learning_rate`).
        optimizer = optimizers.build_optimizer(
            config.train.optimizer,
            epoch_learning_rate(config, 0),
            networks[0],
            weight_decay=config.train.weight_decay,
            weight_decay_mode=config.train.weight_decay_mode,
            momentum=config.train.momentum,
            nesterov=config.train.nesterov,
        )
    else:
        optimizer = shared.build_optimizer(
            config.train, networks[0], total_steps, steps_in_epoch, restart_step
        )
    algorithm.compile(
        optimizer=optimizer,
        loss=losses.CrossEntropy(),
        metrics=[shared.accuracy_metric()],
        steps_per_execution=config.train.steps_per_execution,
        jit_compile=config.train.jit_compile,
    )
    algorithm.build_optimizers()
    return algorithm


def _state_variables(algorithm):
    return [
        *algorithm.network_1.weights,
        *algorithm.network_2.weights,
        *algorithm.optimizer.variables,
        *algorithm.second_optimizer.variables,
        # The in-step draws and the networks' dropout and stochastic-depth seeds.
        *seed_generator_states(algorithm),
    ]


def save_state(algorithm, path, completed_epochs, history, loss_history=()):
    """Everything needed to continue after `completed_epochs`, in one atomically replaced file.

    `loss_history` is the co-divide's per-network list of previous normalised losses (see
    `config.dividemix.loss_average_epochs`), saved so a resumed run averages the same epochs.
    """
    path = pathlib.Path(path)
    arrays = {f"v{i}": np.asarray(v) for i, v in enumerate(_state_variables(algorithm))}
    state = {"completed_epochs": completed_epochs, "history": history}
    arrays["state"] = np.array(json.dumps(state))
    if loss_history and all(loss_history):
        arrays["loss_history"] = np.asarray(loss_history, np.float64)  # [2, epochs, N]
    temporary = path.with_name(f".{path.stem}.partial.npz")
    with open(temporary, "wb") as stream:
        np.savez(stream, **arrays)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def load_state(algorithm, path):
    """Restores a `save_state` file into `algorithm`.

    Returns:
        (completed epochs, history, loss history: one list of arrays per network).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        return 0, [], [[], []]
    with np.load(path) as stored:
        variables = _state_variables(algorithm)
        stored_count = sum(1 for name in stored.files if name.startswith("v"))
        if stored_count != len(variables):
            raise ValueError(
                f"{path} holds {stored_count} variables but this recipe's DivideMix has "
                f"{len(variables)}: it was written by another config; use a new --workdir."
            )
        for index, variable in enumerate(variables):
            variable.assign(stored[f"v{index}"])
        state = json.loads(str(stored["state"]))
        loss_history = [[], []]
        if "loss_history" in stored.files:
            loss_history = [list(network) for network in stored["loss_history"]]
    return state["completed_epochs"], state["history"], loss_history


class _StopAfterOneEpoch(keras.callbacks.Callback):
    """Lets `fit(initial_epoch=k, epochs=N)` run epoch k only, so Keras prints "Epoch k+1/N"."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


def _epoch_callbacks(workdir, extra):
    workdir = pathlib.Path(workdir)
    return [
        # First: a diverged epoch raises before it is logged, and so before its state is saved.
        StopOnDivergence(workdir),
        keras.callbacks.TensorBoard(str(workdir / "tensorboard"), write_graph=False),
        *extra,
        _StopAfterOneEpoch(),  # last: every other callback sees the epoch end first
    ]


def _save_epoch(algorithm, workdir, completed_epochs, history, loss_history=()):
    # The state first, then the CSV rewritten from the same history: a kill in between leaves
    # the CSV one row short, and the next run rewrites it from the state it resumes from.
    save_state(
        algorithm, workdir / STATE_FILE, completed_epochs, history, loss_history=loss_history
    )
    files.atomic_write_csv(workdir / "history.csv", history)


def _write_scalars(writer, record, step):
    """The record's figures as TensorBoard scalars (Keras' own callback has the losses)."""
    with writer.as_default():
        for name, value in record.items():
            if name not in ("epoch", "phase") and isinstance(value, int | float):
                tf.summary.scalar(name, value, step=step)
    writer.flush()


def _epoch_banner(config, record, epochs):
    if record["phase"] == "warmup":
        progress.banner(config, f"DivideMix warm-up: epoch {record['epoch']} of {epochs}")
        return
    sizes = " and ".join(str(record[f"clean_set_size_{index}"]) for index in (1, 2))
    text = f"DivideMix: epoch {record['epoch']} of {epochs}; co-divide clean sets {sizes}"
    if "auc_1" in record:
        text += f", split AUC {record['auc_1']:.3f} and {record['auc_2']:.3f}"
    progress.banner(config, text)


def _network_accuracy(network, dataset):
    correct = total = 0
    for images, labels in dataset:
        predicted = np.argmax(network(images, training=False), axis=-1)
        correct += int(np.sum(predicted == labels.numpy()))
        total += len(predicted)
    return correct / max(total, 1)


def run(context):
    config, data, workdir = context.config, context.data, context.workdir
    settings = config.dividemix
    epochs = config.train.epochs
    check_settings(settings, epochs)
    if len(data.unlabeled):
        warnings.warn(
            "DivideMix trains on the noisy labeled split only; config.data.labels_per_class "
            "hid labels, so the hidden images are unused.",
            stacklevel=2,
        )
    # On shards (config.data.source="shards") the training set stays on disk: the warm-up and
    # MixMatch streams and the co-divide's loss pass read it a batch at a time, by index, so
    # memory holds its labels, split indices and per-sample losses, not its images.
    train = data.labeled
    batch_size = config.train.batch_size
    warmup_batch = warmup_batch_size(settings, config.train)
    steps_in_epoch = config.train.steps_per_epoch or math.ceil(len(train) / warmup_batch)
    divide_mix_steps_in_epoch = divide_mix_steps(
        settings, shared.steps_per_epoch(config.train, len(train))
    )
    labeled_pass = settings.get("labeled_pass_epochs", False)
    algorithm = build_algorithm(config, data, steps_in_epoch, divide_mix_steps_in_epoch)
    start_epoch, history, loss_history = load_state(algorithm, workdir / STATE_FILE)
    if history:
        # The run may have been killed after saving its state but before writing the CSV.
        files.atomic_write_csv(workdir / "history.csv", history)
    is_noisy = data.label_noise.is_noisy if data.label_noise is not None else None
    validation = shared.eval_dataset(data.validation, config) if len(data.validation) else None
    callbacks = _epoch_callbacks(workdir, context.callbacks)
    scalar_writer = tf.summary.create_file_writer(str(workdir / "tensorboard" / "divide_mix"))
    start = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        epoch_start = time.perf_counter()
        record = {"epoch": epoch + 1}
        steps = steps_in_epoch
        if labeled_pass:
            record["learning_rate"] = epoch_learning_rate(config, epoch)
            for optimizer in (algorithm.optimizer, algorithm.second_optimizer):
                optimizer.learning_rate = record["learning_rate"]
        if epoch < settings.warmup_epochs:
            record["phase"] = "warmup"
            dataset = divide_mix_pipeline.warmup_dataset(
                train, warmup_batch, seed=config.seed, augment=config.data.augment,
                start_step=epoch * steps_in_epoch,
            )  # fmt: skip
        else:
            record["phase"] = "divide_mix"
            clean_probabilities, split = co_divide(
                (algorithm.network_1, algorithm.network_2),
                train.images,
                train.labels,
                threshold=settings.threshold,
                is_noisy=is_noisy,
                seed=config.seed + epoch,
                batch_size=config.train.eval_batch_size,
                loss_history=loss_history,
                average_epochs=settings.get("loss_average_epochs", 1),
            )
            record.update(split)
            # Each network learns from the split the other one made.
            dataset, sizes = divide_mix_pipeline.divide_mix_dataset(
                train,
                clean_probabilities[::-1],
                settings.threshold,
                batch_size,
                seed=config.seed,
                epoch=epoch,
                augment=config.data.augment,
            )
            record.update(sizes)
            steps = labeled_pass_steps(sizes, batch_size) if labeled_pass else (
                divide_mix_steps_in_epoch
            )  # fmt: skip
            record["steps"] = steps
        algorithm.start_epoch(epoch, steps)
        if record["phase"] == "divide_mix":
            record["lambda_u"] = float(algorithm.unlabeled_weight())  # at the epoch's first step
        _epoch_banner(config, record, epochs)
        fit = algorithm.fit(
            dataset,
            initial_epoch=epoch,
            epochs=epochs,
            steps_per_epoch=steps,
            callbacks=callbacks,
            verbose=progress.fit_verbosity(config.train),
            shuffle=False,  # the pipeline shuffles, seeded
        )
        record.update({name: float(values[-1]) for name, values in fit.history.items()})
        if validation is not None:
            record["validation_accuracy"] = float(
                algorithm.evaluate(validation, return_dict=True, verbose=0)["accuracy"]
            )
        record["seconds"] = round(time.perf_counter() - epoch_start, 2)
        history.append(record)
        _save_epoch(algorithm, workdir, epoch + 1, history, loss_history)
        _write_scalars(scalar_writer, record, step=epoch)  # Keras' epoch index, as its scalars
    scalar_writer.close()
    seconds = time.perf_counter() - start

    network = algorithm.averaged_network(data.input_shape)
    files.atomic_save_model(network, workdir / "model.keras")
    # Scored as `kerasssl evaluate` scores model.keras.
    network.compile(loss=losses.CrossEntropy(), metrics=[shared.accuracy_metric()])
    test_dataset = shared.eval_dataset(data.test, config)
    test = network.evaluate(test_dataset, return_dict=True, verbose=0)
    metrics = {
        "test_accuracy": float(test["accuracy"]),
        "test_loss": float(test["loss"]),
        "test_accuracy_network_1": _network_accuracy(algorithm.network_1, test_dataset),
        "test_accuracy_network_2": _network_accuracy(algorithm.network_2, test_dataset),
        "num_parameters_per_network": int(algorithm.network_1.count_params()),
        "num_labeled": len(train),
        "epochs": epochs,
        "warmup_epochs": settings.warmup_epochs,
        "steps_per_epoch": steps_in_epoch,
        "warmup_batch_size": warmup_batch,
        "divide_mix_steps_per_epoch": "labeled pass" if labeled_pass else divide_mix_steps_in_epoch,
        "train_seconds_this_run": round(seconds, 2),
        "epochs_run_this_time": epochs - start_epoch,
        "per_epoch": history,
    }
    if validation is not None:
        metrics["validation_accuracy"] = float(
            network.evaluate(validation, return_dict=True, verbose=0)["accuracy"]
        )
    return metrics
