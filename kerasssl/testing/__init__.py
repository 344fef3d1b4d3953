"""kerasssl.testing."""
