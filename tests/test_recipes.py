"""Recipes: declared presets, one parser for `:arg`, and finding them by name or path."""

import os
import pathlib
import subprocess
import sys
import zipfile

import ml_collections
import pytest

from kerasssl import recipe_catalog, recipe_presets

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
RECIPES = sorted(
    path for path in (REPO_ROOT / "recipes").glob("*.py") if not path.name.startswith("_")
)


@pytest.mark.parametrize("path", RECIPES, ids=[path.stem for path in RECIPES])
def test_every_recipe_declares_presets_that_build(path):
    module = recipe_catalog.load_module(path)
    presets = module.PRESETS
    assert "smoke" in presets, "every recipe takes :smoke"
    for preset, description in presets.items():
        assert preset and ":" not in preset and "," not in preset, preset
        assert isinstance(description, str) and description.strip(), preset
        assert "\n" not in description, preset
        assert isinstance(module.get_config(preset), ml_collections.ConfigDict), preset
    assert isinstance(module.get_config(), ml_collections.ConfigDict)
    with pytest.raises(ValueError, match="unknown recipe argument 'no_such_preset'") as error:
        module.get_config("no_such_preset")
    for preset in presets:
        assert repr(preset) in str(error.value)


def test_smoke_preset_shrinks_the_run():
    for path in RECIPES:
        module = recipe_catalog.load_module(path)
        full, smoke = module.get_config(), module.get_config("smoke")
        assert smoke.train.steps_per_epoch == 1, path.stem
        assert smoke.train.epochs <= full.train.epochs, path.stem


def test_parse_preset():
    presets = {"reduced": "fewer epochs", "smoke": "seconds"}
    assert recipe_presets.parse_preset(None, presets) == ""
    assert recipe_presets.parse_preset("", presets) == ""
    assert recipe_presets.parse_preset("reduced", presets) == "reduced"
    with pytest.raises(ValueError, match=r"'reduced' \(fewer epochs\), 'smoke' \(seconds\)"):
        recipe_presets.parse_preset("Reduced", presets)
    with pytest.raises(TypeError, match="string"):
        recipe_presets.parse_preset(3, presets)


def test_find_recipe_by_name_path_and_shipped_path(tmp_path, monkeypatch):
    shipped = recipe_catalog.recipes_folder() / "supervised_digits.py"
    assert recipe_catalog.find_recipe("supervised_digits:smoke") == (shipped, "smoke")
    assert recipe_catalog.find_recipe(str(shipped)) == (shipped, "")
    own = tmp_path / "my_recipe.py"
    own.write_text(shipped.read_text())
    assert recipe_catalog.find_recipe(f"{own}:smoke") == (own, "smoke")
    # From another folder, the recipes' own commands (`recipes/<name>.py`) find the shipped one.
    monkeypatch.chdir(tmp_path)
    assert recipe_catalog.find_recipe("recipes/supervised_digits.py") == (shipped, "")
    assert recipe_catalog.find_recipe("my_recipe:smoke") == (pathlib.Path("my_recipe.py"), "smoke")
    with pytest.raises(ValueError, match="Did you mean 'supervised_digits'"):
        recipe_catalog.find_recipe("supervised_digit")
    # A path into another folder means that folder, never a shipped recipe of the same name.
    with pytest.raises(ValueError, match="no recipe"):
        recipe_catalog.find_recipe("elsewhere/supervised_digits.py")


def test_describe_recipes_gives_summary_and_presets():
    summaries = {recipe.name: recipe for recipe in recipe_catalog.describe_recipes()}
    assert set(summaries) == {path.stem for path in RECIPES}
    digits = summaries["dividemix_digits"]
    assert digits.summary.startswith("DivideMix on scikit-learn's digits")
    assert {"sym50", "ce_sym50", "pair40", "smoke"} <= set(digits.presets)
    text = recipe_catalog.format_recipes(summaries.values())
    assert "supervised_digits: Supervised baseline" in text
    assert "    :labels50" in text


def test_recipes_ship_in_the_package():
    import kerasssl.recipes

    folder = pathlib.Path(next(iter(kerasssl.recipes.__path__)))
    assert {path.stem for path in RECIPES} <= {path.stem for path in folder.glob("*.py")}


@pytest.mark.slow
def test_built_wheel_holds_the_recipes(tmp_path):
    # --no-build-isolation: the venv's setuptools, no download.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + [str(REPO_ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_NO_INPUT": "1"},
        timeout=600,
    )
    (wheel,) = tmp_path.glob("kerasssl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in RECIPES:
        assert f"kerasssl/recipes/{path.name}" in names, path.name
    assert "kerasssl/recipe_catalog.py" in names


def test_a_recipe_of_ones_own_may_take_no_argument(tmp_path):
    # As config_flags, which calls get_config() when --config has no `:<preset>`.
    own = tmp_path / "no_argument.py"
    own.write_text(
        "import ml_collections\n\n\n"
        "def get_config():\n"
        "    return ml_collections.ConfigDict({'seed': 1})\n"
    )
    assert recipe_catalog.load_config(str(own)).seed == 1
