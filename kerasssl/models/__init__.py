"""kerasssl.models."""
