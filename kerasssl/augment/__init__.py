"""kerasssl.augment."""
