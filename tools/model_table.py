"""Parameters and multiply-add FLOPs of every model preset at its native resolution.

    .venv/bin/python tools/model_table.py                      # text table with paper figures
    .venv/bin/python tools/model_table.py --format=json        # JSON list only, on stdout
    .venv/bin/python tools/model_table.py --models='efficientnet_*,mixer_s16'

Every preset is built for real with 1000 classes (about a minute for all of them on 2 CPU
cores; Mixer-H/14 needs ~2 GB of RAM) and measured with `model.count_params()` (trainable
and non-trainable weights) and `kerasssl.models.flops.count_flops` (multiply-adds of convs
and dense layers for one image; see that module for the convention).
"""

import fnmatch
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_FORMAT = flags.DEFINE_enum("format", "text", ["text", "json"], "Output format.")
_MODELS = flags.DEFINE_list(
    "models", ["*"], "Preset names or shell patterns to include (default: every preset)."
)

# Published figures: (parameters, multiply-adds) as printed in the papers.
PAPER = {
    "efficientnet_b0": ("5.3M", "0.39B"),
    "efficientnet_b1": ("7.8M", "0.70B"),
    "efficientnet_b2": ("9.2M", "1.0B"),
    "efficientnet_b3": ("12M", "1.8B"),
    "efficientnet_b4": ("19M", "4.2B"),
    "efficientnet_b5": ("30M", "9.9B"),
    "efficientnet_b6": ("43M", "19B"),
    "efficientnet_b7": ("66M", "37B"),
    "mixer_s32": ("19M (no head)", ""),
    "mixer_s16": ("18M (no head)", ""),
    "mixer_b32": ("60M (no head)", ""),
    "mixer_b16": ("59M (no head)", ""),
    "mixer_l32": ("206M (no head)", ""),
    "mixer_l16": ("207M (no head)", ""),
    "mixer_h14": ("431M (no head)", ""),
    "resnet50_a": ("25M", "3.8B"),
    "resnet50": ("25M", "4.1B"),
    "resnet50_c": ("25M", "4.3B"),
    "resnet50_d": ("25M", "4.3B"),
}


def all_presets():
    """Name -> preset entry from every module the registry lists."""
    import importlib

    from kerasssl.models import registry

    presets = {}
    for module_name in registry.PRESET_MODULES:
        for name, preset in importlib.import_module(module_name).PRESETS.items():
            presets.setdefault(name, preset)
    return presets


def select(names, patterns):
    """The names matching any shell pattern, in the given order; ValueError if none."""
    chosen = [name for name in names if any(fnmatch.fnmatch(name, p) for p in patterns)]
    if not chosen:
        raise ValueError(f"--models={','.join(patterns)} matches no preset; valid: {names}.")
    return chosen


def measure(preset):
    """{"params", "flops"} of one preset at its native input shape and 1000 classes."""
    import keras

    from kerasssl.models.flops import count_flops

    config = {**preset["config"], "num_classes": 1000}
    model = preset["class"](**config)
    row = {"params": int(model.count_params()), "flops": int(count_flops(model))}
    del model
    keras.backend.clear_session()
    return row


def model_table(patterns=("*",)):
    """List of {"name", "params", "flops"} for every preset matching `patterns`."""
    presets = all_presets()
    return [{"name": name, **measure(presets[name])} for name in select(list(presets), patterns)]


def format_text(rows):
    presets = all_presets()
    header = f"{'name':<20}{'input':>10}{'params':>14}{'paper':>16}{'mult-adds':>12}{'paper':>8}"
    lines = [header, "-" * len(header)]
    for row in rows:
        height, width, _ = presets[row["name"]]["config"]["input_shape"]
        paper_params, paper_flops = PAPER.get(row["name"], ("", ""))
        lines.append(
            f"{row['name']:<20}{f'{height}x{width}':>10}{row['params']:>14,}{paper_params:>16}"
            f"{row['flops'] / 1e9:>11.3f}B{paper_flops:>8}"
        )
    return "\n".join(lines)


def main(argv):
    del argv
    try:
        rows = model_table(_MODELS.value)
    except ValueError as error:
        sys.exit(f"error: {error}")
    if _FORMAT.value == "json":
        print(json.dumps(rows))
    else:
        print(format_text(rows))


if __name__ == "__main__":
    app.run(main)
