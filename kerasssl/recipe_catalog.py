"""Finding, loading and listing recipes, without TensorFlow.

Recipes live in the top-level `recipes/` folder and ship inside the package as
`kerasssl.recipes` (setup.py maps the folder), so an installed wheel has them too. A recipe is
named by its file name (`supervised_digits`) or given as a path to any recipe file, either
followed by `:<preset>` (see `kerasssl.recipe_presets`).
"""

import dataclasses
import difflib
import importlib.util
import pathlib

import ml_collections


def recipes_folder() -> pathlib.Path:
    """The folder of the shipped recipes."""
    try:
        import kerasssl.recipes
    except ModuleNotFoundError:
        # An editable install made before the recipes became a subpackage: the source tree's
        # folder is beside the package (`make install` refreshes the install).
        return pathlib.Path(__file__).resolve().parents[1] / "recipes"
    return pathlib.Path(next(iter(kerasssl.recipes.__path__)))


def recipe_names() -> list[str]:
    return sorted(
        path.stem for path in recipes_folder().glob("*.py") if not path.name.startswith("_")
    )


def find_recipe(value: str) -> tuple[pathlib.Path, str]:
    """Maps `<name>[:<preset>]` or `<path>.py[:<preset>]` to (recipe file, preset).

    A path that does not exist but names a shipped recipe (`recipes/supervised_digits.py`, as
    the recipes' own commands write it) finds the shipped one, so the commands work from any
    folder. Raises ValueError listing the shipped recipes otherwise.
    """
    name, _, preset = value.partition(":")
    candidates = [pathlib.Path(name).expanduser()]
    if not name.endswith(".py"):
        candidates.append(pathlib.Path(f"{name}.py").expanduser())
    stem = pathlib.Path(name).stem
    # Only a bare name or `recipes/<name>`: a path into another folder means that folder.
    if pathlib.Path(name).parent in (pathlib.Path("."), pathlib.Path("recipes")):
        if stem and not stem.startswith("_"):
            candidates.append(recipes_folder() / f"{stem}.py")
    for candidate in candidates:
        if candidate.is_file():
            return candidate, preset
    names = recipe_names()
    close = difflib.get_close_matches(stem, names, n=1)
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"no recipe {name!r}: pass a recipe name or the path of a recipe file.{suggestion} "
        f"Recipes: {', '.join(names)} (`kerasssl recipes` describes them)."
    )


def load_module(path):
    """Imports the recipe file at `path` as a module (recipes import no TensorFlow)."""
    path = pathlib.Path(path)
    spec = importlib.util.spec_from_file_location(f"kerasssl_recipe_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_config(value: str) -> ml_collections.ConfigDict:
    """`get_config(<preset>)` of the recipe `<name or path>[:<preset>]`."""
    path, preset = find_recipe(value)
    return build_config(load_module(path), preset)


def build_config(module, preset):
    """`module.get_config(preset)`, or `get_config()` without a preset, as config_flags calls it
    (a recipe of one's own may take no argument)."""
    return module.get_config(preset) if preset else module.get_config()


@dataclasses.dataclass(frozen=True)
class RecipeSummary:
    name: str
    summary: str  # The first sentence (paragraph) of the recipe's docstring.
    presets: dict  # {preset: one-line description}, the recipe's PRESETS.


def describe_recipes() -> list[RecipeSummary]:
    """Each shipped recipe with its one-line summary and presets, sorted by name."""
    summaries = []
    for name in recipe_names():
        module = load_module(recipes_folder() / f"{name}.py")
        # The first paragraph, in case the summary sentence wraps onto a second line.
        summary = " ".join((module.__doc__ or "").strip().split("\n\n")[0].split())
        summaries.append(RecipeSummary(name, summary, dict(getattr(module, "PRESETS", {}))))
    return summaries


def format_recipes(summaries) -> str:
    """The text of `kerasssl recipes`."""
    lines = []
    for recipe in summaries:
        lines.append(f"{recipe.name}: {recipe.summary}")
        width = max((len(preset) for preset in recipe.presets), default=0)
        for preset, description in recipe.presets.items():
            lines.append(f"    :{preset.ljust(width)}  {description}")
    return "\n".join(lines)
