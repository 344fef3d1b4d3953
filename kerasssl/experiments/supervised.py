"""Supervised training of one network on the labeled split (the baseline of every method)."""

import time

from kerasssl import augment, files
from kerasssl.algorithms.supervised import Supervised
from kerasssl.data import pipelines
from kerasssl.experiments import context as shared


def build_algorithm(config, model, total_steps, steps_in_epoch):
    algorithm = Supervised(
        model,
        label_smoothing=config.train.label_smoothing,
        l2_weight_decay=shared.coupled_l2(config.train),
    )
    algorithm.compile(
        optimizer=shared.build_optimizer(config.train, model, total_steps, steps_in_epoch),
        metrics=[shared.accuracy_metric()],
        steps_per_execution=config.train.steps_per_execution,
        jit_compile=config.train.jit_compile,
    )
    return algorithm


def train_supervised(config, data, labeled, folder, callbacks=(), model=None):
    """Fits `Supervised` on `labeled` into `folder`.

    Returns (model, algorithm, fit seconds, epochs run this time).

    Reused by multi-phase experiments (teacher training, fine-tuning) with their own folder.
    """
    model = model or shared.build_model(config, data.num_classes, data.input_shape)
    steps_in_epoch = shared.steps_per_epoch(config.train, len(labeled))
    algorithm = build_algorithm(config, model, steps_in_epoch * config.train.epochs, steps_in_epoch)
    # A resumed run continues the exact data stream where the interrupted one stopped.
    start_step = shared.completed_epochs(folder) * steps_in_epoch
    train_dataset = pipelines.supervised_dataset(
        labeled,
        config.train.batch_size,
        training=True,
        seed=config.seed,
        augment=config.data.augment,
        start_step=start_step,
    )
    mixing = shared.batch_mixing(config.train)
    if mixing is not None:
        train_dataset = augment.mix_batches(
            train_dataset, mixing, data.num_classes, seed=config.seed, start_step=start_step
        )
    validation = shared.eval_dataset(data.validation, config) if len(data.validation) else None
    start = time.perf_counter()
    history = shared.fit_phase(
        algorithm, train_dataset, config.train, steps_in_epoch, folder, callbacks, validation
    )
    return model, algorithm, time.perf_counter() - start, len(history.epoch)


def run(context):
    config, data, workdir = context.config, context.data, context.workdir
    model, algorithm, seconds, epochs_run = train_supervised(
        config, data, data.labeled, workdir, context.callbacks
    )
    files.atomic_save_model(model, workdir / "model.keras")
    test = algorithm.evaluate(shared.eval_dataset(data.test, config), return_dict=True, verbose=0)
    metrics = {
        "test_accuracy": float(test["accuracy"]),
        "test_loss": float(test["loss"]),
        "num_parameters": int(model.count_params()),
        "num_labeled": len(data.labeled),
        "epochs": config.train.epochs,
        "steps_per_epoch": shared.steps_per_epoch(config.train, len(data.labeled)),
        "train_seconds_this_run": round(seconds, 2),
        "epochs_run_this_time": epochs_run,
    }
    if len(data.validation):
        validation = algorithm.evaluate(
            shared.eval_dataset(data.validation, config), return_dict=True, verbose=0
        )
        metrics["validation_accuracy"] = float(validation["accuracy"])
    return metrics
