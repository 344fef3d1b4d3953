"""Test helpers for kerasssl algorithms and models (and for your own)."""

from kerasssl.testing.checks import (
    check_config_round_trip,
    check_keras_file_round_trip,
    check_nonzero_gradient,
)

__all__ = ["check_config_round_trip", "check_keras_file_round_trip", "check_nonzero_gradient"]
