"""What every experiment receives, and the building blocks experiments share."""

import dataclasses
import json
import math
import pathlib

import keras
import numpy as np

from kerasssl import augment, distribute, metrics, optimizers, schedules
from kerasssl.data import pipelines
from kerasssl.data.prepare import PreparedData
from kerasssl.experiments import progress
from kerasssl.experiments.divergence import StopOnDivergence
from kerasssl.models import registry


@dataclasses.dataclass
class ExperimentContext:
    """One run: its recipe, its folder, its data and any extra Keras callbacks."""

    config: object  # ml_collections.ConfigDict
    workdir: pathlib.Path
    data: PreparedData
    callbacks: tuple = ()


def build_model(config, num_classes, input_shape, model_config=None, name=None):
    """The network a recipe names in `config.model`, or in `model_config` (e.g. a student's).

    `name` sets the Keras model name: two networks of one preset share its name (`resnet18`),
    and a functional model holding both (DivideMix's averaged network) needs distinct ones.
    """
    model_config = model_config or config.model
    kwargs = dict(model_config.kwargs.to_dict()) if model_config.kwargs else {}
    if name is not None:
        kwargs["name"] = name
    model = registry.get_model(
        model_config.name, num_classes=num_classes, input_shape=input_shape, **kwargs
    )
    # One switch for every network of the run (teacher and student alike).
    if config.model.get("sync_batch_norm", False):
        distribute.synchronize_batch_norm(model)
    return model


def steps_per_epoch(train_config, num_examples):
    if train_config.steps_per_epoch:
        return int(train_config.steps_per_epoch)
    return max(1, math.ceil(num_examples / train_config.batch_size))


def peak_learning_rate(train_config):
    """`train.base_learning_rate`, linearly scaled to the batch size when `linear_scaling`."""
    peak = train_config.base_learning_rate
    if train_config.linear_scaling:
        peak = schedules.scale_learning_rate(peak, train_config.batch_size)
    return peak


SCHEDULES = ("warmup_cosine", "fixmatch_cosine", "step")


def learning_rate_schedule(train_config, total_steps, steps_in_epoch, restart_step=0, wait_steps=0):
    """The recipe's schedule (`train.schedule`), after the linear scaling rule.

    "warmup_cosine" (Bag of Tricks): warm-up epochs, then cosine decay; with `restart_step` > 0
    the cosine ends there and a second one runs from the peak to `total_steps`
    (`schedules.PhasedSchedule`), for runs made of two phases. "fixmatch_cosine": FixMatch's
    `lr * cos(7 pi k / (16 K))` (`schedules.TruncatedCosineDecay`), which has no warm-up.
    "step": the rate times `train.step_decay_factor` at each epoch of `train.step_decay_epochs`
    (`schedules.StepDecay`, DivideMix's), no warm-up either. With
    `wait_steps` > 0 the rate is 0 for that many steps and the whole schedule then runs over
    the remaining `total_steps - wait_steps`.
    """
    name = train_config.get("schedule", "warmup_cosine")
    if name not in SCHEDULES:
        raise ValueError(f"config.train.schedule must be one of {SCHEDULES}, got {name!r}.")
    if wait_steps:
        if not 0 < wait_steps < total_steps:
            raise ValueError(
                f"wait_steps must be in [0, total_steps={total_steps}), got {wait_steps}."
            )
        rest = learning_rate_schedule(train_config, total_steps - wait_steps, steps_in_epoch)
        return schedules.delayed_schedule(wait_steps, rest)
    peak = peak_learning_rate(train_config)
    if name == "fixmatch_cosine":
        if train_config.warmup_epochs or restart_step:
            raise ValueError(
                "config.train.schedule='fixmatch_cosine' has no warm-up and no restart: set "
                "config.train.warmup_epochs=0 (or use schedule='warmup_cosine')."
            )
        return schedules.TruncatedCosineDecay(peak, total_steps, truncation=7 / 16)
    if name == "step":
        if train_config.warmup_epochs or restart_step:
            raise ValueError(
                "config.train.schedule='step' has no warm-up and no restart: set "
                "config.train.warmup_epochs=0 (or use schedule='warmup_cosine')."
            )
        decay_epochs = tuple(train_config.get("step_decay_epochs", ()))
        if not decay_epochs:
            raise ValueError(
                "config.train.schedule='step' needs the epochs at which the rate drops: set "
                "config.train.step_decay_epochs, e.g. '(150,)'."
            )
        boundaries = [round(epoch * steps_in_epoch) for epoch in decay_epochs]
        return schedules.StepDecay(peak, boundaries, train_config.get("step_decay_factor", 0.1))
    first_steps = restart_step or total_steps
    warmup_steps = min(int(train_config.warmup_epochs * steps_in_epoch), first_steps - 1)
    final_fraction = train_config.final_learning_rate_fraction
    if restart_step:
        return schedules.phased_warmup_cosine_schedule(
            peak, restart_step, total_steps, warmup_steps, final_fraction=final_fraction
        )
    return schedules.warmup_cosine_schedule(
        peak, total_steps, warmup_steps, final_fraction=final_fraction
    )


def build_optimizer(
    train_config,
    model,
    total_steps,
    steps_in_epoch,
    restart_step=0,
    wait_steps=0,
    ema_momentum=None,
):
    """The recipe's optimizer for `model`; `ema_momentum` None reads `train.ema_momentum`."""
    if ema_momentum is None:
        ema_momentum = train_config.get("ema_momentum", 0.0)
    adabound = {}
    if train_config.optimizer in ("adabound", "amsbound"):
        # The schedule scales AdaBound's bounds relative to its peak (see `AdaBound`).
        adabound = {
            "base_learning_rate": peak_learning_rate(train_config),
            "final_learning_rate": train_config.adabound_final_learning_rate,
            "gamma": train_config.adabound_gamma,
        }
    return optimizers.build_optimizer(
        train_config.optimizer,
        learning_rate_schedule(train_config, total_steps, steps_in_epoch, restart_step, wait_steps),
        model,
        weight_decay=train_config.weight_decay,
        weight_decay_mode=train_config.weight_decay_mode,
        momentum=train_config.momentum,
        nesterov=train_config.nesterov,
        **adabound,
        ema_momentum=ema_momentum,
    )


def coupled_l2(train_config):
    """The L2 strength the algorithm adds to its loss (0 when the optimizer decays instead)."""
    return train_config.weight_decay if train_config.weight_decay_mode == "coupled" else 0.0


def accuracy_metric():
    # Accepts class ids and the soft targets of batch mixing or soft pseudo-labels.
    return metrics.Accuracy(name="accuracy")


MIXING_OPS = {"mixup": augment.MixUp, "cutmix": augment.CutMix, "ricap": augment.RICAP}


def batch_mixing(train_config):
    """The recipe's batch-mixing op (`train.batch_mixing`, `train.mixing_alpha`), or None."""
    name = train_config.batch_mixing
    if name in ("", "none"):
        return None
    if name not in MIXING_OPS:
        raise ValueError(
            f"config.train.batch_mixing must be 'none' or one of {sorted(MIXING_OPS)}, got "
            f"{name!r}."
        )
    if not train_config.mixing_alpha:
        return MIXING_OPS[name]()
    return MIXING_OPS[name](train_config.mixing_alpha)


def eval_subset(data, config):
    limit = config.train.max_eval_examples
    if limit and len(data) > limit:
        return data.subset(np.arange(limit))
    return data


def eval_dataset(data, config):
    return pipelines.supervised_dataset(
        eval_subset(data, config), config.train.eval_batch_size, training=False, seed=config.seed
    )


def completed_epochs(folder):
    """Epochs that `BackupAndRestore` has saved in `folder/backup` (0 for a new run)."""
    path = pathlib.Path(folder) / "backup" / "training_metadata.json"
    if not path.is_file():
        return 0
    # Keras stores the number of finished epochs (it becomes fit's initial_epoch).
    return int(json.loads(path.read_text())["epoch"])


def semi_supervised_train_dataset(
    config, section, labeled, unlabeled, folder, steps_in_epoch, include_unlabeled_indices=False
):
    """The labeled batches zipped with a weak and a strong view of unlabeled ones, resumable.

    FixMatch's and Meta Pseudo Labels' training stream, built in one place so that the two
    stay the same. `section` (`config.fix_match`, `config.meta_pseudo_labels`) gives the
    unlabeled ratio and the two views; the labeled view is `config.data.augment`; the
    unlabeled images' true labels ride along for monitoring. The stream starts at the step
    `completed_epochs(folder)` gives, so a resumed phase sees the batches of an unbroken one.

    Args:
        config: the run's recipe.
        section: the algorithm's recipe section.
        labeled: `ImageData` of the labeled examples.
        unlabeled: `ImageData` (or uint8 images) of the unlabeled pool.
        folder: the phase's folder.
        steps_in_epoch: the phase's steps per epoch.
        include_unlabeled_indices: add each unlabeled image's position in `unlabeled` (for
            per-image state such as FlexMatch's).
    """
    return pipelines.semi_supervised_dataset(
        labeled,
        unlabeled,
        config.train.batch_size,
        unlabeled_ratio=section.unlabeled_ratio,
        views=(section.weak_view, section.strong_view),
        seed=config.seed,
        labeled_view=config.data.augment,
        include_unlabeled_labels=True,
        include_unlabeled_indices=include_unlabeled_indices,
        start_step=completed_epochs(folder) * steps_in_epoch,
    )


def fit_callbacks(folder, extra=(), optimizer=None):
    """A divergence check, resumable checkpoints, TensorBoard and a CSV history in `folder`.

    With an `optimizer` that keeps an EMA of the weights (`use_ema`), validation during `fit`
    reads the EMA weights (`keras.callbacks.SwapEMAWeights`, which swaps them back after).
    """
    folder = pathlib.Path(folder)
    ema = [keras.callbacks.SwapEMAWeights()] if getattr(optimizer, "use_ema", False) else []
    return [
        # First: a diverged epoch must raise before it is checkpointed or logged.
        StopOnDivergence(folder),
        keras.callbacks.BackupAndRestore(
            str(folder / "backup"), save_freq="epoch", delete_checkpoint=False
        ),
        keras.callbacks.CSVLogger(str(folder / "history.csv"), append=True),
        keras.callbacks.TensorBoard(str(folder / "tensorboard"), write_graph=False),
        *ema,
        *extra,
    ]


def fit_phase(
    algorithm, dataset, train_config, steps_in_epoch, folder, callbacks=(), validation=None
):
    """Fits one resumable phase into `folder`: its epochs, `fit_callbacks`, the seeded pipeline.

    Returns fit's `History`. `dataset` must start at the step `completed_epochs(folder)` gives,
    so a resumed phase sees the batches an unbroken one would have seen. When the optimizer
    keeps an EMA of the weights, `fit` ends by writing it into them (Keras
    `finalize_variable_values`): what is evaluated and saved afterwards is the EMA model,
    while `backup/` keeps the raw weights and the average to resume from.
    """
    return algorithm.fit(
        dataset,
        epochs=train_config.epochs,
        steps_per_epoch=steps_in_epoch,
        validation_data=validation,
        callbacks=fit_callbacks(folder, callbacks, algorithm.optimizer),
        verbose=progress.fit_verbosity(train_config),
        shuffle=False,  # the pipeline shuffles, seeded
    )
