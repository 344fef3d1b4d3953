"""Transfer learning: a new head on a frozen pretrained backbone, then the whole network tuned.

Workdir layout (every folder a resumable phase):
    frozen/      phase 1: only the head trains, the backbone is frozen (BatchNorm in inference
                 mode), at config.train.base_learning_rate for transfer_learning.frozen_epochs
    fine_tune/   phase 2: every layer but BatchNorm trains, at
                 transfer_learning.fine_tune_learning_rate
    model.keras, metrics.json   the fine-tuned network, metrics of both phases
The pretrained weights come from the model section (`config.model.kwargs.weights`,
`include_top=False`; see `kerasssl.models.get_model`).
"""

from kerasssl import files
from kerasssl.experiments import context as shared
from kerasssl.experiments import teacher_student as phases
from kerasssl.models.fine_tuning import freeze_backbone, unfreeze_backbone


def _check_section(section):
    if section.frozen_epochs < 1:
        raise ValueError(
            "config.transfer_learning.frozen_epochs must be >= 1 (the head's epochs on the "
            f"frozen backbone); got {section.frozen_epochs}. For plain fine-tuning use "
            "config.algorithm='supervised'."
        )
    if not section.fine_tune_learning_rate > 0:
        raise ValueError(
            "config.transfer_learning.fine_tune_learning_rate must be > 0; got "
            f"{section.fine_tune_learning_rate}."
        )


def run(context):
    config, data, workdir = context.config, context.data, context.workdir
    section = config.transfer_learning
    _check_section(section)

    def frozen_model():
        model = shared.build_model(config, data.num_classes, data.input_shape)
        return freeze_backbone(model)

    print(f"transfer learning, phase 1: the head alone, {section.frozen_epochs} epochs")
    frozen_metrics = phases.supervised_phase(
        phases.phase_config(config, epochs=section.frozen_epochs),
        data,
        data.labeled,
        workdir / "frozen",
        context.callbacks,
        initial_model=frozen_model,
    )

    def unfrozen_model():
        model = phases.load_model(workdir / "frozen")
        return unfreeze_backbone(model, keep_batch_norm_frozen=section.keep_batch_norm_frozen)

    fine_tune_config = phases.phase_config(
        config,
        epochs=section.fine_tune_epochs,
        base_learning_rate=section.fine_tune_learning_rate,
    )
    print(
        f"transfer learning, phase 2: every layer, {fine_tune_config.train.epochs} epochs at "
        f"base learning rate {section.fine_tune_learning_rate}"
    )
    fine_tune_metrics = phases.supervised_phase(
        fine_tune_config,
        data,
        data.labeled,
        workdir / "fine_tune",
        context.callbacks,
        initial_model=unfrozen_model,
    )
    model = phases.load_model(workdir / "fine_tune")
    files.atomic_save_model(model, workdir / "model.keras")
    phases.write_summaries(
        workdir,
        0,
        {
            "frozen_test_accuracy": frozen_metrics["test_accuracy"],
            "fine_tune_test_accuracy": fine_tune_metrics["test_accuracy"],
        },
    )
    metrics = {
        "test_accuracy": fine_tune_metrics["test_accuracy"],
        "frozen_test_accuracy": frozen_metrics["test_accuracy"],
        "fine_tune_test_accuracy": fine_tune_metrics["test_accuracy"],
        "frozen": frozen_metrics,
        "fine_tune": fine_tune_metrics,
        "num_parameters": int(model.count_params()),
        "num_labeled": len(data.labeled),
    }
    if "validation_accuracy" in fine_tune_metrics:
        metrics["validation_accuracy"] = fine_tune_metrics["validation_accuracy"]
    return metrics
