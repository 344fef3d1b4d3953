"""Distillation: a supervised teacher, then a student trained by `kerasssl.algorithms.Distiller`.

Workdir layout: teacher/ (resumable supervised phase), student/ (resumable distillation),
model.keras (the student) and metrics.json (teacher's and student's accuracies).
"""

from kerasssl import files, losses
from kerasssl.algorithms.distiller import Distiller
from kerasssl.data import pipelines
from kerasssl.experiments import context as shared
from kerasssl.experiments import progress
from kerasssl.experiments import teacher_student as phases


def run(context):
    config, data, workdir = context.config, context.data, context.workdir
    section = config.distillation
    teacher_folder = workdir / "teacher"
    teacher_metrics = phases.supervised_phase(
        config,
        data,
        data.labeled,
        teacher_folder,
        context.callbacks,
        title=f"distillation teacher on {len(data.labeled)} labels",
    )
    teacher = phases.load_model(teacher_folder)
    student_folder = workdir / "student"
    student_metrics = phases.finished(student_folder)
    progress.phase_banner(config, "distillation student", student_metrics)
    if student_metrics is None:
        student_folder.mkdir(parents=True, exist_ok=True)
        phases.seed_phase(config, 1)
        student = shared.build_model(
            config, data.num_classes, data.input_shape, section.student_model
        )
        distiller = Distiller(
            teacher,
            student,
            temperature=section.temperature,
            student_loss_weight=section.student_loss_weight,
            l2_weight_decay=shared.coupled_l2(config.train),
        )
        steps_in_epoch = shared.steps_per_epoch(config.train, len(data.labeled))
        distiller.compile(
            optimizer=shared.build_optimizer(
                config.train, student, steps_in_epoch * config.train.epochs, steps_in_epoch
            ),
            loss=losses.CrossEntropy(),
            metrics=[shared.accuracy_metric()],
            jit_compile=config.train.jit_compile,
        )
        train_dataset = pipelines.supervised_dataset(
            data.labeled,
            config.train.batch_size,
            training=True,
            seed=config.seed,
            augment=config.data.augment,
            start_step=shared.completed_epochs(student_folder) * steps_in_epoch,
        )
        shared.fit_phase(
            distiller,
            train_dataset,
            config.train,
            steps_in_epoch,
            student_folder,
            context.callbacks,
        )
        student_metrics = phases.evaluate(student, data, config)
        phases.finish_phase(student_folder, student, student_metrics)
    files.atomic_save_model(phases.load_model(student_folder), workdir / "model.keras")
    (workdir / "tensorboard").mkdir(exist_ok=True)
    return {
        "test_accuracy": student_metrics["test_accuracy"],
        "teacher_test_accuracy": teacher_metrics["test_accuracy"],
        "student": student_metrics,
        "teacher": teacher_metrics,
    }
