"""Test helpers for kerasssl algorithms and models (and for your own)."""

from kerasssl.testing.checks import (
    check_config_round_trip,
    check_keras_file_round_trip,
    check_nonzero_gradient,
)
from kerasssl.testing.interruptions import Interrupt, InterruptFit
from kerasssl.testing.recipe_configs import recipe_config, smoke_config
from kerasssl.testing.two_cpus import run_on_two_cpus

__all__ = [
    "Interrupt",
    "InterruptFit",
    "check_config_round_trip",
    "check_keras_file_round_trip",
    "check_nonzero_gradient",
    "recipe_config",
    "run_on_two_cpus",
    "smoke_config",
]
