"""FixMatch (and FlexMatch) on CIFAR-10 from an image folder, 50 labels per class.

Command:
    kerasssl train --config=recipes/fixmatch_cifar10.py \
        --config.data.root=../shared/data/cifar10-subset --workdir=runs/fixmatch_cifar10
Runtime on 2 CPU cores (Xeon 2.80GHz without AMX): 2,000 steps of 32 labeled + 2 x 96
unlabeled images through the 0.70M-parameter resnet_cifar_small, 0.76 s a step at load ~2
(about 27 minutes alone); 51 minutes measured with other jobs on the cores (load 4-10).
`:flex` the same; `:supervised` 7 minutes. `:smoke` seconds.
Test accuracy (EMA model, seed 0, 2026-12-07, `tools/compare_ssl.py --seeds=0 --all_labels`):
supervised 0.4195 (validation 0.463), FixMatch 0.4735 (0.482), FlexMatch 0.4905 (0.502);
all 5,400 labels (`supervised_cifar10`) 0.690. FixMatch closes 20% of the labeled-only ->
all-labels gap, FlexMatch 26% (issue 16's target: 50%). Why, from history.csv (training
figures, no test data): FixMatch's mask opens slowly at tau 0.95: 0% of the unlabeled batch
after 250 steps, 15% after 800, 38% at the end and still rising ~1% an epoch, while the
labeled batch is memorised (99.8% training accuracy) and the masked pseudo-labels stay ~67%
right; validation accuracy still rises at the last epoch. FlexMatch's warm-up never ends at
this budget: the images never above tau outnumber every class's, so every class's threshold
stays near 0 and it trains on all hard pseudo-labels (mask 1.0, 47-49% right). Both are
budget-limited: this budget is half of issue 16's 60 minutes and 0.2% of the paper's 2^20
steps. metrics.json reports the EMA model's test_accuracy and the last epoch's mask rate
and pseudo-label accuracy.
Without a preset: the CPU budget above, its settings to be chosen on the validation split;
`:paper` is a GPU run (2^20 steps of 960 images). Why the CPU budget differs from the paper:
one paper step is 960 images through WRN-28-2, about 8.5 s on 2 quiet cores at the README's
113 img/s (76 s measured by `tools/bench_fixmatch.py` under load ~14), so 60 minutes buy a
few hundred of the paper's 2^20 steps. The
budget keeps the paper's loss, tau, lambda_u, optimizer and schedule shape, and spends the
compute on more steps of a smaller network with mu = 3 (as `mpl_cifar10`). EMA 0.99 instead
of 0.999: at 0.999 the average would still weigh the first 1,000 of 2,000 steps by 37%.
"""

from kerasssl import recipe_defaults, recipe_presets
from kerasssl.experiments import fix_match_config

PRESETS = {
    "flex": "FlexMatch: class-wise thresholds tau * M(beta_c) with the warm-up",
    "supervised": "labeled data only: same network, batches, schedule, EMA and steps",
    "paper": "the FixMatch paper: WRN-28-2, 2^20 steps, batch 64, mu 7, lr 0.03, EMA 0.999",
    "smoke": recipe_defaults.SMOKE_DESCRIPTION,
}


def paper_values(config):
    """The FixMatch paper's CIFAR-10 hyperparameters (section 4.1 and the released code)."""
    config.model.name = "wrn_28_2"
    config.train.batch_size = 64  # B
    config.train.epochs = 1024
    config.train.steps_per_epoch = 1024  # K = 2^20 steps in all
    config.train.base_learning_rate = 0.03  # eta
    config.train.linear_scaling = False
    config.train.schedule = "fixmatch_cosine"  # eta * cos(7 pi k / (16 K))
    config.train.warmup_epochs = 0
    config.train.optimizer = "sgd"
    config.train.momentum = 0.9  # beta
    config.train.nesterov = True
    config.train.weight_decay = 5e-4
    config.train.weight_decay_mode = "coupled"  # PyTorch SGD(weight_decay=...) / TF l2 loss
    config.train.ema_momentum = 0.999  # google-research/fixmatch: flags `ema` 0.999
    config.fix_match.unlabeled_ratio = 7  # mu
    config.fix_match.confidence_threshold = 0.95  # tau
    config.fix_match.unlabeled_loss_weight = 1.0  # lambda_u
    return config


def get_config(arg=None):
    arg = recipe_presets.parse_preset(arg, PRESETS)
    config = recipe_defaults.base_config()
    config.algorithm = "fix_match"
    config.data.source = "image_folder"
    config.data.root = ""  # required: --config.data.root=<folder with train/ and test/>
    config.data.validation_size = 0.1
    config.data.labels_per_class = 50
    config.data.augment = "weak"  # the labeled view: flip + pad-and-crop, as FixMatch
    config.fix_match = fix_match_config.fix_match_section()
    paper_values(config)
    if arg == "paper":
        # The paper trains on all 50,000 images (no validation split: nothing is tuned) and
        # reports 94.93% with 250 labels.
        config.data.validation_size = 0
        config.data.labels_per_class = 25
        return config
    config.model.name = "resnet_cifar_small"
    config.train.batch_size = 32
    config.train.epochs = 40
    config.train.steps_per_epoch = 50
    config.train.ema_momentum = 0.99
    config.fix_match.unlabeled_ratio = 3
    return fix_match_config.apply_preset(config, arg)
