"""DivideMix on noisy labels: warm-up epochs, then a co-divide (plain Python) before each epoch.

The run is resumable between epochs: after every epoch both networks, both optimizers, the
in-step seed state and the per-epoch history go into one file (`divide_mix_state.npz`, written
atomically); rerunning the same command continues from the last completed epoch.
"""

import json
import os
import pathlib
import time
import warnings

import keras
import numpy as np

from kerasssl import files, losses
from kerasssl.algorithms.divide_mix import DivideMix
from kerasssl.data import divide_mix_pipeline
from kerasssl.experiments import context as shared
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
    steps = settings.get("steps_per_epoch", 0)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(
            "config.dividemix.steps_per_epoch must be an int >= 0 (0: as many steps as a "
            f"warm-up epoch); got {steps!r}."
        )


def divide_mix_steps(settings, warmup_steps):
    """Steps of each DivideMix epoch: `config.dividemix.steps_per_epoch`, or a warm-up epoch's.

    The reference's DivideMix epoch is one pass over its labeled (clean) set, so it shrinks
    with the noise rate; a fixed count keeps the schedule's length known from the start.
    """
    return settings.get("steps_per_epoch", 0) or warmup_steps


def build_algorithm(config, data, steps_in_epoch, divide_mix_steps_in_epoch):
    settings = config.dividemix
    networks = [shared.build_model(config, data.num_classes, data.input_shape) for _ in range(2)]
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
        seed=config.seed,
    )
    warmup_steps = settings.warmup_epochs * steps_in_epoch
    total_steps = (
        warmup_steps + (config.train.epochs - settings.warmup_epochs) * divide_mix_steps_in_epoch
    )
    # Optionally one cosine per phase: the warm-up ends annealed and the DivideMix epochs get
    # a full cosine of their own instead of the tail of a shared one.
    restart_step = warmup_steps if settings.get("schedule_per_phase", False) else 0
    algorithm.compile(
        optimizer=shared.build_optimizer(
            config.train, networks[0], total_steps, steps_in_epoch, restart_step
        ),
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
        algorithm.seed_generator.state,
    ]


def save_state(algorithm, path, completed_epochs, history):
    """Everything needed to continue after `completed_epochs`, in one atomically replaced file."""
    path = pathlib.Path(path)
    arrays = {f"v{i}": np.asarray(v) for i, v in enumerate(_state_variables(algorithm))}
    state = {"completed_epochs": completed_epochs, "history": history}
    arrays["state"] = np.array(json.dumps(state))
    temporary = path.with_name(f".{path.stem}.partial.npz")
    with open(temporary, "wb") as stream:
        np.savez(stream, **arrays)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def load_state(algorithm, path):
    """Restores a `save_state` file into `algorithm`; returns (completed epochs, history)."""
    path = pathlib.Path(path)
    if not path.is_file():
        return 0, []
    with np.load(path) as stored:
        variables = _state_variables(algorithm)
        if len(stored.files) - 1 != len(variables):
            raise ValueError(
                f"{path} holds {len(stored.files) - 1} variables but this recipe's DivideMix has "
                f"{len(variables)}: it was written by another config; use a new --workdir."
            )
        for index, variable in enumerate(variables):
            variable.assign(stored[f"v{index}"])
        state = json.loads(str(stored["state"]))
    return state["completed_epochs"], state["history"]


def _epoch_callbacks(workdir, extra):
    workdir = pathlib.Path(workdir)
    return [
        # First: a diverged epoch raises before it is logged, and so before its state is saved.
        StopOnDivergence(workdir),
        keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True),
        keras.callbacks.TensorBoard(str(workdir / "tensorboard"), write_graph=False),
        *extra,
    ]


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
    train = data.labeled
    batch_size = config.train.batch_size
    steps_in_epoch = shared.steps_per_epoch(config.train, len(train))
    divide_mix_steps_in_epoch = divide_mix_steps(settings, steps_in_epoch)
    algorithm = build_algorithm(config, data, steps_in_epoch, divide_mix_steps_in_epoch)
    state_path = workdir / STATE_FILE
    start_epoch, history = load_state(algorithm, state_path)
    is_noisy = data.label_noise.is_noisy if data.label_noise is not None else None
    validation = shared.eval_dataset(data.validation, config) if len(data.validation) else None
    callbacks = _epoch_callbacks(workdir, context.callbacks)
    start = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        epoch_start = time.perf_counter()
        algorithm.current_epoch.assign(float(epoch))
        record = {"epoch": epoch + 1}
        steps = steps_in_epoch
        if epoch < settings.warmup_epochs:
            record["phase"] = "warmup"
            dataset = divide_mix_pipeline.warmup_dataset(
                train, batch_size, seed=config.seed, augment=config.data.augment,
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
            steps = divide_mix_steps_in_epoch
            record["lambda_u"] = float(algorithm.unlabeled_weight())
        fit = algorithm.fit(
            dataset,
            initial_epoch=epoch,
            epochs=epoch + 1,
            steps_per_epoch=steps,
            callbacks=callbacks,
            verbose=config.train.verbose,
            shuffle=False,  # the pipeline shuffles, seeded
        )
        record.update({name: float(values[-1]) for name, values in fit.history.items()})
        if validation is not None:
            record["validation_accuracy"] = float(
                algorithm.evaluate(validation, return_dict=True, verbose=0)["accuracy"]
            )
        record["seconds"] = round(time.perf_counter() - epoch_start, 2)
        history.append(record)
        save_state(algorithm, state_path, epoch + 1, history)
    seconds = time.perf_counter() - start

    files.atomic_save_model(algorithm, workdir / "model.keras")
    test_dataset = shared.eval_dataset(data.test, config)
    test = algorithm.evaluate(test_dataset, return_dict=True, verbose=0)
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
        "divide_mix_steps_per_epoch": divide_mix_steps_in_epoch,
        "train_seconds_this_run": round(seconds, 2),
        "epochs_run_this_time": epochs - start_epoch,
        "per_epoch": history,
    }
    if validation is not None:
        metrics["validation_accuracy"] = float(
            algorithm.evaluate(validation, return_dict=True, verbose=0)["accuracy"]
        )
    return metrics
