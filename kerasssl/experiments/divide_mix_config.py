"""Shared parts of the DivideMix recipes: preset arguments and the `config.dividemix` section."""

import ml_collections

from kerasssl import recipe_defaults, recipe_presets


def presets(noise_settings, default="sym50"):
    """The `PRESETS` of a DivideMix recipe: each noise setting, its `ce_` baseline and smoke.

    Args:
        noise_settings: {name: (noise rate, noise type, lambda_u)}.
        default: the setting of the run without argument, and of 'smoke'.
    """
    descriptions = {}
    for name, (rate, noise_type, lambda_u) in noise_settings.items():
        note = " (also the run without argument)" if name == default else ""
        descriptions[name] = f"{rate:.0%} {noise_type} label noise, lambda_u {lambda_u:g}{note}"
    for name in noise_settings:
        descriptions[f"ce_{name}"] = f"plain cross-entropy on the `{name}` labels: the baseline"
    descriptions["smoke"] = f"{recipe_defaults.SMOKE_DESCRIPTION}, on the `{default}` labels"
    descriptions["ce_smoke"] = "`smoke` with plain cross-entropy"
    return descriptions


def noisy_label_config(arg, noise_settings, presets, default="sym50"):
    """A base config for the recipe argument `arg`, one of `presets` (see `presets`).

    Args:
        arg: the recipe argument (None or "": `default`).
        noise_settings: {name: (noise rate, noise type, lambda_u)}.
        presets: the recipe's PRESETS, built by `presets(noise_settings, default)`.
        default: the setting of `arg=None` and of 'smoke'.

    Returns:
        (config, setting, noise_type, lambda_u): `setting` is the noise setting's name or
        "smoke", without `ce_`; `config` has its algorithm ("supervised" for a `ce_` baseline,
        else "divide_mix") and its label noise set, in the "flip" convention.
    """
    preset = recipe_presets.parse_preset(arg, presets) or default
    baseline = preset.startswith("ce_")
    setting = preset[len("ce_") :] if baseline else preset
    rate, noise_type, lambda_u = noise_settings.get(setting, noise_settings[default])
    config = recipe_defaults.base_config()
    config.algorithm = "supervised" if baseline else "divide_mix"
    config.data.noise.rate = rate
    config.data.noise.type = noise_type
    config.data.noise.rate_convention = "flip"
    return config, setting, noise_type, lambda_u


def divide_mix_section(
    lambda_u,
    warmup_epochs=10,
    rampup_epochs=16,
    confidence_penalty=False,
    schedule_per_phase=False,
):
    """`config.dividemix` with the reference's tau, T, alpha and prior weight."""
    section = ml_collections.ConfigDict()
    section.warmup_epochs = warmup_epochs
    # True: one cosine for the warm-up, a second for the DivideMix epochs (PhasedSchedule).
    section.schedule_per_phase = schedule_per_phase
    section.threshold = 0.5  # tau
    section.temperature = 0.5  # T
    section.alpha = 4.0
    section.lambda_u = lambda_u
    section.rampup_epochs = rampup_epochs  # epochs over which lambda_u ramps after warm-up
    # 0: a DivideMix epoch has config.train.steps_per_epoch steps, or ceil(N / B): a pass
    # over the N noisy images at config.train.batch_size B.
    section.steps_per_epoch = 0
    # True: each DivideMix epoch is a pass over its labeled split, as the reference (its
    # length then depends on the split, so the learning rate is set per epoch instead).
    section.labeled_pass_epochs = False
    section.warmup_batch_size = 0  # 0: 2B, the reference's warm-up batch
    # True: the L2 also decays biases and BatchNorm parameters, as the reference's PyTorch
    # SGD(weight_decay=5e-4) (coupled mode only); False: kernels only (Bag of Tricks).
    section.decay_all_parameters = False
    section.prior_weight = 1.0
    # The GMM fits each image's loss averaged over this many last co-divides (each epoch's
    # losses min-max normalised first); 1: the current epoch's. The reference: 5 at 90% noise.
    section.loss_average_epochs = 1
    section.confidence_penalty = confidence_penalty  # warm-up penalty, for asymmetric noise
    return section


def smoke(config):
    """`recipe_defaults.smoke` plus one warm-up and two DivideMix epochs of one step."""
    recipe_defaults.smoke(config)
    config.train.epochs = 3
    config.train.steps_per_epoch = 1
    config.train.batch_size = 8
    config.dividemix.warmup_epochs = 1
    config.dividemix.rampup_epochs = 1
    return config


# The DivideMix paper's CIFAR settings (Li et al., ICLR 2020, section 4.1 and Table 1; the
# authors' code, LiJunnan1992/DivideMix Train_cifar.py): {preset: (noise rate, noise type,
# lambda_u)}. lambda_u was "chosen from {0, 25, 50, 150} using a small validation set"; the
# per-setting values are the ones the paper's results were run with (the run scripts built on
# Train_cifar.py pass the same, e.g. `--lambda_u 0` at CIFAR-10 20%, 50 at 90%, 150 on CIFAR-100).
PAPER_NOISE_SETTINGS = {
    "cifar10": {
        "paper_sym20": (0.2, "symmetric", 0.0),
        "paper_sym50": (0.5, "symmetric", 25.0),
        "paper_sym80": (0.8, "symmetric", 25.0),
        "paper_sym90": (0.9, "symmetric", 50.0),
        "paper_asym40": (0.4, "asymmetric", 0.0),
    },
    "cifar100": {
        "paper_sym20": (0.2, "symmetric", 25.0),
        "paper_sym50": (0.5, "symmetric", 150.0),
        "paper_sym80": (0.8, "symmetric", 150.0),
        "paper_sym90": (0.9, "symmetric", 150.0),
    },
}
# Warm-up epochs (the code's `warm_up`, section 4.1: "10 epochs for CIFAR-10 and 30 epochs for
# CIFAR-100").
PAPER_WARMUP_EPOCHS = {"cifar10": 10, "cifar100": 30}


def paper_presets(dataset):
    """PRESETS entries of the paper's settings on `dataset` ("cifar10" or "cifar100")."""
    return {
        name: f"the DivideMix paper on tfds {dataset}: {rate:.0%} {noise_type} noise, "
        f"lambda_u {lambda_u:g}, PreActResNet-18, 300 epochs (a GPU run)"
        for name, (rate, noise_type, lambda_u) in PAPER_NOISE_SETTINGS[dataset].items()
    }


def paper_config(dataset, preset):
    """The DivideMix paper's run `preset` (a key of `PAPER_NOISE_SETTINGS[dataset]`).

    Every value is the paper's (section 4.1) or, where the paper is silent or differs, the
    authors' code's, as commented. At 90% noise the code fits the GMM to each
    image's loss averaged over the last 5 epochs (`if args.r == 0.9`), as
    `loss_average_epochs` 5 does here. The code runs 301 epochs (`range(num_epochs + 1)`);
    this runs the paper's 300.
    """
    rate, noise_type, lambda_u = PAPER_NOISE_SETTINGS[dataset][preset]
    config = recipe_defaults.base_config()
    config.algorithm = "divide_mix"
    config.data.source = "tfds"
    config.data.name = dataset
    # Read from a prepared copy (`tfds build <dataset> --data_dir=DIR`, then
    # --config.data.data_dir=DIR): every host of a cluster reads it, none downloads mid-job.
    config.data.download = False
    config.data.validation_size = 0  # the paper trains on all 50,000 images, reports test
    config.data.noise.rate = rate
    config.data.noise.type = noise_type
    # The code's convention: int(rate * N) images get a label drawn from all classes (their
    # own included), so "50% symmetric" changes 45% of CIFAR-10's labels.
    config.data.noise.rate_convention = "resample"
    config.model.name = "preact_resnet18"  # "an 18-layer PreAct ResNet"
    # One GPU (Table 8: "a single Nvidia V100"): plain BatchNorm, nothing to synchronize.
    config.model.sync_batch_norm = False
    train = config.train
    # The code's default, per network, for the labeled and for the unlabeled stream each (the
    # paper's text says 128, what 64 labeled + 64 unlabeled images per step make).
    train.batch_size = 64
    train.epochs = 300
    train.optimizer = "sgd"
    train.momentum = 0.9
    train.nesterov = False  # torch.optim.SGD(momentum=0.9): plain momentum
    train.weight_decay = 5e-4
    train.weight_decay_mode = "coupled"  # SGD(weight_decay=5e-4)
    train.base_learning_rate = 0.02
    train.linear_scaling = False  # 0.02 is the rate itself, at batch 64
    train.schedule = "step"  # "reduce it by a factor of 10 after 150 epochs"
    train.step_decay_epochs = (150,)
    train.step_decay_factor = 0.1
    train.warmup_epochs = 0  # no learning-rate warm-up (DivideMix's warm-up is its own phase)
    config.dividemix = divide_mix_section(
        lambda_u,
        warmup_epochs=PAPER_WARMUP_EPOCHS[dataset],
        rampup_epochs=16,  # the code's linear_rampup(..., rampup_length=16)
        # The code's NegEntropy penalty in warm-up, for asymmetric noise only.
        confidence_penalty=noise_type == "asymmetric",
    )
    section = config.dividemix
    # Section 4.1: "tau = 0.5 except for 90% noise ratio when it is set as 0.6".
    section.threshold = 0.6 if rate == 0.9 else 0.5
    # The code: "average loss over last 5 epochs to improve convergence stability" at r 0.9.
    section.loss_average_epochs = 5 if rate == 0.9 else 1
    section.labeled_pass_epochs = True  # a DivideMix epoch is a pass over the labeled split
    section.warmup_batch_size = 0  # 2B = 128, the code's warm-up loader
    section.decay_all_parameters = True  # PyTorch's weight_decay covers biases and BN too
    return config


def paper_smoke(config):
    """Shrinks a paper config to seconds: `smoke` with one warm-up and one DivideMix epoch."""
    smoke(config)
    config.train.epochs = 2
    config.dividemix.labeled_pass_epochs = False
    config.data.validation_size = 0
    return config
