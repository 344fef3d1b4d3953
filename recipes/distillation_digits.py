"""Knowledge distillation on scikit-learn's digits: a small ResNet teaches a 5k-parameter one.

Command:
    kerasssl train --config=recipes/distillation_digits.py --workdir=runs/distillation_digits
Runtime on 2 CPU cores: about 2 minutes (`:smoke`: seconds).
Expected test accuracy: teacher about 0.97, distilled student printed as test_accuracy
(metrics.json also has teacher_test_accuracy).
"""

from kerasssl import recipe_defaults, recipe_presets
from kerasssl.experiments.teacher_student_config import distillation_section

PRESETS = {"smoke": recipe_defaults.SMOKE_DESCRIPTION}


def get_config(arg=None):
    preset = recipe_presets.parse_preset(arg, PRESETS)
    config = recipe_defaults.base_config()
    config.algorithm = "distillation"
    config.data.source = "digits"
    config.data.validation_size = 0.1
    config.data.augment = "weak_no_flip"  # flips turn digits into other glyphs
    config.model.name = "resnet_cifar_small"
    config.train.batch_size = 64
    config.train.epochs = 20
    config.train.base_learning_rate = 0.4  # 0.1 at batch 64 after linear scaling
    config.train.warmup_epochs = 2
    config.distillation = distillation_section()
    config.distillation.temperature = 4.0
    config.distillation.student_loss_weight = 0.1
    config.distillation.student_model.name = "resnet_tiny"
    if preset == "smoke":
        recipe_defaults.smoke(config)
    return config
