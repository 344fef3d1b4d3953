"""Supervised baseline on CIFAR-10 from an image folder (or a local tfds copy).

Command:
    kerasssl train --config=recipes/supervised_cifar10.py \
        --config.data.root=../shared/data/cifar10-subset --workdir=runs/supervised_cifar10
    # a local tfds copy instead:  --config.data.source=tfds --config.data.name=cifar10 \
    #     --config.data.data_dir=~/tensorflow_datasets
Runtime on 2 CPU cores: about 8 minutes on cifar10-subset (5,400 train images, 30 epochs).
Expected test accuracy on cifar10-subset: about 0.70 (measured 0.6965 in 8 minutes; the
shared/data README's 0.31M-parameter reference reaches 0.667 in 20 epochs).
Optimizers at half the budget (15 epochs, seed 0, 2026-12-01, coupled L2 5e-4 and warm-up +
cosine for all; test accuracy, validation in brackets): SGD (this recipe) 0.6265 (0.622); Adam
at 1e-3 (`--config.train.optimizer=adam --config.train.base_learning_rate=0.002`) 0.574
(0.608); AdaBound at 1e-3 with the paper's final_lr 0.1 and gamma 1e-3
(`--config.train.optimizer=adabound`) 0.4395 (0.458); AdaBound with final_lr 1.0
(`--config.train.adabound_final_learning_rate=1.0`) 0.5935 (0.593). AdaBound's bounds clip the
small-gradient weights to at most a few times final_lr times the averaged gradient, while
SGD with momentum 0.9 steps 10x its rate times the gradient, so final_lr 0.1 is the slower
optimizer here; 1.0 matches SGD's step but not its accuracy at this budget. Wall times 8-20
minutes each, set by 5-7 other jobs on the machine, not by the optimizer.
Variants: `:labels50` (50 labels per class, the semi-supervised lower bound), `:smoke`.
"""

from kerasssl import recipe_defaults, recipe_presets

PRESETS = {
    "labels50": "50 labels per class, as many steps as the full-label run (the semi-supervised "
    "lower bound)",
    "smoke": recipe_defaults.SMOKE_DESCRIPTION,
}


def get_config(arg=None):
    preset = recipe_presets.parse_preset(arg, PRESETS)
    config = recipe_defaults.base_config()
    config.data.source = "image_folder"
    config.data.root = ""  # required: --config.data.root=<folder with train/ and test/>
    config.data.validation_size = 0.1
    config.model.name = "resnet_cifar_small"
    config.train.batch_size = 128
    config.train.epochs = 30
    config.train.base_learning_rate = 0.2  # 0.1 at batch 128 after linear scaling
    config.train.warmup_epochs = 2
    config.train.weight_decay = 5e-4  # coupled L2, as the CIFAR papers
    if preset == "labels50":
        config.data.labels_per_class = 50
        config.train.steps_per_epoch = 40  # same number of steps as the full-label run
    elif preset == "smoke":
        recipe_defaults.smoke(config)
    return config
