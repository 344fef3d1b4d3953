"""The strong views (RandAugment, AutoAugment, Cutout, random erasing) in the view registry.

Registered by the first `kerasssl.augment.views.get_view` (or `import kerasssl.augment`):

- "strong": FixMatch's strong view, and UDA's: flip + pad-and-crop ("weak"), RandAugment
  with N = 2 ops whose magnitude is drawn per op uniformly in [0, 10] (translate up to 0.3 of
  the side, as FixMatch), then Cutout of half the side (16 px on 32x32).
  "strong_no_flip": the same without the flip (digits, text).
- "randaugment": flip + crop, then RandAugment N = 2, M = 10 (the paper's fixed magnitude).
  "randaugment_<N>_<M>" is built from its name on first use: N ops (1 to 10) at magnitude M
  (0 to 30), e.g. "randaugment_2_27" (Noisy Student's ImageNet setting), "randaugment_2_14";
  "randaugment_<N>_<M>_no_flip" without the flip (digits, text).
- "autoaugment_cifar10": flip + crop, AutoAugment's CIFAR-10 policy, Cutout 16 px (the
  paper's CIFAR pipeline). "autoaugment_imagenet" (alias "autoaugment"): flip + crop and
  the ImageNet policy.
- "cutout": flip + crop + Cutout; "random_erasing": flip + crop + random erasing (p = 0.5).
"""

import functools

from kerasssl.augment.auto_augment import AutoAugment
from kerasssl.augment.cutout import Cutout
from kerasssl.augment.image_checks import check_number
from kerasssl.augment.rand_augment import MAX_MAGNITUDE, RandAugment
from kerasssl.augment.random_erasing import RandomErasing
from kerasssl.augment.view_chain import ViewChain
from kerasssl.augment.views import (
    get_view,
    list_views,
    register_view,
    register_view_family,
)
from kerasssl.augment.weak import weak_augment

_weak_no_flip = functools.partial(weak_augment, horizontal_flip=False)
_fixmatch_rand_augment = RandAugment(
    num_ops=2, magnitude=10, random_magnitude=True, translate_fraction=0.3
)

STRONG = ViewChain([weak_augment, _fixmatch_rand_augment, Cutout(0.5)], name="strong")
STRONG_NO_FLIP = ViewChain(
    [_weak_no_flip, _fixmatch_rand_augment, Cutout(0.5)], name="strong_no_flip"
)


def rand_augment_view(num_ops=2, magnitude=10, horizontal_flip=True):
    """Flip (unless `horizontal_flip` is False) + crop, then RandAugment(num_ops, magnitude)."""
    name = f"randaugment_{num_ops}_{magnitude:g}" + ("" if horizontal_flip else "_no_flip")
    weak = weak_augment if horizontal_flip else _weak_no_flip
    return ViewChain([weak, RandAugment(num_ops=num_ops, magnitude=magnitude)], name=name)


RAND_AUGMENT_GRAMMAR = (
    f"randaugment_<N>_<M>[_no_flip] (flip + crop, then RandAugment: N ops, an int in [1, 10], at "
    f"magnitude M in [0, {MAX_MAGNITUDE}]; e.g. randaugment_2_14)"
)


def _rand_augment_from_name(match):
    num_ops, magnitude, no_flip = match.groups()
    magnitude = float(magnitude)
    return rand_augment_view(
        int(num_ops), int(magnitude) if magnitude.is_integer() else magnitude, not no_flip
    )


def register_rand_augment_view(num_ops, magnitude):
    """Checks and returns the view name "randaugment_<num_ops>_<magnitude>".

    The view itself is built from the name by `get_view`, so the name can also be written
    straight into a config.
    """
    check_number(num_ops, "num_ops", 1, 10, integer=True)
    check_number(magnitude, "magnitude", 0, MAX_MAGNITUDE)
    name = f"randaugment_{num_ops}_{magnitude:g}"
    get_view(name)
    return name


def _register_once(name, view):
    # Re-importing (e.g. importlib.reload in a notebook) must not raise.
    if name not in list_views():
        register_view(name, view)


_register_once("strong", STRONG)
_register_once("strong_no_flip", STRONG_NO_FLIP)
_register_once("randaugment", rand_augment_view(2, 10))
_register_once(
    "autoaugment_cifar10",
    ViewChain([weak_augment, AutoAugment("cifar10"), Cutout(0.5)], name="autoaugment_cifar10"),
)
_register_once(
    "autoaugment_imagenet",
    ViewChain([weak_augment, AutoAugment("imagenet")], name="autoaugment_imagenet"),
)
_register_once("autoaugment", get_view("autoaugment_imagenet"))
_register_once("cutout", ViewChain([weak_augment, Cutout(0.5)], name="cutout"))
_register_once("random_erasing", ViewChain([weak_augment, RandomErasing()], name="random_erasing"))
register_view_family(
    "randaugment_",
    r"randaugment_(\d+)_(\d+(?:\.\d+)?)(_no_flip)?",
    _rand_augment_from_name,
    RAND_AUGMENT_GRAMMAR,
    overwrite=True,  # Re-importing must not raise.
)
