"""kerasssl.algorithms: the `keras.Model`s you `fit`, and the loss pieces they share."""

from kerasssl.algorithms.distiller import Distiller
from kerasssl.algorithms.divide_mix import (
    DivideMix,
    co_guess,
    co_refine,
    negative_entropy,
    uniform_prior_penalty,
)
from kerasssl.algorithms.fix_match import FixMatch
from kerasssl.algorithms.meta_pseudo_labels import MetaPseudoLabels
from kerasssl.algorithms.mix_match import mix_coefficient, mix_match
from kerasssl.algorithms.noisy_student import NoisyStudent
from kerasssl.algorithms.seed_generator_checkpointing import SeedGeneratorCheckpointing
from kerasssl.algorithms.sharpen import sharpen
from kerasssl.algorithms.supervised import Supervised
from kerasssl.algorithms.uda import soft_cross_entropy, uda_loss

__all__ = [
    "Distiller",
    "DivideMix",
    "FixMatch",
    "MetaPseudoLabels",
    "NoisyStudent",
    "SeedGeneratorCheckpointing",
    "Supervised",
    "co_guess",
    "co_refine",
    "mix_coefficient",
    "mix_match",
    "negative_entropy",
    "sharpen",
    "soft_cross_entropy",
    "uda_loss",
    "uniform_prior_penalty",
]
