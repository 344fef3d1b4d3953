"""Meta Pseudo Labels (+ UDA) on CIFAR-10 from an image folder, 50 labels per class.

Command:
    kerasssl train --config=recipes/mpl_cifar10.py \
        --config.data.root=../shared/data/cifar10-subset --workdir=runs/mpl_cifar10
Runtime on 2 CPU cores: 22 minutes wall (1,000 MPL steps, then 100 fine-tuning steps);
`:reduced` (200 MPL + 50 fine-tuning steps) took 15 minutes on a busy machine; `:smoke` seconds.
Measured test accuracy (validation accuracy), seed 0, cifar10-subset, 2026-11-26:
- this recipe (weak-view pseudo-labels): teacher (UDA + MPL) 0.4475 (0.460), MPL student 0.3615
  (0.373), fine-tuned student 0.385 (0.422) = metrics.json test_accuracy;
- `:supervised` (same network and labeled steps): 0.4405 (0.443);
- `:uda` (teacher with UDA alone, mpl_weight 0): teacher 0.445 (0.463);
- strong-view pseudo-labels (the paper's formulation): teacher 0.4315 (0.433), fine-tuned
  student 0.3805 (0.365); weak-view labels were chosen on the validation split.
At this budget the student stays below supervised: its only training signal before
fine-tuning is the teacher's hard pseudo-labels, 41-45% right on weak views (26-32% on strong).
Longer fine-tuning does not close the gap (validation, same MPL phase): 100 steps at lr/10
(this recipe) 0.422, 400 steps at lr/10 0.415, 400 steps at the full rate 0.428, against
supervised 0.443: the MPL phase sets the student's ceiling. The paper's order needs a teacher
whose labels are mostly right, i.e. far more steps than 1,000 (the paper: 300k on CIFAR-10).
Not re-measured after the section took both authors' codes' defaults (issue 17), which
changed this recipe: the MPL term now differentiates the teacher's strong-view logits (was the
weak view, as the student's targets), label smoothing 0.15 (was 0), dropout 0.2 before both
networks' classifiers (was none), the student's learning rate waits 1% of the steps (was
not), the UDA weight ramps over 1/60 of the steps (was 1/5), and the unlabeled batches come
from the whole training split, labeled images included (was the unlabeled split). The UDA
mask keeps the measured "plain" 0.95 below.
Variants (the comparison at one budget):
    `:uda`, `:reduced_uda`  teacher alone with UDA (mpl_weight 0; read teacher_test_accuracy)
    `:supervised`, `:reduced_supervised`  labeled data only, same model, same steps
"""

from kerasssl import recipe_defaults, recipe_presets
from kerasssl.experiments.meta_pseudo_labels_config import meta_pseudo_labels_section

PRESETS = {
    "uda": "the teacher alone, trained with UDA (mpl_weight 0): read teacher_test_accuracy",
    "supervised": "labeled data only, same network and number of labeled steps",
    "reduced": "200 MPL steps and 50 fine-tuning steps instead of 1,000 and 100",
    "reduced_uda": "`uda` at the reduced budget",
    "reduced_supervised": "`supervised` at the reduced budget",
    "smoke": recipe_defaults.SMOKE_DESCRIPTION,
}


def get_config(arg=None):
    preset = recipe_presets.parse_preset(arg, PRESETS)
    config = recipe_defaults.base_config()
    config.algorithm = "meta_pseudo_labels"
    config.data.source = "image_folder"
    config.data.root = ""  # required: --config.data.root=<folder with train/ and test/>
    config.data.validation_size = 0.1
    config.data.labels_per_class = 50
    config.model.name = "resnet_cifar_small"
    config.train.batch_size = 32
    config.train.epochs = 20
    config.train.steps_per_epoch = 50
    config.train.base_learning_rate = 0.4  # 0.05 at batch 32 after linear scaling
    config.train.warmup_epochs = 1
    config.meta_pseudo_labels = meta_pseudo_labels_section()
    section = config.meta_pseudo_labels
    # mu = 3 instead of the paper's 7: each step runs the teacher on (1 + 2 mu) B images.
    section.unlabeled_ratio = 3
    # The reference port's student targets; on validation: fine-tuned student 0.422 vs 0.365
    # with strong-view targets, teacher 0.460 vs 0.433.
    section.pseudo_label_view = "weak"
    # Measured on cifar10-subset (50 labels per class, 60 steps): masking at 0.6 on the plain
    # softmax, the UDA term (weight 8) kept the teacher's labeled loss at chance (2.33 -> 2.46)
    # while UDA-off fell to 2.02; at 0.95 UDA waits until the teacher is confident. (The codes'
    # 0.6 on the sharpened distribution keeps even more examples than 0.6 plain.)
    section.mask_on = "plain"
    section.confidence_threshold = 0.95
    section.finetune_epochs = 4
    section.finetune_steps_per_epoch = 25
    if preset == "smoke":
        recipe_defaults.smoke(config)
        section.unlabeled_ratio = 1
        section.finetune_epochs = 1
        section.finetune_steps_per_epoch = 1
        return config
    if preset.startswith("reduced"):
        # What a shared 2-core machine allowed for the closing note (about 4 s per MPL step).
        config.train.epochs = 4
        section.finetune_epochs = 2
    if preset.endswith("uda"):
        section.mpl_weight = 0.0
    elif preset.endswith("supervised"):
        # Same network, same number of labeled steps (MPL steps + fine-tuning steps).
        config.algorithm = "supervised"
        config.train.epochs += (
            section.finetune_epochs
            * section.finetune_steps_per_epoch
            // (config.train.steps_per_epoch)
        )
    return config
