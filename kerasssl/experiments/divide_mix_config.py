"""Shared parts of the DivideMix recipes: preset arguments and the `config.dividemix` section."""

import ml_collections

from kerasssl import recipe_defaults


def noisy_label_config(recipe, arg, presets, default="sym50"):
    """A base config for `arg`: '<preset>', 'ce_<preset>' (cross-entropy baseline) or 'smoke'.

    Args:
        recipe: the recipe's name, for the error message.
        arg: the recipe argument ("" or None: `default`).
        presets: {preset: (noise rate, noise type, lambda_u)}.
        default: the preset of `arg=None` and of 'smoke'.

    Returns:
        (config, preset, noise_type, lambda_u): `config` has its algorithm ("supervised" for a
        `ce_` baseline, else "divide_mix") and its label noise set, in the "flip" convention.
    """
    arg = arg or default
    baseline = arg.startswith("ce_")
    preset = arg[3:] if baseline else arg
    if preset != "smoke" and preset not in presets:
        raise ValueError(
            f"{recipe} takes one of {sorted(presets)}, ce_<preset> or 'smoke'; got {arg!r}."
        )
    rate, noise_type, lambda_u = presets.get(preset, presets[default])
    config = recipe_defaults.base_config()
    config.algorithm = "supervised" if baseline else "divide_mix"
    config.data.noise.rate = rate
    config.data.noise.type = noise_type
    config.data.noise.rate_convention = "flip"
    return config, preset, noise_type, lambda_u


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
    # 0: a DivideMix epoch has as many steps as a warm-up epoch (a pass over all the data).
    section.steps_per_epoch = 0
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
