"""Pieces the teacher-student experiments share: finished phases, labeling, evaluation."""

import json
import pathlib

import keras
import ml_collections
import tensorflow as tf

from kerasssl import distribute, files, losses
from kerasssl.experiments import context as shared
from kerasssl.experiments import progress, supervised
from kerasssl.pseudo_labels import label_images


def finished(folder):
    """The metrics of a phase whose model and metrics are both on disk, else None."""
    folder = pathlib.Path(folder)
    if (folder / "model.keras").is_file() and (folder / "metrics.json").is_file():
        return json.loads((folder / "metrics.json").read_text())
    return None


def load_model(folder):
    return files.load_model(pathlib.Path(folder) / "model.keras", compile=False)


def evaluate(model, data, config):
    """Test (and validation) accuracy of a bare network."""
    model.compile(loss=losses.CrossEntropy(), metrics=[shared.accuracy_metric()])
    metrics = {}
    for split in ("test", "validation"):
        images = getattr(data, split)
        if len(images):
            result = model.evaluate(
                shared.eval_dataset(images, config), return_dict=True, verbose=0
            )
            metrics[f"{split}_accuracy"] = float(result["accuracy"])
    return metrics


def finish_phase(folder, model, metrics):
    # Metrics are written after the model: a phase counts as finished only when both exist.
    files.atomic_save_model(model, pathlib.Path(folder) / "model.keras")
    files.atomic_write_json(pathlib.Path(folder) / "metrics.json", metrics)


def seed_phase(config, phase_index):
    """Seeds Python, NumPy and TensorFlow before phase `phase_index` builds or loads a network.

    A resumed run skips the phases that finished, so without this a later phase's initial
    weights and dropout seeds would depend on what the skipped phases drew. Phase 0 (the
    first) gets `config.seed` itself; Noisy Student's round r is phase r.
    """
    keras.utils.set_random_seed(config.seed + 1000 * phase_index)


def supervised_phase(
    config,
    data,
    labeled,
    folder,
    callbacks=(),
    initial_model=None,
    phase_index=0,
    title=None,
):
    """Trains a supervised phase into `folder` unless it finished before; returns its metrics.

    A phase killed midway resumes from its backup/ when run again, to the weights an
    unbroken run reaches.

    Args:
        config: the recipe (its `train` section drives the phase; see `phase_config`).
        data: the prepared data (test and validation splits are evaluated).
        labeled: the `ImageData` to train on.
        folder: the phase's folder.
        callbacks: extra Keras callbacks.
        initial_model: None (a fresh `config.model`) or a callable returning the network to
            start from; called only when the phase has to run. With
            `config.model.sync_batch_norm` its BatchNorm layers are synchronized, as a fresh
            network's.
        phase_index: the phase's place in its experiment (see `seed_phase`).
        title: the phase's banner (`progress.phase_banner`), None for none.
    """
    folder = pathlib.Path(folder)
    metrics = finished(folder)
    if title:
        progress.phase_banner(config, title, metrics)
    if metrics is None:
        folder.mkdir(parents=True, exist_ok=True)
        seed_phase(config, phase_index)
        model = initial_model() if initial_model is not None else None
        if model is not None and config.model.get("sync_batch_norm", False):
            # A loaded model.keras has plain BatchNorm again (see synchronize_batch_norm): a
            # fine-tuning on many replicas would normalize each replica by its own slice.
            distribute.synchronize_batch_norm(model)
        model, _, _, _ = supervised.train_supervised(
            config, data, labeled, folder, callbacks, model=model
        )
        metrics = evaluate(model, data, config)
        finish_phase(folder, model, metrics)
    return metrics


def check_unlabeled(data):
    if len(data.unlabeled) == 0:
        raise ValueError(
            "the unlabeled pool is empty: set config.data.labels_per_class > 0 so that the rest "
            "of the training split becomes unlabeled."
        )


def label_pool(teacher, data, folder, config, shard_size):
    """Runs (or resumes) the in-process labeling job of `teacher` over the unlabeled pool.

    Returns the job's manifest; the probabilities stay on disk (`read_shards` streams them).
    """
    check_unlabeled(data)
    return label_images(
        teacher,
        data.unlabeled.images,
        folder,
        shard_size=shard_size,
        batch_size=config.train.eval_batch_size,
        verbose=progress.progress_bar_verbosity(config.train),
    )


def phase_config(config, **train_fields):
    """A copy of `config` whose `train` section has `train_fields` replaced."""
    config = ml_collections.ConfigDict(config.to_dict())
    for name, value in train_fields.items():
        if value:
            config.train[name] = value
    return config


def write_summaries(workdir, step, scalars):
    """Per-round (or per-phase) accuracies as TensorBoard scalars in workdir/tensorboard."""
    writer = tf.summary.create_file_writer(str(pathlib.Path(workdir) / "tensorboard"))
    with writer.as_default():
        for name, value in scalars.items():
            tf.summary.scalar(name, value, step=step)
    writer.close()
