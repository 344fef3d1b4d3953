"""FixMatch and FlexMatch: one network fitted on labeled and unlabeled batches, EMA-evaluated.

Workdir layout:
    backup/, history.csv, tensorboard/  the resumable fit (FlexMatch's per-image labels and the
                EMA of the weights are saved with it); mask rate and pseudo-label accuracy per
                epoch in history.csv and TensorBoard
    model.keras the network, holding the EMA weights when config.train.ema_momentum > 0
    metrics.json test_accuracy (of that network), validation_accuracy, the last epoch's mask
                rate and pseudo-label accuracy
"""

import csv
import time

from kerasssl import files
from kerasssl.algorithms.fix_match import FixMatch
from kerasssl.experiments import context as shared
from kerasssl.experiments.teacher_student import check_unlabeled

# history.csv columns copied into metrics.json as final_<name>.
FINAL_FIGURES = ("mask_rate", "pseudo_label_accuracy", "masked_pseudo_label_accuracy")


def check_unlabeled_set(config, data):
    """Clear errors for an unlabeled set FixMatch cannot train on, naming the fields to change."""
    check_unlabeled(data)
    section = config.fix_match
    unlabeled_batch = config.train.batch_size * section.unlabeled_ratio
    if section.threshold == "flex" and len(data.unlabeled) < unlabeled_batch:
        raise ValueError(
            f"FlexMatch's warm-up counts the unlabeled images never predicted above tau, but the "
            f"unlabeled set has {len(data.unlabeled)} images, fewer than one unlabeled batch "
            f"(config.train.batch_size {config.train.batch_size} x "
            f"config.fix_match.unlabeled_ratio {section.unlabeled_ratio} = {unlabeled_batch}): "
            "lower config.data.labels_per_class, the batch size or the ratio, or set "
            "config.fix_match.threshold='fixed'."
        )


def build_algorithm(config, data, total_steps, steps_in_epoch):
    section = config.fix_match
    model = shared.build_model(config, data.num_classes, data.input_shape)
    algorithm = FixMatch(
        model,
        confidence_threshold=section.confidence_threshold,
        unlabeled_loss_weight=section.unlabeled_loss_weight,
        unlabeled_ratio=section.unlabeled_ratio,
        threshold=section.threshold,
        num_unlabeled=len(data.unlabeled),
        threshold_warmup=section.threshold_warmup,
        weak_view=section.weak_view,
        strong_view=section.strong_view,
        l2_weight_decay=shared.coupled_l2(config.train),
    )
    algorithm.compile(
        optimizer=shared.build_optimizer(config.train, model, total_steps, steps_in_epoch),
        metrics=[shared.accuracy_metric()],
        steps_per_execution=config.train.steps_per_execution,
    )
    return algorithm


def train_fix_match(config, data, folder, callbacks=()):
    """Fits FixMatch into `folder` (resumable); returns (algorithm, fit seconds, epochs run)."""
    check_unlabeled_set(config, data)
    section = config.fix_match
    steps_in_epoch = shared.steps_per_epoch(config.train, len(data.labeled))
    algorithm = build_algorithm(config, data, steps_in_epoch * config.train.epochs, steps_in_epoch)
    train_dataset = shared.semi_supervised_train_dataset(
        config,
        section,
        data.labeled,
        data.unlabeled,
        folder,
        steps_in_epoch,
        include_unlabeled_indices=section.threshold == "flex",
    )
    validation = shared.eval_dataset(data.validation, config) if len(data.validation) else None
    start = time.perf_counter()
    history = shared.fit_phase(
        algorithm, train_dataset, config.train, steps_in_epoch, folder, callbacks, validation
    )
    return algorithm, time.perf_counter() - start, len(history.epoch)


def last_epoch_figures(folder):
    """The last history.csv row's mask rate and pseudo-label accuracies (resumes included)."""
    path = folder / "history.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    return {f"final_{name}": float(rows[-1][name]) for name in FINAL_FIGURES if name in rows[-1]}


def run(context):
    config, data, workdir = context.config, context.data, context.workdir
    algorithm, seconds, epochs_run = train_fix_match(config, data, workdir, context.callbacks)
    # After fit the network holds the EMA weights (when the optimizer keeps them): the saved
    # model and every accuracy below are the EMA model's.
    files.atomic_save_model(algorithm.model, workdir / "model.keras")
    test = algorithm.evaluate(shared.eval_dataset(data.test, config), return_dict=True, verbose=0)
    metrics = {
        "test_accuracy": float(test["accuracy"]),
        "test_loss": float(test["loss"]),
        "ema_momentum": float(config.train.get("ema_momentum", 0.0)),
        "threshold": config.fix_match.threshold,
        "num_labeled": len(data.labeled),
        "num_unlabeled": len(data.unlabeled),
        "epochs": config.train.epochs,
        "steps_per_epoch": shared.steps_per_epoch(config.train, len(data.labeled)),
        "train_seconds_this_run": round(seconds, 2),
        "epochs_run_this_time": epochs_run,
        **last_epoch_figures(workdir),
    }
    if config.fix_match.threshold == "flex":
        selected = algorithm.selected_labels.numpy()
        metrics["flex_selected_fraction"] = float((selected >= 0).mean())
    if len(data.validation):
        validation = algorithm.evaluate(
            shared.eval_dataset(data.validation, config), return_dict=True, verbose=0
        )
        metrics["validation_accuracy"] = float(validation["accuracy"])
    return metrics
