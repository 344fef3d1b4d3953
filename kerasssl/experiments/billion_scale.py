"""Billion-scale semi-supervised learning: teacher -> top-K per class -> pre-train -> fine-tune.

Workdir layout (every folder a resumable phase):
    teacher/         supervised teacher on the labeled set
    pseudo_labels/   the teacher's probabilities over the unlabeled pool (streamed, sharded)
    unlabeled_pool/  the pool as image shards, with config.pseudo_labels.runner (Beam) only
    pretrain/        the student pre-trained on the top-K-per-class selection (hard labels)
    finetune/        the same student fine-tuned on the labeled set
    model.keras, metrics.json   the fine-tuned student, metrics of every phase

With config.data.source="shards" the pool is never in memory: labeling reads it a shard at a
time, the top-K selection streams the probability shards (memory O(K x classes)) and
pre-training reads the selected images from the data shards a batch at a time.
"""

import dataclasses

import numpy as np

from kerasssl import files
from kerasssl.algorithms import class_counts
from kerasssl.experiments import context as shared
from kerasssl.experiments import pool_labeling, progress
from kerasssl.experiments import teacher_student as phases
from kerasssl.pseudo_labels import TopKPerClass


def _student_model(config, data):
    section = config.billion_scale
    model_config = section.student_model if section.student_model.name else config.model
    return shared.build_model(config, data.num_classes, data.input_shape, model_config)


def pretrain_config(config):
    """The pre-training phase's recipe: its epochs and steps (0: one pass over the selection)."""
    section = config.billion_scale
    phase = phases.phase_config(config, epochs=section.pretrain_epochs)
    # Set even when 0, which `shared.steps_per_epoch` reads as one pass over the images the
    # phase trains on (the selected set), not as the teacher's config.train.steps_per_epoch.
    phase.train.steps_per_epoch = section.pretrain_steps_per_epoch
    return phase


def finetune_config(config):
    """The fine-tuning phase's recipe: no warm-up unless `finetune_warmup_epochs` asks for one.

    The student arrives pre-trained; a warm-up from learning rate 0 would spend the start of
    fine-tuning relearning nothing.
    """
    section = config.billion_scale
    phase = phases.phase_config(
        config,
        epochs=section.finetune_epochs,
        base_learning_rate=section.finetune_learning_rate or config.train.base_learning_rate / 10,
    )
    phase.train.warmup_epochs = section.get("finetune_warmup_epochs", 0)
    return phase


def run(context):
    config, data, workdir = context.config, context.data, context.workdir
    section = config.billion_scale
    phases.check_unlabeled(data)
    # Validates K and P before any training.
    TopKPerClass(section.k, section.p, data.num_classes)

    teacher_metrics = phases.supervised_phase(
        config,
        data,
        data.labeled,
        workdir / "teacher",
        context.callbacks,
        title=f"billion-scale teacher on {len(data.labeled)} labels",
    )
    teacher = phases.load_model(workdir / "teacher")
    class_counts.check_same_classes(teacher, _student_model(config, data))
    progress.banner(config, f"billion-scale: the teacher labels {len(data.unlabeled)} images")
    selection = pool_labeling.billion_scale_selection(
        config, teacher, workdir / "teacher", data, workdir / "pseudo_labels", workdir
    )
    selected = dataclasses.replace(
        data.unlabeled.subset(selection.indices), labels=selection.hard_labels
    )

    pretrain_metrics = phases.supervised_phase(
        pretrain_config(config),
        data,
        selected,
        workdir / "pretrain",
        context.callbacks,
        initial_model=lambda: _student_model(config, data),
        phase_index=1,
        title=f"billion-scale student pre-trained on the top-{section.k} per class "
        f"({len(selection)} pseudo-labels)",
    )
    finetune_metrics = phases.supervised_phase(
        finetune_config(config),
        data,
        data.labeled,
        workdir / "finetune",
        context.callbacks,
        initial_model=lambda: phases.load_model(workdir / "pretrain"),
        phase_index=2,
        title=f"billion-scale student fine-tuned on {len(data.labeled)} labels",
    )
    files.atomic_save_model(phases.load_model(workdir / "finetune"), workdir / "model.keras")
    selected_accuracy = float(
        np.mean(selection.hard_labels == data.unlabeled.labels[selection.indices])
    )
    phases.write_summaries(
        workdir,
        0,
        {
            "teacher_test_accuracy": teacher_metrics["test_accuracy"],
            "pretrain_test_accuracy": pretrain_metrics["test_accuracy"],
            "finetune_test_accuracy": finetune_metrics["test_accuracy"],
        },
    )
    return {
        "test_accuracy": finetune_metrics["test_accuracy"],
        "teacher_test_accuracy": teacher_metrics["test_accuracy"],
        "pretrain_test_accuracy": pretrain_metrics["test_accuracy"],
        "finetune_test_accuracy": finetune_metrics["test_accuracy"],
        "teacher": teacher_metrics,
        "pretrain": pretrain_metrics,
        "finetune": finetune_metrics,
        "num_selected": len(selection),
        "num_unique_selected": int(len(np.unique(selection.indices))),
        # Diagnostic only: the pool's hidden true labels.
        "selected_label_accuracy": selected_accuracy,
    }
