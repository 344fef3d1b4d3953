"""The `config.meta_pseudo_labels` recipe section of Meta Pseudo Labels.

Apart from `kerasssl.experiments.meta_pseudo_labels` so that a recipe builds its config
without importing TensorFlow (`kerasssl recipes`, `--help` and config checks stay fast).
"""

import ml_collections


def meta_pseudo_labels_section():
    """The `config.meta_pseudo_labels` recipe section, with the authors' CIFAR-10 values.

    "Both codes" below: google-research/google-research `meta_pseudo_labels` (its README's
    CIFAR-10-4000 command) and the PyTorch port kekmodel/MPL-pytorch (its README's command),
    which agree on every value here except the student's target view.
    """
    section = ml_collections.ConfigDict()
    section.unlabeled_ratio = 7  # mu: unlabeled images per labeled one
    # Both codes draw the unlabeled batches from the whole training set, labeled images
    # included; False: the unlabeled split only.
    section.unlabeled_includes_labeled = True
    section.weak_view = "weak"
    section.strong_view = "strong"  # RandAugment
    section.uda_weight = 8.0
    section.uda_temperature = 0.7
    # The UDA mask: both codes keep an example when the max of its sharpened weak-view
    # distribution (temperature 0.7) reaches 0.6; "plain" tests softmax(weak) instead (the
    # UDA paper's code), where the same threshold keeps fewer examples.
    section.mask_on = "sharpened"  # sharpened | plain
    section.confidence_threshold = 0.6
    # Fractions of the MPL steps; both codes: 5,000 and 3,000 of 300,000.
    section.uda_rampup_fraction = 5000 / 300000  # linear ramp of uda_weight; 0: none
    section.student_wait_fraction = 3000 / 300000  # student learning rate 0 meanwhile
    # Dropout before the classifier (both codes' dense dropout, 0.2 on CIFAR-10), set as the
    # networks' `dropout_rate`; 0: none.
    section.teacher_dropout_rate = 0.2
    section.student_dropout_rate = 0.2
    section.mpl_weight = 1.0  # 0: the teacher is trained by UDA alone (the baseline)
    section.pseudo_labels = "argmax"  # argmax | sample
    # The student's targets: strong (the paper, the google-research code) or weak (the
    # PyTorch port: the teacher's weak-view argmax).
    section.pseudo_label_view = "strong"
    # The teacher logits the MPL term differentiates: strong in both codes.
    section.mpl_logits_view = "strong"
    section.baseline_decay = 0.99
    section.exact = False  # small networks only: differentiate through a student SGD step
    section.exact_step_size = 0.05
    # Of the teacher's labeled loss and the student's pseudo-label loss (both codes: 0.15).
    section.label_smoothing = 0.15
    section.student_learning_rate = 0.0  # 0: config.train.base_learning_rate
    section.finetune_epochs = 0  # 0: no fine-tuning
    section.finetune_steps_per_epoch = 0  # 0: config.train.steps_per_epoch
    section.finetune_learning_rate = 0.0  # 0: config.train.base_learning_rate / 10
    section.finetune_batch_size = 0  # 0: config.train.batch_size
    # < 0: config.train.weight_decay (the PyTorch port fine-tunes with none: 0).
    section.finetune_weight_decay = -1.0
    section.student_model = ml_collections.ConfigDict()
    section.student_model.name = ""  # empty: the teacher's config.model
    section.student_model.kwargs = ml_collections.ConfigDict()
    return section
