"""The `config.noisy_student`, `config.billion_scale` and `config.distillation` recipe sections."""

import ml_collections


def noisy_student_section():
    section = ml_collections.ConfigDict()
    section.rounds = 2  # R: each round's student becomes the next teacher
    # Pseudo-labeled images per labeled image in a batch (the paper: 14 or 28 on ImageNet).
    section.unlabeled_ratio = 3
    section.confidence_threshold = 0.3  # the paper's value on ImageNet
    section.images_per_class = 0  # balance every class to this count; 0: no balancing
    section.soft_targets = True  # soft probabilities (the paper's default) or hard ids
    # A pseudo-labeled image weighs this much of a labeled one (1: every image the same, as
    # the reference's lab_loss + unlabel_ratio * unl_loss).
    section.pseudo_label_weight = 1.0
    # The student's input noise: RandAugment on both streams, as in the paper.
    section.labeled_view = "strong"
    section.pseudo_view = "strong"
    section.student_epochs = 0  # 0: config.train.epochs
    section.student_steps_per_epoch = 0  # 0: config.train.steps_per_epoch
    section.shard_size = 4096  # images per labeling-job shard (the unit of resumption)
    # An equal-or-larger network noised by dropout and stochastic depth; empty name: the
    # teacher's config.model.
    section.student_model = model_section(dropout_rate=0.5, stochastic_depth_rate=0.2)
    # Growing students, as the paper's B7 -> L0 -> L1 -> L2 rounds: an entry `round_<r>` (see
    # `round_student`) changes round r's student: its name replaces `student_model.name` when
    # set, its kwargs update `student_model.kwargs`, and its epochs (when > 0) replace
    # `student_epochs`. Rounds without an entry use `student_model` and `student_epochs`.
    section.round_students = ml_collections.ConfigDict()
    return section


def round_student(name="", epochs=0, **kwargs):
    """A `config.noisy_student.round_students.round_<r>` entry: {name, kwargs, epochs}."""
    section = model_section(name, **kwargs)
    section.epochs = epochs  # 0: config.noisy_student.student_epochs
    return section


def model_section(name="", **kwargs):
    """A `{name, kwargs}` model section as `config.model` (empty name: the teacher's)."""
    section = ml_collections.ConfigDict()
    section.name = name
    section.kwargs = ml_collections.ConfigDict(kwargs)
    return section


def billion_scale_section():
    section = ml_collections.ConfigDict()
    section.k = 400  # images kept per class
    section.p = 2  # classes an image may enter
    section.shard_size = 4096
    section.pretrain_epochs = 0  # 0: config.train.epochs
    # 0: one pass over the selected set (not config.train.steps_per_epoch, the teacher's).
    section.pretrain_steps_per_epoch = 0
    section.finetune_epochs = 0  # 0: config.train.epochs
    section.finetune_learning_rate = 0.0  # 0: config.train.base_learning_rate / 10
    section.finetune_warmup_epochs = 0  # the student arrives pre-trained: no second warm-up
    section.student_model = model_section()
    return section


def distillation_section():
    section = ml_collections.ConfigDict()
    section.temperature = 4.0
    section.student_loss_weight = 0.5  # alpha: weight of the hard-label term
    section.student_model = model_section("resnet_tiny")
    return section
