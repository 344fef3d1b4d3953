"""Named views: functions `view(image, seed) -> image` that the tf.data pipelines apply.

A view takes one float32 [H, W, C] image in [0, 255] and an int32 [2] seed and returns a
float32 image of the same shape in [0, 255], using only stateless (seeded) randomness so that
pipelines are reproducible. Algorithms ask for views by name (e.g. `views=("weak", "strong")`);
new augmentations join with `register_view`.

Some names are parsed on first use rather than listed, as timm parses `rand-m9-n2`: a family
(`register_view_family`) builds the view from the name, e.g. "randaugment_2_14" (RandAugment,
N = 2 ops at magnitude 14; see `kerasssl.augment.strong_views`). The built-in views, fixed
and parsed, are registered by the first `get_view` or `list_views`.
"""

import dataclasses
import functools
import importlib
import re

from kerasssl.augment.weak import weak_augment

_VIEWS = {}
_FAMILIES = []
# Modules that register the built-in views when imported (they import this module).
_BUILT_IN_VIEW_MODULES = ("kerasssl.augment.strong_views", "kerasssl.augment.view_copies")


@dataclasses.dataclass(frozen=True)
class _ViewFamily:
    prefix: str
    pattern: re.Pattern
    build: object
    grammar: str


def register_view(name: str, view, overwrite: bool = False):
    """Makes `view(image, seed) -> image` available as `get_view(name)`; returns `view`.

    Args:
        name: the name algorithms and configs use, e.g. "strong".
        view: a callable `(image, seed) -> image` (see the module docstring).
        overwrite: replace an existing view of that name instead of raising.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string; got {name!r}.")
    if not callable(view):
        raise TypeError(f"`view` must be callable as view(image, seed); got {view!r}.")
    if name in _VIEWS and not overwrite:
        raise ValueError(f"A view named {name!r} exists; pass overwrite=True to replace it.")
    _VIEWS[name] = view
    return view


def register_view_family(prefix: str, pattern: str, build, grammar: str, overwrite: bool = False):
    """Makes every name that `pattern` matches a view, built by `build(match)` on first use.

    Args:
        prefix: the start shared by the family's names, e.g. "randaugment_": a name with this
            prefix that `pattern` does not match is reported as malformed, with `grammar`.
        pattern: a regular expression the whole name must match; its groups go to `build`.
        build: `build(match) -> view`; a ValueError or TypeError it raises (a magnitude out of
            range) is reported with the name and `grammar`.
        grammar: how to write a name, for error messages, e.g. "randaugment_<N>_<M> (...)".
        overwrite: replace a family with the same prefix instead of raising.
    """
    existing = [family for family in _FAMILIES if family.prefix == prefix]
    if existing and not overwrite:
        raise ValueError(
            f"A view family with the prefix {prefix!r} exists; pass overwrite=True to replace it."
        )
    for family in existing:
        _FAMILIES.remove(family)
    _FAMILIES.append(_ViewFamily(prefix, re.compile(pattern), build, grammar))


def get_view(name: str):
    """The view called `name`; ValueError listing the known names and the grammars otherwise."""
    if name not in _VIEWS:
        _register_built_in_views()
    if name not in _VIEWS:
        register_view(name, _build_from_name(name))
    return _VIEWS[name]


def list_views() -> list[str]:
    """The registered names (fixed ones, and those of a family built so far)."""
    _register_built_in_views()
    return sorted(_VIEWS)


def view_grammars() -> list[str]:
    """How to write the names that families build, e.g. "randaugment_<N>_<M> (...)"."""
    _register_built_in_views()
    return [family.grammar for family in _FAMILIES]


def _register_built_in_views():
    for module in _BUILT_IN_VIEW_MODULES:
        importlib.import_module(module)


def _build_from_name(name):
    grammars = "; ".join(view_grammars())
    if not isinstance(name, str):
        raise TypeError(f"A view name must be a string such as 'weak'; got {name!r}.")
    for family in _FAMILIES:
        if not name.startswith(family.prefix):
            continue
        match = family.pattern.fullmatch(name)
        if match is None:
            raise ValueError(f"Malformed view name {name!r}: write it as {family.grammar}.")
        try:
            return family.build(match)
        except (ValueError, TypeError) as error:
            raise ValueError(f"View {name!r}: {error} Names are {family.grammar}.") from None
    raise ValueError(
        f"Unknown view {name!r}; registered views are {sorted(_VIEWS)}, and views built from "
        f"their name: {grammars}."
    )


def identity_view(image, seed):
    """No augmentation (evaluation, or the teacher's clean view)."""
    del seed
    return image


register_view("identity", identity_view)
register_view("weak", weak_augment)
register_view("weak_no_flip", functools.partial(weak_augment, horizontal_flip=False))
