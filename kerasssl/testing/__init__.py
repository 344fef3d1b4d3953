"""Test helpers for kerasssl algorithms and models (and for your own)."""

from kerasssl.testing.checks import (
    check_config_round_trip,
    check_keras_file_round_trip,
    check_nonzero_gradient,
)
from kerasssl.testing.two_cpus import run_on_two_cpus

__all__ = [
    "check_config_round_trip",
    "check_keras_file_round_trip",
    "check_nonzero_gradient",
    "run_on_two_cpus",
]
