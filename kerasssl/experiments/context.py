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
from kerasssl.experiments.divergence import StopOnDivergence
from kerasssl.models import registry


@dataclasses.dataclass
class ExperimentContext:
    """One run: its recipe, its folder, its data and any extra Keras callbacks."""

    config: object  # ml_collections.ConfigDict
    workdir: pathlib.Path
    data: PreparedData
    callbacks: tuple = ()


def build_model(config, num_classes, input_shape, model_config=None):
    """The network a recipe names in `config.model`, or in `model_config` (e.g. a student's)."""
    model_config = model_config or config.model
    kwargs = dict(model_config.kwargs.to_dict()) if model_config.kwargs else {}
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


def learning_rate_schedule(train_config, total_steps, steps_in_epoch, restart_step=0):
    """Bag-of-Tricks schedule: linear scaling, warm-up epochs, cosine decay.

    With `restart_step` > 0 the cosine ends there and a second one runs from the peak to
    `total_steps` (`schedules.PhasedSchedule`), for runs made of two phases.
    """
    peak = train_config.base_learning_rate
    if train_config.linear_scaling:
        peak = schedules.scale_learning_rate(peak, train_config.batch_size)
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


def build_optimizer(train_config, model, total_steps, steps_in_epoch, restart_step=0):
    return optimizers.build_optimizer(
        train_config.optimizer,
        learning_rate_schedule(train_config, total_steps, steps_in_epoch, restart_step),
        model,
        weight_decay=train_config.weight_decay,
        weight_decay_mode=train_config.weight_decay_mode,
        momentum=train_config.momentum,
        nesterov=train_config.nesterov,
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


def fit_callbacks(folder, extra=()):
    """A divergence check, resumable checkpoints, TensorBoard and a CSV history in `folder`."""
    folder = pathlib.Path(folder)
    return [
        # First: a diverged epoch must raise before it is checkpointed or logged.
        StopOnDivergence(folder),
        keras.callbacks.BackupAndRestore(
            str(folder / "backup"), save_freq="epoch", delete_checkpoint=False
        ),
        keras.callbacks.CSVLogger(str(folder / "history.csv"), append=True),
        keras.callbacks.TensorBoard(str(folder / "tensorboard"), write_graph=False),
        *extra,
    ]


def fit_phase(
    algorithm, dataset, train_config, steps_in_epoch, folder, callbacks=(), validation=None
):
    """Fits one resumable phase into `folder`: its epochs, `fit_callbacks`, the seeded pipeline.

    Returns fit's `History`. `dataset` must start at the step `completed_epochs(folder)` gives,
    so a resumed phase sees the batches an unbroken one would have seen.
    """
    return algorithm.fit(
        dataset,
        epochs=train_config.epochs,
        steps_per_epoch=steps_in_epoch,
        validation_data=validation,
        callbacks=fit_callbacks(folder, callbacks),
        verbose=train_config.verbose,
        shuffle=False,  # the pipeline shuffles, seeded
    )
