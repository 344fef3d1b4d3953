"""Meta Pseudo Labels: teacher and student trained together, then the student fine-tuned.

Workdir layout:
    mpl/        the resumable MPL phase (both networks, both optimizers)
    teacher/, student/  each network's model.keras and metrics.json after the MPL phase
    finetune/   resumable supervised fine-tuning of the student on the labeled split
    model.keras the fine-tuned student; metrics.json: its test_accuracy, plus
                teacher_test_accuracy and mpl_student_test_accuracy (before fine-tuning)
"""

import ml_collections

from kerasssl import files, losses
from kerasssl.algorithms.meta_pseudo_labels import MetaPseudoLabels
from kerasssl.data import sharded_image_data
from kerasssl.experiments import context as shared
from kerasssl.experiments import progress
from kerasssl.experiments import teacher_student as phases


def _fraction_of(total_steps, fraction, field):
    if not 0.0 <= fraction < 1.0:
        raise ValueError(
            f"config.meta_pseudo_labels.{field} must be in [0, 1) (a fraction of the MPL "
            f"steps), got {fraction}."
        )
    return round(fraction * total_steps)


def network_config(model_config, dropout_rate, field):
    """`model_config` ({name, kwargs}) with `dropout_rate` set from the section's `field`."""
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(
            f"config.meta_pseudo_labels.{field} must be in [0, 1), got {dropout_rate}."
        )
    kwargs = dict(model_config.kwargs.to_dict()) if model_config.kwargs else {}
    if kwargs.get("dropout_rate", dropout_rate) != dropout_rate:
        raise ValueError(
            f"the network's kwargs set dropout_rate={kwargs['dropout_rate']} but "
            f"config.meta_pseudo_labels.{field} is {dropout_rate}: set it in {field} only."
        )
    if dropout_rate:
        kwargs["dropout_rate"] = dropout_rate
    return ml_collections.ConfigDict({"name": model_config.name, "kwargs": kwargs})


def build_algorithm(config, data, total_steps, steps_in_epoch):
    section = config.meta_pseudo_labels
    teacher_config = network_config(
        config.model, section.teacher_dropout_rate, "teacher_dropout_rate"
    )
    student_config = network_config(
        section.student_model if section.student_model.name else config.model,
        section.student_dropout_rate,
        "student_dropout_rate",
    )
    teacher = shared.build_model(config, data.num_classes, data.input_shape, teacher_config)
    student = shared.build_model(config, data.num_classes, data.input_shape, student_config)
    algorithm = MetaPseudoLabels(
        teacher,
        student,
        uda_weight=section.uda_weight,
        uda_temperature=section.uda_temperature,
        confidence_threshold=section.confidence_threshold,
        mask_on=section.mask_on,
        uda_rampup_steps=_fraction_of(
            total_steps, section.uda_rampup_fraction, "uda_rampup_fraction"
        ),
        mpl_weight=section.mpl_weight,
        label_smoothing=section.label_smoothing,
        pseudo_labels=section.pseudo_labels,
        pseudo_label_view=section.pseudo_label_view,
        mpl_logits_view=section.mpl_logits_view,
        baseline_decay=section.baseline_decay,
        exact=section.exact,
        exact_step_size=section.exact_step_size,
        weak_view=section.weak_view,
        strong_view=section.strong_view,
        l2_weight_decay=shared.coupled_l2(config.train),
        seed=config.seed,
    )
    student_train = phases.phase_config(
        config, base_learning_rate=section.student_learning_rate
    ).train
    wait_steps = _fraction_of(total_steps, section.student_wait_fraction, "student_wait_fraction")
    algorithm.compile(
        # config.train.ema_momentum averages the student only (the network MPL reports): fit
        # would finalize a teacher EMA against both networks' weights.
        optimizer=shared.build_optimizer(
            config.train, teacher, total_steps, steps_in_epoch, ema_momentum=0.0
        ),
        student_optimizer=shared.build_optimizer(
            student_train, student, total_steps, steps_in_epoch, wait_steps=wait_steps
        ),
        loss=losses.CrossEntropy(),
        metrics=[shared.accuracy_metric()],
        steps_per_execution=config.train.steps_per_execution,
        jit_compile=config.train.jit_compile,
    )
    return algorithm


def unlabeled_pool(data, section):
    """The images the unlabeled batches come from (with their hidden labels, for metrics)."""
    if not section.unlabeled_includes_labeled:
        return data.unlabeled
    return sharded_image_data.concatenate(data.unlabeled, data.labeled)


def train_mpl(config, data, folder, callbacks=()):
    """The MPL phase into `folder`; returns (teacher, student)."""
    section = config.meta_pseudo_labels
    phases.check_unlabeled(data)
    phases.seed_phase(config, 0)
    steps_in_epoch = shared.steps_per_epoch(config.train, len(data.labeled))
    total_steps = steps_in_epoch * config.train.epochs
    algorithm = build_algorithm(config, data, total_steps, steps_in_epoch)
    train_dataset = shared.semi_supervised_train_dataset(
        config, section, data.labeled, unlabeled_pool(data, section), folder, steps_in_epoch
    )
    validation = shared.eval_dataset(data.validation, config) if len(data.validation) else None
    shared.fit_phase(
        algorithm, train_dataset, config.train, steps_in_epoch, folder, callbacks, validation
    )
    # fit finalizes only the teacher's optimizer: write the student's EMA (if any) into it.
    algorithm.student_optimizer.finalize_variable_values(algorithm.student.trainable_variables)
    return algorithm.teacher, algorithm.student


def run(context):
    config, data, workdir = context.config, context.data, context.workdir
    section = config.meta_pseudo_labels
    teacher_folder, student_folder = workdir / "teacher", workdir / "student"
    teacher_metrics = phases.finished(teacher_folder)
    student_metrics = phases.finished(student_folder)
    title = (
        f"Meta Pseudo Labels: teacher and student together on {len(data.labeled)} labels and "
        f"{len(data.unlabeled)} unlabeled images"
    )
    progress.phase_banner(config, title, student_metrics if teacher_metrics else None)
    if teacher_metrics is None or student_metrics is None:
        mpl_folder = workdir / "mpl"
        mpl_folder.mkdir(parents=True, exist_ok=True)
        teacher, student = train_mpl(config, data, mpl_folder, context.callbacks)
        for folder, network in ((teacher_folder, teacher), (student_folder, student)):
            folder.mkdir(parents=True, exist_ok=True)
            phases.finish_phase(folder, network, phases.evaluate(network, data, config))
        teacher_metrics = phases.finished(teacher_folder)
        student_metrics = phases.finished(student_folder)
    metrics = {
        "teacher_test_accuracy": teacher_metrics["test_accuracy"],
        "mpl_student_test_accuracy": student_metrics["test_accuracy"],
        "teacher": teacher_metrics,
        "mpl_student": student_metrics,
        "num_labeled": len(data.labeled),
        "num_unlabeled": len(data.unlabeled),
    }
    if section.finetune_epochs:
        finetune_folder = workdir / "finetune"
        finetune_config = phases.phase_config(
            config,
            epochs=section.finetune_epochs,
            steps_per_epoch=section.finetune_steps_per_epoch,
            base_learning_rate=section.finetune_learning_rate
            or config.train.base_learning_rate / 10,
        )
        finetune_config.train.warmup_epochs = 0  # the student starts trained
        if section.get("finetune_batch_size", 0):
            finetune_config.train.batch_size = section.finetune_batch_size
        if section.get("finetune_weight_decay", -1.0) >= 0:
            finetune_config.train.weight_decay = section.finetune_weight_decay
        finetune_metrics = phases.supervised_phase(
            finetune_config,
            data,
            data.labeled,
            finetune_folder,
            context.callbacks,
            # Loaded inside the phase, after its seeding: the same network whether or not the
            # MPL phase ran in this process.
            initial_model=lambda: phases.load_model(student_folder),
            phase_index=1,
            title=f"Meta Pseudo Labels: the student fine-tuned on {len(data.labeled)} labels",
        )
        final = phases.load_model(finetune_folder)
        metrics["finetune"] = finetune_metrics
        metrics["test_accuracy"] = finetune_metrics["test_accuracy"]
    else:
        final = phases.load_model(student_folder)
        metrics["test_accuracy"] = student_metrics["test_accuracy"]
    for split in ("validation",):
        source = metrics.get("finetune", student_metrics)
        if f"{split}_accuracy" in source:
            metrics[f"{split}_accuracy"] = source[f"{split}_accuracy"]
    files.atomic_save_model(final, workdir / "model.keras")
    (workdir / "tensorboard").mkdir(exist_ok=True)
    return metrics
