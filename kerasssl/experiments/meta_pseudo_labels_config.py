"""The `config.mpl` recipe section of Meta Pseudo Labels.

Apart from `kerasssl.experiments.meta_pseudo_labels` so that a recipe builds its config
without importing TensorFlow (`kerasssl recipes`, `--help` and config checks stay fast).
"""

import ml_collections


def mpl_section():
    """The `config.mpl` recipe section, with the reference PyTorch port's CIFAR-10 values."""
    section = ml_collections.ConfigDict()
    section.unlabeled_ratio = 7  # mu: unlabeled images per labeled one
    section.weak_view = "weak"
    section.strong_view = "strong"  # RandAugment
    section.uda_weight = 8.0
    section.uda_temperature = 0.7
    # 0.95 as the reference port. Measured on cifar10-subset (50 labels per class, 60 steps):
    # at 0.6 the UDA term (weight 8) kept the teacher's labeled loss at chance (2.33 -> 2.46)
    # while UDA-off fell to 2.02; at 0.95 UDA waits until the teacher is confident.
    section.confidence_threshold = 0.95
    section.uda_rampup_steps = 0  # 0: a fifth of the MPL steps
    section.mpl_weight = 1.0  # 0: the teacher is trained by UDA alone (the baseline)
    section.pseudo_labels = "argmax"  # argmax | sample
    # strong: the paper's targets; weak: the reference port's (the teacher's weak-view argmax).
    section.pseudo_label_view = "strong"
    section.baseline_decay = 0.99
    section.exact = False  # small networks only: differentiate through a student SGD step
    section.exact_step_size = 0.05
    section.label_smoothing = 0.0
    section.student_learning_rate = 0.0  # 0: config.train.base_learning_rate
    section.finetune_epochs = 0  # 0: no fine-tuning
    section.finetune_steps_per_epoch = 0  # 0: config.train.steps_per_epoch
    section.finetune_learning_rate = 0.0  # 0: config.train.base_learning_rate / 10
    section.student_model = ml_collections.ConfigDict()
    section.student_model.name = ""  # empty: the teacher's config.model
    section.student_model.kwargs = ml_collections.ConfigDict()
    return section
