"""Noisy Student on ImageNet with the paper's EfficientNet-B7 noise, from tfds, 10% of the labels.

Command (a TPU or multi-GPU run; prepare the data once, as for `supervised_imagenet`):
    kerasssl train --config=recipes/noisy_student_imagenet.py:paper \
        --config.data.data_dir=$HOME/tensorflow_datasets --workdir=runs/noisy_student_imagenet
Values (`paper_values` names the source of each): the paper (Xie et al., "Self-training with
Noisy Student improves ImageNet classification", CVPR 2020, section 3) and the authors' code
(google-research/noisystudent, `local_scripts/imagenet/train_offline.sh`, whose per-model
settings give EfficientNet-B7 `--unlabel_ratio=3 --augment_name=v1 --randaug_mag=27`):
EfficientNet-B7 teacher and an equal-size B7 student, RandAugment 2 ops at magnitude 27,
stochastic depth 0.2 at the last block (survival 0.8), dropout 0.5 before the classifier,
soft pseudo-labels (`--teacher_softmax_temp=1`), confidence threshold 0.3, 3 pseudo-labeled
images per labeled one, synchronized BatchNorm (the TPU code's cross-replica BatchNorm).
What differs from the paper, and why: its unlabeled data is JFT-300M (not public, not in
tfds); here the pool is ImageNet's own training set with 90% of the labels hidden (128 labels
per class kept, the "ImageNet-10%" protocol of the SSL papers), so the paper's accuracies do not
carry over. Its optimizer is RMSProp with exponential decay (EfficientNet's); kerasssl's SGD
with warm-up + cosine is used, and the teacher's and student's epochs, batch and learning rate
are kerasssl's defaults (`config.train`), not the paper's: set them for a real run.
Its B7 runs at 600 x 600; `image_size` keeps that, and the split streams a batch at a time
(`config.data.streaming`: build it with `tfds build imagenet2012 --file_format=array_record`;
decoded into memory it would take 1.4 TB of uint8 at 600 x 600).
Runtime: NOT run here (no accelerator, no ImageNet); the paper gives none for this setting.
The paper's top-1 accuracy, for reference only (JFT pool, EfficientNet-L2 student): 88.4%.
Offline without a prepared copy in data_dir the run stops before writing anything, naming the
`tfds build` command.
Presets: `:paper` (also the run without argument), `:smoke` (the same run shrunk to tiny
models, 32 x 32 images and one-step epochs, for tests on mock data).
"""

import ml_collections

from kerasssl import recipe_defaults, recipe_presets
from kerasssl.experiments.teacher_student_config import noisy_student_section

PRESETS = {
    "paper": "the Noisy Student paper's B7 teacher and noised B7 student (RandAugment 27, "
    "stochastic depth 0.2, dropout 0.5, soft labels, ratio 3) on ImageNet-10% (a TPU run)",
    "smoke": recipe_defaults.SMOKE_DESCRIPTION,
}


def paper_values(config):
    """The paper's ("paper") and the authors' code's ("code") values for a B7 student."""
    config.algorithm = "noisy_student"
    # Streamed from a prepared tfds copy; reported on ImageNet's 50,000 validation images.
    recipe_defaults.imagenet_data(config.data, image_size=600)  # code: EfficientNet-B7's size
    config.data.labels_per_class = 128  # ImageNet-10%: the pool is the other 90%
    config.data.augment = "weak"
    config.model.name = "efficientnet_b7"  # code and paper: the B7 teacher
    # The TPU code's BatchNorm sums its statistics across replicas.
    config.model.sync_batch_norm = True
    train = config.train
    train.label_smoothing = 0.1  # code: --label_smoothing default 0.1
    train.weight_decay = 1e-5  # code: --weight_decay default 1e-5
    section = config.noisy_student = noisy_student_section()
    section.rounds = 1  # one teacher -> student round at equal size
    section.unlabeled_ratio = 3  # code, B7: --unlabel_ratio=3
    section.confidence_threshold = 0.3  # paper: images with confidence above 0.3
    section.soft_targets = True  # paper: soft pseudo labels; code --teacher_softmax_temp=1
    section.images_per_class = 0  # paper balances JFT to 130K per class; not with this pool
    section.labeled_view = "randaugment_2_27"  # code, B7: --augment_name=v1 --randaug_mag=27
    section.pseudo_view = "randaugment_2_27"  # paper: RandAugment on both streams
    section.student_model.name = "efficientnet_b7"  # an equal-size student
    # Paper: "survival probability 0.8 for the final layer" (linear decay rule) and "dropout
    # rate of 0.5" on the final layer.
    section.student_model.kwargs = ml_collections.ConfigDict(
        {"dropout_rate": 0.5, "stochastic_depth_rate": 0.2}
    )
    return config


def smoke(config):
    """Shrinks the paper's run to seconds: tiny networks, 32 x 32 images, one-step epochs."""
    recipe_defaults.imagenet_smoke(config)
    config.data.labels_per_class = 1
    section = config.noisy_student
    section.student_model.name = "resnet_tiny"
    section.student_epochs = 1
    section.confidence_threshold = 0.0  # a 2-step teacher is never confident
    # Tracing two RandAugment pipelines would cost most of the smoke's seconds.
    section.labeled_view = section.pseudo_view = "weak"
    return config


def get_config(arg=None):
    preset = recipe_presets.parse_preset(arg, PRESETS)
    config = paper_values(recipe_defaults.base_config())
    if preset == "smoke":
        smoke(config)
    return config
