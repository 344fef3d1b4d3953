"""Experiments: what `kerasssl train` runs for each `config.algorithm`.

An experiment module has `run(context) -> dict` (see `kerasssl.experiments.context`): it builds
its algorithm from the recipe, fits it on `context.data` into `context.workdir` and returns its
metrics, which must include `test_accuracy`. Add an algorithm by writing
`kerasssl/experiments/<name>.py` and listing it in `EXPERIMENTS`.
"""

import importlib

EXPERIMENTS = {
    "supervised": "kerasssl.experiments.supervised",
    "divide_mix": "kerasssl.experiments.divide_mix",
    "noisy_student": "kerasssl.experiments.noisy_student",
    "billion_scale": "kerasssl.experiments.billion_scale",
    "distillation": "kerasssl.experiments.distillation",
    "meta_pseudo_labels": "kerasssl.experiments.meta_pseudo_labels",
    "fix_match": "kerasssl.experiments.fix_match",
    "transfer_learning": "kerasssl.experiments.transfer_learning",
}


def get_experiment(name):
    if name not in EXPERIMENTS:
        raise ValueError(f"config.algorithm must be one of {sorted(EXPERIMENTS)}, got {name!r}.")
    return importlib.import_module(EXPERIMENTS[name])
