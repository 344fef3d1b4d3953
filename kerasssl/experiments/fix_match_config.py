"""The `config.fix_match` recipe section of FixMatch and FlexMatch.

Apart from `kerasssl.experiments.fix_match` so that a recipe builds its config without
importing TensorFlow (`kerasssl recipes`, `--help` and config checks stay fast).
"""

import ml_collections

from kerasssl import recipe_defaults


def fix_match_section():
    """The `config.fix_match` recipe section, with the FixMatch paper's CIFAR-10 values."""
    section = ml_collections.ConfigDict()
    section.unlabeled_ratio = 7  # mu: unlabeled images per labeled one in a batch
    section.confidence_threshold = 0.95  # tau
    section.unlabeled_loss_weight = 1.0  # lambda_u
    section.threshold = "fixed"  # fixed (FixMatch) | flex (FlexMatch's class-wise thresholds)
    section.threshold_warmup = True  # FlexMatch's warm-up (its reference code's default)
    section.weak_view = "weak"  # flip + pad-and-crop; the labeled view is config.data.augment
    section.strong_view = "strong"  # RandAugment (random magnitude) + Cutout
    return section


def apply_preset(config, preset):
    """Applies the `:flex`, `:supervised` or `:smoke` preset the FixMatch recipes share.

    Args:
        config: the recipe's config, with its `config.fix_match` section; changed in place.
        preset: the parsed recipe argument (`recipe_presets.parse_preset`); "" and any other
            preset leave `config` as it is.

    Returns:
        `config`.
    """
    if preset == "flex":
        config.fix_match.threshold = "flex"
    elif preset == "supervised":
        config.algorithm = "supervised"
    elif preset == "smoke":
        recipe_defaults.smoke(config)
        config.train.ema_momentum = 0.9
        config.fix_match.unlabeled_ratio = 2
    return config
