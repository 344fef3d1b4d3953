"""How the teacher-student experiments label their unlabeled pool and select pseudo-labels.

`config.pseudo_labels.runner` empty (the default): the in-process labeling job
(`kerasssl.pseudo_labels.label_images`) and the numpy selections, streamed over its probability
shards (`ConfidentBalancedSelection`, `TopKPerClass`): the pool's [N, classes] matrix is never
held in memory. Set (direct | dataflow | flink | spark): the pool is written once as shards
(`workdir/unlabeled_pool/`) and the Beam labeler (`kerasssl.pseudo_labels.beam_labeling`)
labels it and selects. Both give the same probabilities (the same batches through the same
teacher) and the same selection, row for row.
"""

import pathlib
import shlex

from kerasssl.experiments import teacher_student as phases
from kerasssl.pseudo_labels import (
    ConfidentBalancedSelection,
    read_rows,
    read_shards,
    select_top_k_per_class,
)
from kerasssl.pseudo_labels.pool_accuracy import PoolAccuracy
from kerasssl.pseudo_labels.probability_rows import ProbabilityRows

POOL_FOLDER = "unlabeled_pool"


def uses_beam(config):
    return bool(config.get("pseudo_labels") and config.pseudo_labels.runner)


def beam_modules(runner):
    """(beam_labeling, beam_selection), or a ValueError naming the fix without Apache Beam."""
    try:
        from kerasssl.pseudo_labels import beam_labeling, beam_selection
    except ImportError as error:
        raise ValueError(
            f"config.pseudo_labels.runner={runner!r} (--runner) needs Apache Beam ({error}): "
            "pip install 'kerasssl[beam]', or leave the runner empty for the in-process "
            "labeling job."
        ) from None
    return beam_labeling, beam_selection


def _beam_label(config, teacher_path, data, folder, workdir, shard_size, transform):
    """Writes the pool as shards (once per workdir), runs the Beam labeler into `folder`."""
    section = config.pseudo_labels
    beam_labeling, _ = beam_modules(section.runner)
    beam_labeling.check_runner(section.runner)
    pool_folder = pathlib.Path(workdir) / POOL_FOLDER
    beam_labeling.write_pool(data.unlabeled.images, pool_folder, shard_size)
    return beam_labeling.label_shards(
        teacher_path,
        pool_folder,
        folder,
        split="unlabeled",
        selection=transform,
        runner=section.runner,
        num_workers=section.num_workers,
        batch_size=config.train.eval_batch_size,
        pipeline_arguments=shlex.split(section.pipeline_arguments),
    )


def _soft_targets_reader(config, folder):
    """The soft targets' source: rows read on demand from `folder` for a shards source, else
    read into memory.

    By reference (`ProbabilityRows`) when the data streams from shards: there the selected
    targets (4 bytes x classes per row) would be the run's one O(selected) array, 520 GB at JFT
    scale. An in-memory source already holds the pool's pixels, the same order of size as its
    selected targets, and keeps them as one tensor gathered in the graph, without a Python call
    per batch. Both give the same bytes, so the same batches and weights
    (`tests/test_resume.py`).
    """
    if config.data.source == "shards":
        return lambda ids: ProbabilityRows(folder, ids)
    return lambda ids: read_rows(folder, ids)


def _beam_soft_targets_reader(config, folder):
    """`_soft_targets_reader` for the Beam labeler's soft-label shards (the same choice)."""
    if config.data.source == "shards":
        from kerasssl.pseudo_labels.soft_label_rows import SoftLabelRows

        return lambda ids: SoftLabelRows(folder, ids)
    from kerasssl.pseudo_labels import beam_labeling

    return lambda ids: beam_labeling.gather_soft_labels(folder, ids)


def noisy_student_pseudo_labels(config, teacher, teacher_folder, data, folder, workdir):
    """(Noisy Student's `Selection`, pool pseudo-label accuracy) of `teacher` over the pool.

    The pool pseudo-label accuracy is the fraction of pool images whose argmax is their
    (hidden) true label, a diagnostic. `teacher` is the loaded model (the in-process job),
    `teacher_folder` the folder of its `model.keras` (the Beam labeler's workers load that
    file).

    In-process, the probability shards are streamed twice and never held whole: once through
    `ConfidentBalancedSelection` and the accuracy count, once more for the selected rows'
    soft targets (`read_rows`), or, with config.data.source="shards", not at all: the selection
    carries them by reference (`ProbabilityRows`) and the student's stream reads a batch of
    rows at a time. Memory is O(images_per_class x classes) for the selection (O(kept images)
    without balancing), plus O(selected x classes) for in-memory soft targets (O(selected) by
    reference), whatever the pool size. The Beam path reads its soft-label shards the same way,
    shard by shard, its soft targets gathered in memory (O(selected x classes)).
    """
    section = config.noisy_student
    if not uses_beam(config):
        manifest = phases.label_pool(teacher, data, folder, config, section.shard_size)
        selector = ConfidentBalancedSelection(
            manifest["num_classes"],
            confidence_threshold=section.confidence_threshold,
            images_per_class=section.images_per_class,
        )
        accuracy = PoolAccuracy(data.unlabeled.labels)
        for start, probabilities in read_shards(folder):
            selector.update(probabilities, start)
            accuracy.update(probabilities, start)
        probabilities_of = None
        if section.soft_targets:
            probabilities_of = _soft_targets_reader(config, folder)
        return selector.result(probabilities_of), accuracy.result()
    beam_labeling, beam_selection = beam_modules(config.pseudo_labels.runner)
    phases.check_unlabeled(data)
    transform = beam_selection.SelectConfidentBalanced(
        section.confidence_threshold, section.images_per_class
    )
    _beam_label(
        config,
        pathlib.Path(teacher_folder) / "model.keras",
        data,
        folder,
        workdir,
        section.shard_size,
        transform,
    )
    # Shard by shard, as in-process: only the selected rows are gathered (O(selected x C)).
    probabilities_of = None
    if section.soft_targets:
        probabilities_of = _beam_soft_targets_reader(config, folder)
    num_classes = beam_labeling.finished_manifest(folder)["num_classes"]
    selection = beam_selection.read_selection(folder, num_classes, probabilities_of, stacklevel=2)
    accuracy = PoolAccuracy(data.unlabeled.labels)
    for ids, probabilities in beam_labeling.read_soft_label_shards(folder):
        accuracy.update_ids(probabilities, ids)
    return selection, accuracy.result()


def billion_scale_selection(config, teacher, teacher_folder, data, folder, workdir):
    """The top-K-per-class `Selection` (hard labels) of `teacher` over the pool."""
    section = config.billion_scale
    if not uses_beam(config):
        phases.label_pool(teacher, data, folder, config, section.shard_size)
        # Streams the shards: memory O(K x classes) besides one shard.
        return select_top_k_per_class(read_shards(folder), section.k, section.p)
    _, beam_selection = beam_modules(config.pseudo_labels.runner)
    num_classes = data.num_classes
    transform = beam_selection.SelectTopKPerClass(section.k, section.p, num_classes)
    _beam_label(
        config,
        pathlib.Path(teacher_folder) / "model.keras",
        data,
        folder,
        workdir,
        section.shard_size,
        transform,
    )
    return beam_selection.read_selection(folder, num_classes, stacklevel=2)
