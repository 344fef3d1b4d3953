"""A recipe's `:arg`, parsed once: one of the presets the recipe declares, or none.

A recipe declares its presets at module level, as a dict from the `:arg` to a one-line
description, so `kerasssl recipes` can list them without building a config:

    PRESETS = {"reduced": "5 epochs per phase", "smoke": recipe_defaults.SMOKE_DESCRIPTION}

    def get_config(arg=None):
        preset = recipe_presets.parse_preset(arg, PRESETS)
        ...
        if preset == "smoke":
            recipe_defaults.smoke(config)

As big_vision's `parse_arg`, the parsing and its error live here rather than in each recipe.
No argument (None or "") is always accepted: it is the run the recipe's docstring measures.
"""


def parse_preset(arg, presets):
    """Returns `arg` as a preset name, "" for none; ValueError naming the valid ones otherwise.

    Args:
        arg: the recipe argument, the text after `:` in `--config=<recipe>:<arg>`, or None.
        presets: the recipe's `PRESETS`, {name: one-line description}.
    """
    if arg is None or arg == "":
        return ""
    if not isinstance(arg, str):
        raise TypeError(f"A recipe argument must be a string such as 'smoke'; got {arg!r}.")
    if arg not in presets:
        raise ValueError(
            f"unknown recipe argument {arg!r}: this recipe takes no argument or one of "
            f"{describe_presets(presets)}."
        )
    return arg


def describe_presets(presets):
    """`'reduced' (5 epochs per phase), 'smoke' (...)`: the presets for a message."""
    return ", ".join(f"{name!r} ({description})" for name, description in presets.items())
