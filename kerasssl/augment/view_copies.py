"""Several independent copies of one view, e.g. DivideMix's M = 2 weak views."""

from kerasssl.augment.views import get_view, list_views, register_view


def view_copies(name, count):
    """Registers (once) aliases "<name>_1" .. "<name>_<count>" of view `name`; returns them.

    The pipelines want distinct view names and give each its own seed, so the aliases yield
    `count` independent augmentations of the same image under keys "unlabeled_<name>_<k>".
    "weak_1" and "weak_2" are registered on import (DivideMix, MixMatch's K = 2).

    Example:
    ```python
    dataset = semi_supervised_dataset(labeled, unlabeled, 64, 1, views=view_copies("weak", 2))
    ```
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"`count` must be an int >= 1; received {count!r}.")
    view = get_view(name)
    names = tuple(f"{name}_{copy}" for copy in range(1, count + 1))
    for alias in names:
        if alias not in list_views():
            register_view(alias, view)
        elif get_view(alias) is not view:
            raise ValueError(
                f"View {alias!r} is registered as another view than {name!r}; pick another "
                "base name or unregister it."
            )
    return names


view_copies("weak", 2)
