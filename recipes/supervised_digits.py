"""Supervised baseline on scikit-learn's digits (8x8 grayscale, 10 classes): the built-in data
set that needs no download.

Command:
    kerasssl train --config=recipes/supervised_digits.py --workdir=runs/supervised_digits
Runtime on 2 CPU cores: about 1 minute (`:smoke`: seconds).
Expected test accuracy: about 0.97 (360 held-out digits).
"""

from kerasssl import recipe_defaults, recipe_presets

PRESETS = {"smoke": recipe_defaults.SMOKE_DESCRIPTION}


def get_config(arg=None):
    preset = recipe_presets.parse_preset(arg, PRESETS)
    config = recipe_defaults.base_config()
    config.data.source = "digits"
    config.data.validation_size = 0.1
    config.model.name = "resnet_cifar_small"
    config.train.batch_size = 64
    config.train.epochs = 30
    config.train.base_learning_rate = 0.4  # 0.1 at batch 64 after linear scaling
    config.train.warmup_epochs = 2
    config.train.weight_decay = 5e-4
    # Flips would turn digits into other glyphs; pad-and-crop alone is the weak view here.
    config.data.augment = "weak_no_flip"
    if preset == "smoke":
        recipe_defaults.smoke(config)
    return config
