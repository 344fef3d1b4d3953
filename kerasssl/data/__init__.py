"""kerasssl.data."""
