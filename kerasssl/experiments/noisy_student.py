"""Noisy Student rounds: teacher labels the pool, a noised student learns, and becomes the teacher.

Workdir layout (every folder a resumable phase):
    round_0/                  the supervised teacher (model.keras, metrics.json, backup/, ...)
    round_<r>/pseudo_labels/  the round's teacher's probabilities over the unlabeled pool
    unlabeled_pool/           the pool as image shards, with config.pseudo_labels.runner (Beam)
    round_<r>/                the round's student (model.keras, metrics.json, backup/, ...)
    model.keras, metrics.json the last student; metrics list every round
A killed run resumes at the first unfinished round (and inside it, at the last saved epoch).

With config.data.source="shards" nothing of the pool is held in memory but its labels (8 bytes
per image): the teacher labels the pool a labeling shard at a time, the selection streams the
probability shards (`ConfidentBalancedSelection`: O(images_per_class x classes)), and the
student's pseudo-labeled batches are read by position through the same stateless shuffle as in
memory: their images from the data shards (each an image id), their soft targets from the
probability shards (the selection holds them by reference, `ProbabilityRows`: O(selected)).
"""

import warnings

import ml_collections
import numpy as np

from kerasssl import files
from kerasssl.algorithms import class_counts
from kerasssl.algorithms.noisy_student import NoisyStudent
from kerasssl.experiments import context as shared
from kerasssl.experiments import pool_labeling, progress
from kerasssl.experiments import teacher_student as phases
from kerasssl.pseudo_labels.student_dataset import student_dataset


def _round_entry(section, round_index):
    """Round `round_index`'s entry of `round_students` (None without one), keys checked."""
    entries = section.get("round_students") or {}
    known_rounds = {f"round_{index}" for index in range(1, section.rounds + 1)}
    for key in entries:
        if key not in known_rounds:
            raise ValueError(
                f"config.noisy_student.round_students has an entry {key!r}; entries are named "
                f"round_1 ... round_{section.rounds} (one per round, all optional)."
            )
    return entries.get(f"round_{round_index}")


def student_model_config(config, round_index):
    """Round `round_index`'s student model section: `student_model` updated by the round's entry.

    Every name falls back to the teacher's `config.model` when empty.
    """
    section = config.noisy_student
    base = section.student_model if section.student_model.name else config.model
    name = base.name
    kwargs = dict(base.kwargs.to_dict()) if base.kwargs else {}
    entry = _round_entry(section, round_index)
    if entry is not None:
        name = entry.get("name") or name
        kwargs.update(entry.kwargs.to_dict() if entry.get("kwargs") else {})
    return ml_collections.ConfigDict({"name": name, "kwargs": kwargs})


def student_epochs(config, round_index):
    """Round `round_index`'s student epochs (0: config.train.epochs)."""
    section = config.noisy_student
    entry = _round_entry(section, round_index)
    if entry is not None and entry.get("epochs"):
        return int(entry.epochs)
    return section.student_epochs


def _student_model(config, data, round_index):
    model_config = student_model_config(config, round_index)
    return shared.build_model(config, data.num_classes, data.input_shape, model_config)


def train_student(config, data, selection, folder, round_index=1, callbacks=()):
    """Fits a fresh noised student on labeled + selected pseudo-labeled images into `folder`."""
    section = config.noisy_student
    train_config = phases.phase_config(
        config,
        epochs=student_epochs(config, round_index),
        steps_per_epoch=section.student_steps_per_epoch,
    ).train
    # Seeded per round: a resumed run builds and noises the same student as an unbroken one.
    phases.seed_phase(config, round_index)
    model = _student_model(config, data, round_index)
    steps_in_epoch = shared.steps_per_epoch(train_config, len(data.labeled))
    total_steps = steps_in_epoch * train_config.epochs
    algorithm = NoisyStudent(
        model,
        pseudo_label_weight=section.pseudo_label_weight,
        label_smoothing=train_config.label_smoothing,
        l2_weight_decay=shared.coupled_l2(train_config),
    )
    algorithm.compile(
        optimizer=shared.build_optimizer(train_config, model, total_steps, steps_in_epoch),
        metrics=[shared.accuracy_metric()],
        steps_per_execution=train_config.steps_per_execution,
        jit_compile=train_config.jit_compile,
    )
    dataset = student_dataset(
        data.labeled,
        data.unlabeled.images,
        selection,
        train_config.batch_size,
        unlabeled_ratio=section.unlabeled_ratio,
        labeled_view=section.labeled_view,
        pseudo_view=section.pseudo_view,
        seed=config.seed,
        start_step=shared.completed_epochs(folder) * steps_in_epoch,
    )
    validation = shared.eval_dataset(data.validation, config) if len(data.validation) else None
    shared.fit_phase(
        algorithm, dataset, train_config, steps_in_epoch, folder, callbacks, validation
    )
    return model


def _warn_if_smaller(teacher, student, round_index):
    if student.count_params() < teacher.count_params():
        warnings.warn(
            f"round {round_index}: the student has {student.count_params():,} parameters, fewer "
            f"than its teacher's {teacher.count_params():,}. Noisy Student expects an "
            "equal-or-larger student; set config.noisy_student.student_model (or "
            f"round_students.round_{round_index}) to a larger network.",
            stacklevel=2,
        )


def _check_section(section):
    if section.rounds < 1:
        raise ValueError(f"config.noisy_student.rounds must be >= 1, got {section.rounds}.")
    if section.unlabeled_ratio < 1:
        raise ValueError(
            f"config.noisy_student.unlabeled_ratio must be >= 1, got {section.unlabeled_ratio}."
        )


def run(context):
    config, data, workdir = context.config, context.data, context.workdir
    section = config.noisy_student
    _check_section(section)
    phases.check_unlabeled(data)
    teacher_folder = workdir / "round_0"
    teacher_metrics = phases.finished(teacher_folder)
    teacher_title = f"Noisy Student teacher (round 0) on {len(data.labeled)} labels"
    if teacher_metrics is not None:
        progress.phase_banner(config, teacher_title, teacher_metrics)
    else:
        teacher_metrics = phases.supervised_phase(
            config, data, data.labeled, teacher_folder, context.callbacks, title=teacher_title
        )
        phases.write_summaries(
            workdir, 0, {"student_test_accuracy": teacher_metrics["test_accuracy"]}
        )
    rounds = []
    previous_folder, previous_metrics = teacher_folder, teacher_metrics
    for round_index in range(1, section.rounds + 1):
        folder = workdir / f"round_{round_index}"
        metrics = phases.finished(folder)
        title = f"Noisy Student round {round_index} of {section.rounds}"
        if metrics is not None:
            progress.phase_banner(config, title, metrics)
        else:
            teacher = phases.load_model(previous_folder)
            student_check = _student_model(config, data, round_index)
            class_counts.check_same_classes(teacher, student_check)
            _warn_if_smaller(teacher, student_check, round_index)
            del student_check
            progress.banner(
                config,
                f"{title}: the round-{round_index - 1} model labels {len(data.unlabeled)} "
                "unlabeled images",
            )
            selection, pool_accuracy = pool_labeling.noisy_student_pseudo_labels(
                config, teacher, previous_folder, data, folder / "pseudo_labels", workdir
            )
            epochs = student_epochs(config, round_index) or config.train.epochs
            progress.banner(
                config,
                f"{title}: student {student_model_config(config, round_index).name} on "
                f"{len(data.labeled)} labels + {len(selection)} pseudo-labels, "
                f"{progress.count(epochs, 'epoch')}",
            )
            student = train_student(config, data, selection, folder, round_index, context.callbacks)
            selected_labels = selection.hard_labels
            true_labels = data.unlabeled.labels[selection.indices]
            metrics = {
                "round": round_index,
                "teacher_test_accuracy": previous_metrics["test_accuracy"],
                **{
                    f"student_{name}": value
                    for name, value in phases.evaluate(student, data, config).items()
                },
                "num_pseudo_labeled": len(selection),
                "num_unique_pseudo_labeled": int(len(np.unique(selection.indices))),
                # Diagnostic only: the unlabeled pool's hidden true labels. The pool's figure was
                # counted shard by shard while selecting (the [N, C] matrix is never loaded).
                "pseudo_label_accuracy": float(np.mean(selected_labels == true_labels)),
                "pool_pseudo_label_accuracy": float(pool_accuracy),
                "num_parameters": int(student.count_params()),
            }
            if "validation_accuracy" in previous_metrics:
                metrics["teacher_validation_accuracy"] = previous_metrics["validation_accuracy"]
            # The round's own accuracy keys make it usable as the next round's teacher.
            metrics["test_accuracy"] = metrics["student_test_accuracy"]
            if "student_validation_accuracy" in metrics:
                metrics["validation_accuracy"] = metrics["student_validation_accuracy"]
            phases.finish_phase(folder, student, metrics)
            phases.write_summaries(
                workdir, round_index, {"student_test_accuracy": metrics["test_accuracy"]}
            )
        rounds.append(metrics)
        previous_folder, previous_metrics = folder, metrics
    files.atomic_save_model(phases.load_model(previous_folder), workdir / "model.keras")
    (workdir / "tensorboard").mkdir(exist_ok=True)
    return {
        "test_accuracy": previous_metrics["test_accuracy"],
        "teacher_test_accuracy": teacher_metrics["test_accuracy"],
        "teacher_validation_accuracy": teacher_metrics.get("validation_accuracy"),
        "rounds": rounds,
        "student_test_accuracy_per_round": [entry["test_accuracy"] for entry in rounds],
    }
