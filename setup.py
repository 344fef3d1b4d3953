"""Package list for setuptools (the rest of the metadata is in pyproject.toml).

The recipes stay in the top-level `recipes/` folder, where the README and the recipes' own
commands point, and ship inside the package as `kerasssl.recipes`, so a wheel install can run
`kerasssl train --config=<name>`. pyproject.toml's `packages.find` cannot map a folder to a
subpackage of another name, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["kerasssl", "kerasssl.*"]), "kerasssl.recipes"],
    package_dir={"kerasssl.recipes": "recipes"},
)
