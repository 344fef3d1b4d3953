"""A recipe's config for a test: one loader instead of one per test file."""

from kerasssl import recipe_catalog


def recipe_config(recipe, preset="smoke"):
    """`get_config(preset)` of a recipe, as `kerasssl train --config=<recipe>:<preset>` builds it.

    Args:
        recipe: a shipped recipe's name (`"fixmatch_digits"`) or the path of a recipe file.
        preset: one of the recipe's `PRESETS`; "" or None for the recipe without a preset.
    """
    path, _ = recipe_catalog.find_recipe(str(recipe))
    return recipe_catalog.build_config(recipe_catalog.load_module(path), preset)


def smoke_config(recipe, preset="smoke"):
    """`recipe_config` on the built-in digits with Keras' progress output off: any recipe, the
    CIFAR-10 ones too, runs in seconds with no data folder."""
    config = recipe_config(recipe, preset)
    config.data.source = "digits"
    config.train.verbose = "0"
    return config
