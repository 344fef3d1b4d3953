"""kerasssl.augment: image augmentations for tf.data, seeded and stateless.

Per-image ops, called `(images, seed)` on [H, W, C] or [B, H, W, C]: `RandAugment`,
`AutoAugment`, `Cutout`, `RandomErasing`. Mixing ops, called `(images, one_hot_labels, seed)`
on batches and returning soft labels: `MixUp`, `CutMix`, `RICAP` (`mix_batches` maps one over
a dataset). Views for the pipelines, by name: `get_view("weak" | "strong" |
"randaugment_2_14" | ...)`, some names parsed on first use (`view_grammars()`); see
`kerasssl.augment.strong_views` and `view_copies` for M copies of a view.
"""

from kerasssl.augment.auto_augment import AutoAugment
from kerasssl.augment.batch_mixing import mix_batches
from kerasssl.augment.cut_mix import CutMix
from kerasssl.augment.cutout import Cutout
from kerasssl.augment.mix_up import MixUp
from kerasssl.augment.rand_augment import RandAugment
from kerasssl.augment.random_erasing import RandomErasing
from kerasssl.augment.ricap import RICAP
from kerasssl.augment.strong_views import register_rand_augment_view
from kerasssl.augment.view_chain import ViewChain
from kerasssl.augment.view_copies import view_copies
from kerasssl.augment.views import (
    get_view,
    list_views,
    register_view,
    register_view_family,
    view_grammars,
)
from kerasssl.augment.weak import weak_augment

__all__ = [
    "AutoAugment",
    "CutMix",
    "Cutout",
    "MixUp",
    "RICAP",
    "RandAugment",
    "RandomErasing",
    "ViewChain",
    "get_view",
    "list_views",
    "mix_batches",
    "register_rand_augment_view",
    "register_view",
    "register_view_family",
    "view_copies",
    "view_grammars",
    "weak_augment",
]
