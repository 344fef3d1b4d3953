"""Experiments: what `kerasssl train` runs for each `config.algorithm`.

An experiment module has `run(context) -> dict` (see `kerasssl.experiments.context`): it builds
its algorithm from the recipe, fits it on `context.data` into `context.workdir` and returns its
metrics, which must include `test_accuracy`. Add an algorithm by writing
`kerasssl/experiments/<name>.py` and listing it in `EXPERIMENTS`.
"""

import importlib

EXPERIMENTS = {
    "supervised": "kerasssl.experiments.supervised",
}


def get_experiment(name):
    if name not in EXPERIMENTS:
        raise ValueError(f"config.algorithm must be one of {sorted(EXPERIMENTS)}, got {name!r}.")
    return importlib.import_module(EXPERIMENTS[name])
