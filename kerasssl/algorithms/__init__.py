"""kerasssl.algorithms."""
