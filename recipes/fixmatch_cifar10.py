"""FixMatch (and FlexMatch) on CIFAR-10 from an image folder, 50 labels per class.

Command:
    kerasssl train --config=recipes/fixmatch_cifar10.py \
        --config.data.root=../shared/data/cifar10-subset --workdir=runs/fixmatch_cifar10
Runtime on 2 CPU cores (Xeon 2.80GHz without AMX, WRN-28-2 fp32 at batch 128: 84 img/s by
`tools/bench_train.py`): 5,000 steps of 32 labeled + 2 x 96 unlabeled images through the
0.70M-parameter resnet_cifar_small, about 0.5-0.6 s a step alone, so about 50 minutes; runs
beside other jobs took longer (the minutes in metrics.json are not comparable: seed 1's FixMatch
run ran beside another for its last 92 epochs). `:flex` the same; `:supervised` 13 minutes.
`:smoke` seconds.
Budget chosen on the validation split (seed 0, `tools/compare_ssl.py --steps=...`): FixMatch's
validation accuracy is 0.482 after 2,000 steps and 0.525 after 5,000 (best epoch 0.542), so
5,000 steps (about 50 of issue 16's 60 minutes alone). Supervised alone does not gain from
the longer run (validation 0.463 at 2,000 steps, 0.453 at 5,000: the labeled set is memorised).
Test accuracy (EMA model, 500 labels, 2026-12-07/08; validation in brackets):
- 5,000 steps: supervised 0.444 (0.453) / 0.461 (0.478), mean 0.4525; FixMatch 0.534 (0.525) /
  0.527 (0.538), mean 0.5305; FlexMatch 0.524 (0.535) /
  0.5525 (0.580), mean 0.538 (seed 1 alone: 48.7 minutes).
- 2,000 steps, seeds 0 and 1: supervised 0.4195 / 0.440 (mean 0.430), FixMatch 0.4735 /
  0.464 (0.469), FlexMatch 0.4905 / 0.4745 (0.483).
- All 5,400 labels (`supervised_cifar10`, seed 0): 0.690.
The fraction of the labeled-only -> all-labels gap closed, against supervised at the same steps
and seed: at 5,000 steps FixMatch 37% (seed 0) and 29% (seed 1), 33% on the means; FlexMatch 33%
and 40%, 36% on the means; at 2,000 steps FixMatch 15%, FlexMatch 20% (two seeds). Issue 16's
target is 50%. Why it is not reached, from history.csv (training figures and the validation
split, no test data): the run is budget-limited. FixMatch's mask opens slowly at tau 0.95: 2% of
the unlabeled batch after 500 steps, 19% after 1,000, 33-36% after 2,000, 47-50% at 5,000 and
still rising; the masked pseudo-labels stay 61-70% right while the labeled batch is memorised
(99.9% training accuracy), and validation accuracy still rose late in the run (seed 1: 0.493 at
step 3,500, 0.528-0.557 over the last 500). FlexMatch's warm-up (seed 0; the images never above
tau outnumber every class's, so each class's threshold stays near 0) ends over steps
2,100-2,500: until then it trains on every hard pseudo-label (mask 1.0, 36-46% right) and leads
FixMatch on validation (0.503 vs 0.453 at 1,500 steps), then its mask settles at 58-64% with
60-65% right labels and validation stays at 0.49-0.545 while FixMatch catches up. metrics.json
reports the EMA model's test_accuracy and the last epoch's mask rate and pseudo-label accuracy.
Step cost (`tools/bench_fixmatch.py`, 2026-12-07, quiet): one paper-size step (WRN-28-2,
B = 64, mu = 7: 960 images) takes 9.66 s, 1.07 x 960 times the supervised per-image time of
the same network in the same run (9.43 ms; target <= 1.1). USB's PyTorch FixMatch took 16.6 s
per such step on a 2-core CPU of this kind.
Without a preset: the CPU budget above, its settings to be chosen on the validation split;
`:paper` is a GPU run (2^20 steps of 960 images). Why the CPU budget differs from the paper:
one paper step is 960 images through WRN-28-2, 9.66 s on 2 quiet cores (above), so 60
minutes buy about 370 of the paper's 2^20 steps. The
budget keeps the paper's loss, tau, lambda_u, optimizer and schedule shape, and spends the
compute on more steps of a smaller network with mu = 3 (as `mpl_cifar10`). EMA 0.99 instead
of 0.999: at 0.999 the average would still weigh the first half of a 2,000-step run by 37%
(e^-1), and the first 2,000 of 5,000 steps by 5%.
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
    config.train.epochs = 100  # 5,000 steps, chosen on validation (docstring)
    config.train.steps_per_epoch = 50
    config.train.ema_momentum = 0.99
    config.fix_match.unlabeled_ratio = 3
    return fix_match_config.apply_preset(config, arg)
