"""kerasssl: Keras 3 training of image classifiers when labels are scarce or wrong.

The public API, by subpackage: `algorithms` (the `keras.Model`s you `fit`: Supervised,
Distiller, NoisyStudent, MetaPseudoLabels, DivideMix), `models` (ResNet, WideResNet,
EfficientNet, MLPMixer and `get_model`), `augment`, `data`, `noisy_labels`, `pseudo_labels`,
`losses`, `metrics`, `schedules`, `optimizers`, `testing`, and `train` (`train_and_evaluate`,
what the CLI runs on a recipe).
"""

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
from kerasssl.algorithms import Distiller, DivideMix, MetaPseudoLabels, NoisyStudent, Supervised
from kerasssl.train import evaluate_workdir, train_and_evaluate

__version__ = "0.1.0"

__all__ = [
    "Distiller",
    "DivideMix",
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
