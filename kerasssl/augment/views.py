"""Named views: functions `view(image, seed) -> image` that the tf.data pipelines apply.

A view takes one float32 [H, W, C] image in [0, 255] and an int32 [2] seed and returns a
float32 image of the same shape in [0, 255], using only stateless (seeded) randomness so that
pipelines are reproducible. Algorithms ask for views by name (e.g. `views=("weak", "strong")`);
new augmentations join with `register_view`, called when their module is imported (importing
any `kerasssl.augment` module runs the package `__init__`, which imports them all).
"""

import functools

from kerasssl.augment.weak import weak_augment

_VIEWS = {}


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


def get_view(name: str):
    """The view registered as `name`; ValueError listing the known names otherwise."""
    if name not in _VIEWS:
        raise ValueError(f"Unknown view {name!r}; registered views are {list_views()}.")
    return _VIEWS[name]


def list_views() -> list[str]:
    return sorted(_VIEWS)


def identity_view(image, seed):
    """No augmentation (evaluation, or the teacher's clean view)."""
    del seed
    return image


register_view("identity", identity_view)
register_view("weak", weak_augment)
register_view("weak_no_flip", functools.partial(weak_augment, horizontal_flip=False))
