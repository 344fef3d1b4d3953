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
