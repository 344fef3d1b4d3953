"""kerasssl: Keras 3 training of image classifiers when labels are scarce or wrong.

The public API, by subpackage: `algorithms` (the `keras.Model`s you `fit`: Supervised,
Distiller, NoisyStudent, MetaPseudoLabels, DivideMix, FixMatch), `models` (ResNet, WideResNet,
EfficientNet, MLPMixer and `get_model`), `augment`, `data`, `noisy_labels`, `pseudo_labels`,
`losses`, `metrics`, `schedules`, `optimizers`, `testing`, and `train` (`train_and_evaluate`,
what the CLI runs on a recipe).

The names below are imported on first use (PEP 562), not by `import kerasssl`: importing
TensorFlow takes seconds and prints its start-up logs, which `kerasssl --help`, reading a recipe
(`kerasssl.recipe_defaults`, `kerasssl.recipes`) and listing recipes do not need.
"""

import importlib
import typing

__version__ = "0.1.0"

__all__ = [
    "Distiller",
    "DivideMix",
    "FixMatch",
    "MetaPseudoLabels",
    "NoisyStudent",
    "Supervised",
    "algorithms",
    "augment",
    "data",
    "evaluate_workdir",
    "losses",
    "metrics",
    "models",
    "noisy_labels",
    "optimizers",
    "pseudo_labels",
    "schedules",
    "testing",
    "train",
    "train_and_evaluate",
]

# The names of __all__ that are not submodules of kerasssl, and the module defining each.
_DEFINED_IN = {
    "Distiller": "kerasssl.algorithms",
    "DivideMix": "kerasssl.algorithms",
    "FixMatch": "kerasssl.algorithms",
    "MetaPseudoLabels": "kerasssl.algorithms",
    "NoisyStudent": "kerasssl.algorithms",
    "Supervised": "kerasssl.algorithms",
    "evaluate_workdir": "kerasssl.train",
    "train_and_evaluate": "kerasssl.train",
}

if typing.TYPE_CHECKING:  # Editors and type checkers see the names as ordinary imports.
    from kerasssl import (
        algorithms,
        augment,
        data,
        losses,
        metrics,
        models,
        noisy_labels,
        optimizers,
        pseudo_labels,
        schedules,
        testing,
        train,
    )
    from kerasssl.algorithms import (
        Distiller,
        DivideMix,
        FixMatch,
        MetaPseudoLabels,
        NoisyStudent,
        Supervised,
    )
    from kerasssl.train import evaluate_workdir, train_and_evaluate


def __getattr__(name):
    if name not in __all__:
        raise AttributeError(f"module 'kerasssl' has no attribute {name!r}")
    if name in _DEFINED_IN:
        value = getattr(importlib.import_module(_DEFINED_IN[name]), name)
    else:
        value = importlib.import_module(f"kerasssl.{name}")
    globals()[name] = value  # Later look-ups skip __getattr__.
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
