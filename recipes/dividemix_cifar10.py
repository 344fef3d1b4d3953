"""DivideMix on CIFAR-10 with synthetic label noise, from an image folder.

Command:
    kerasssl train --config=recipes/dividemix_cifar10.py:sym50 \
        --config.data.root=../shared/data/cifar10-subset --workdir=runs/dividemix_sym50
Runtime on 2 CPU cores: the `ce_*` baselines about 6 minutes (14 epochs of 85 steps); DivideMix
about 17 minutes (asym40: 1,016 s of training with one other job on the machine; 10 warm-up
epochs of 35-45 s for both networks, then 4 DivideMix epochs of 100-240 s: two networks, M = 2
views, co-guessing with both, the co-divide over 5,400 images); 32-33 minutes measured with 3-5
other jobs on the same cores.
Measured test accuracy (validation accuracy), seed 0, 2026-11-26, same 14 epochs:
- sym50: `ce_sym50` 0.384 (0.360); DivideMix 0.3985 (0.375); with one cosine per phase 0.374
  (0.368); with alpha 0.5 instead of 4 0.3975 (0.377).
- asym40: `ce_asym40` 0.5025 (0.533); DivideMix 0.4805 (0.480); with one shared cosine 0.4535
  (0.475).
DivideMix does NOT beat cross-entropy clearly at this budget (issue 6 stays open). Per epoch
(metrics.json "per_epoch"): after the warm-up the networks reach only 0.37 (sym50) and 0.44-0.46
(asym40) validation accuracy; the GMM split's AUC is 0.80-0.83 at sym50 (clean set 62-70%
clean) and only 0.58-0.67 at asym40, where the flipped labels (cat<->dog, truck->automobile,
...) are ones a weak network also predicts, so their losses do not stand out. The four
DivideMix epochs then hold accuracy (0.373 -> 0.375 at sym50) instead of lifting it as on
50k images after a 10-epoch warm-up.
Fixed on the way (see kerasssl.algorithms.divide_mix): co-guessing in inference mode let the
BatchNorm statistics follow only the MixMatch inputs and collapsed the predictions (validation
0.373 -> 0.213 over the same 4 epochs); the trained network now predicts in training mode, as
the reference.

Presets (`arg`): sym20, sym50, sym80, asym40 (lambda_u as the paper's authors set it: 0 at
20% symmetric and 40% asymmetric, 25 at 50% and 80%; the confidence penalty in warm-up for
asymmetric noise), `ce_<preset>` (plain cross-entropy, algorithm "supervised", same data,
model, epochs, batch size and learning rate), and `smoke`.
Noise uses the "flip" convention (the rate is the fraction of labels that really change);
pass --config.data.noise.rate_convention=resample for the reference code's convention.
"""

import ml_collections

from kerasssl import recipe_defaults

# (noise rate, noise type, lambda_u): lambda_u per setting as in the DivideMix paper (sec. 4).
PRESETS = {
    "sym20": (0.2, "symmetric", 0.0),
    "sym50": (0.5, "symmetric", 25.0),
    "sym80": (0.8, "symmetric", 25.0),
    "asym40": (0.4, "asymmetric", 0.0),
}


def get_config(arg=None):
    arg = arg or "sym50"
    baseline = arg.startswith("ce_")
    preset = arg[3:] if baseline else arg
    if preset != "smoke" and preset not in PRESETS:
        raise ValueError(
            f"dividemix_cifar10 takes one of {sorted(PRESETS)}, ce_<preset> or 'smoke'; got "
            f"{arg!r}."
        )
    rate, noise_type, lambda_u = PRESETS.get(preset, PRESETS["sym50"])
    config = recipe_defaults.base_config()
    config.algorithm = "supervised" if baseline else "divide_mix"
    config.data.source = "image_folder"
    config.data.root = ""  # required: --config.data.root=<folder with train/ and test/>
    config.data.validation_size = 0.1  # clean labels: where to find out why a run fails
    config.data.noise.rate = rate
    config.data.noise.type = noise_type
    config.data.noise.rate_convention = "flip"
    config.model.name = "resnet_cifar_small"
    config.train.batch_size = 64  # per network, labeled and unlabeled each (as the reference)
    config.train.epochs = 14  # reference: 300 on the full CIFAR-10; shrunk to fit 2 CPU cores
    config.train.optimizer = "sgd"
    # 0.05 at batch 64 after linear scaling, Nesterov, one warm-up epoch: the reference's 0.02
    # left the warm-up networks at 0.285 validation accuracy after 4 epochs (chosen on it).
    config.train.base_learning_rate = 0.2
    config.train.nesterov = True
    config.train.warmup_epochs = 1
    config.train.weight_decay = 5e-4  # coupled L2, as the reference's SGD(weight_decay=5e-4)

    config.dividemix = ml_collections.ConfigDict()
    # Reference: 10 of 300 epochs on 50k images. Here the co-divide needs most of the budget:
    # after 4 epochs the split's AUC was 0.75, after 10 it is 0.80.
    config.dividemix.warmup_epochs = 10
    # True: one cosine for the warm-up, a second for the DivideMix epochs (PhasedSchedule).
    # Chosen on validation: one shared cosine at sym50 (0.375 vs 0.368), one per phase at
    # asym40 (0.480 vs 0.475); differences of 3-4 of the 600 validation images.
    config.dividemix.schedule_per_phase = noise_type == "asymmetric"
    config.dividemix.threshold = 0.5  # tau
    config.dividemix.temperature = 0.5  # T
    config.dividemix.alpha = 4.0
    config.dividemix.lambda_u = lambda_u
    config.dividemix.rampup_epochs = 4  # reference: 16 of 300
    # 0: a DivideMix epoch has as many steps as a warm-up epoch (a pass over all the data).
    config.dividemix.steps_per_epoch = 0
    config.dividemix.prior_weight = 1.0
    config.dividemix.confidence_penalty = noise_type == "asymmetric"
    if preset == "smoke":
        recipe_defaults.smoke(config)
        config.train.epochs = 3
        config.train.steps_per_epoch = 1
        config.train.batch_size = 8
        config.dividemix.warmup_epochs = 1
        config.dividemix.rampup_epochs = 1
    return config
