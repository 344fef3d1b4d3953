"""The recipes, shipped inside the package as `kerasssl.recipes` (see pyproject.toml)."""
