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
weak view, as the student's targets), dropout 0.2 before both
networks' classifiers (was none), the student's learning rate waits 1% of the steps (was
not), the UDA weight ramps over 1/60 of the steps (was 1/5), and the unlabeled batches come
from the whole training split, labeled images included (was the unlabeled split). The UDA
mask keeps the measured "plain" 0.95 below, and so label smoothing stays 0 (was 0) here: with
the codes' 0.15 a teacher aims at a confidence of 0.865, and a 0.95 mask would never open.
Paper scale (`:paper`): the MPL paper's CIFAR-10-4K run (Pham et al., CVPR 2021, section 4 and
appendix; values from the authors' google-research `meta_pseudo_labels` README command and the
PyTorch port kekmodel/MPL-pytorch where that code is silent, each named in `paper_values`):
tfds cifar10 with 4,000 labels, WRN-28-2, 300,000 steps of 128 labeled + 7 x 128 unlabeled
images, UDA (weight 8, temperature 0.7, threshold 0.6, 5,000 ramp-up steps), then the student
fine-tuned on the labels (625 epochs of 8 batches of 512 at 3e-5). A GPU/TPU run:
    tfds build cifar10 --data_dir=$HOME/tensorflow_datasets
    kerasssl train --config=recipes/mpl_cifar10.py:paper \
        --config.data.data_dir=$HOME/tensorflow_datasets --workdir=runs/mpl_cifar10_paper
Runtime: the paper gives none for CIFAR-10 (its code runs on TPUs only); NOT run here.
The paper's test accuracy (Table 2): 96.11 +- 0.07% for the fine-tuned student.
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
    "paper": "the MPL paper's CIFAR-10-4K run: tfds cifar10, WRN-28-2, 300k steps of 128 + "
    "7 x 128 images, UDA, then student fine-tuning (a GPU/TPU run)",
    "smoke": recipe_defaults.SMOKE_DESCRIPTION,
}


def paper_values(config):
    """The MPL paper's CIFAR-10-4K values; "google" is google-research/meta_pseudo_labels'
    README command, "port" kekmodel/MPL-pytorch's README command and defaults."""
    config.data.source = "tfds"
    config.data.name = "cifar10"
    # Read from a prepared copy (`tfds build cifar10 --data_dir=DIR`): no host downloads.
    config.data.download = False
    config.data.root = ""
    config.data.validation_size = 0  # the paper trains on the whole training set
    config.data.labels_per_class = 400  # CIFAR-10-4K: 4,000 labels
    config.model.name = "wrn_28_2"  # google: --model_type=wrn-28-2
    # google: --batch_norm_batch_size=256, BatchNorm statistics over 256 images across TPU
    # cores rather than per core: synchronized BatchNorm on many devices.
    config.model.sync_batch_norm = True
    train = config.train
    train.batch_size = 128  # google: --train_batch_size=128 labeled images
    train.steps_per_epoch = 1000  # the codes' eval interval (port: --eval-step 1000)
    train.epochs = 300  # 300,000 steps: google --num_train_steps, port --total-steps
    train.optimizer = "sgd"
    train.momentum = 0.9
    train.nesterov = True  # port: --nesterov
    train.base_learning_rate = 0.05  # the teacher's; port: --teacher_lr 0.05 at batch 128
    train.linear_scaling = False
    train.schedule = "warmup_cosine"  # google: --lr_decay_type=cosine
    train.warmup_epochs = 5  # 5,000 steps; port: --warmup-steps 5000
    train.weight_decay = 5e-4  # google --weight_decay=5e-4, port --weight-decay 5e-4
    train.weight_decay_mode = "coupled"
    train.ema_momentum = 0.995  # the student's EMA; google --ema_decay, port --ema
    section = config.meta_pseudo_labels
    section.unlabeled_ratio = 7  # google --uda_data=7, port --mu 7
    section.unlabeled_includes_labeled = True
    section.weak_view = "weak"
    section.strong_view = "randaugment_2_16"  # port --randaug 2 16, google --augment_magnitude
    section.uda_weight = 8.0  # google --uda_weight=8, port --lambda-u 8
    section.uda_temperature = 0.7  # google --uda_temp=0.7, port --temperature 0.7
    section.mask_on = "sharpened"  # both codes mask on the sharpened distribution
    section.confidence_threshold = 0.6  # google --uda_threshold=0.6, port --threshold 0.6
    section.uda_rampup_fraction = 5000 / 300000  # google --uda_steps, port --uda-steps 5000
    section.student_wait_fraction = 3000 / 300000  # google --mpl_student_lr_wait_steps=3000
    section.teacher_dropout_rate = 0.2  # google --dense_dropout_rate=0.2
    section.student_dropout_rate = 0.2
    section.label_smoothing = 0.15  # google --label_smoothing=0.15
    section.mpl_weight = 1.0
    section.pseudo_label_view = "strong"  # the paper's and google's student targets
    section.student_learning_rate = 0.05  # port: --student_lr 0.05
    # Fine-tuning the student on the labels alone (the paper's last step; port defaults:
    # --finetune-epochs 625, --finetune-batch-size 512, --finetune-lr 3e-5,
    # --finetune-weight-decay 0). An epoch is ceil(4,000 / 512) = 8 batches.
    section.finetune_epochs = 625
    section.finetune_steps_per_epoch = 8
    section.finetune_batch_size = 512
    section.finetune_learning_rate = 3e-5
    section.finetune_weight_decay = 0.0
    return config


def smoke(config):
    """Shrinks this recipe's run, or its `:paper` run, to seconds."""
    recipe_defaults.smoke(config)
    section = config.meta_pseudo_labels
    section.unlabeled_ratio = 1
    section.finetune_epochs = 1
    section.finetune_steps_per_epoch = 1
    section.finetune_batch_size = 8  # the paper's 512 shrunk; exercises its own batch
    return config


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
    # That measurement trained without smoothing. With the codes' 0.15 a teacher aims at 0.865
    # on its labels, below 0.95: the mask would never open (MetaPseudoLabels refuses the
    # combination). No smoothing keeps the measured mask.
    section.label_smoothing = 0.0
    section.finetune_epochs = 4
    section.finetune_steps_per_epoch = 25
    if preset == "paper":
        return paper_values(config)
    if preset == "smoke":
        return smoke(config)
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
