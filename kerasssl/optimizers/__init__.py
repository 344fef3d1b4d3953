"""Optimizers with Bag-of-Tricks weight decay: no decay on biases and normalization parameters.

Two weight-decay semantics exist and papers rarely say which they use:
- "coupled": L2 added to the gradient (`g += wd * w`), PyTorch `SGD(weight_decay=wd)`; the 5e-4
  of the CIFAR papers means this. kerasssl applies it as a loss term `wd / 2 * ||w||^2` in the
  algorithm (see `l2_penalty`), so it works with any optimizer and with `tf.distribute`.
- "decoupled": `w -= lr * wd * w` (Loshchilov & Hutter), the `weight_decay` argument of Keras
  optimizers. With momentum 0.9 it is about ten times weaker than coupled L2 at the same value.

`AdaBound` (with its AMSBound variant) lives in `ada_bound.py`.
"""

import keras
from keras import ops

from kerasssl.optimizers.ada_bound import AdaBound, step_bounds

__all__ = [
    "OPTIMIZERS",
    "WEIGHT_DECAY_MODES",
    "AdaBound",
    "build_optimizer",
    "decayable_variables",
    "l2_penalty",
    "model_l2_penalty",
    "step_bounds",
]

OPTIMIZERS = ("sgd", "adam", "adamw", "adabound", "amsbound")
WEIGHT_DECAY_MODES = ("coupled", "decoupled")


def decayable_variables(model):
    """Trainable weights that receive weight decay: kernels, not biases or BN/LN scales/offsets.

    Bag of Tricks section 3.1 ("no bias decay"); every parameter of rank <= 1 is a bias or a
    normalization parameter in the kerasssl models, so rank decides.
    """
    return [v for v in model.trainable_weights if len(v.shape) > 1]


def model_l2_penalty(model, weight_decay):
    """`l2_penalty` on the decayable variables (kernels only) of `model`."""
    return l2_penalty(decayable_variables(model), weight_decay)


def l2_penalty(variables, weight_decay):
    """`weight_decay / 2 * sum ||w||^2`, whose gradient is `weight_decay * w` (coupled L2)."""
    if not variables or weight_decay == 0:
        return ops.zeros((), "float32")
    total = ops.sum(ops.stack([ops.sum(ops.square(ops.cast(v, "float32"))) for v in variables]))
    return 0.5 * weight_decay * total


def build_optimizer(
    name,
    learning_rate,
    model,
    weight_decay=0.0,
    weight_decay_mode="coupled",
    momentum=0.9,
    nesterov=True,
    gradient_clip_norm=None,
    base_learning_rate=None,
    final_learning_rate=0.1,
    gamma=1e-3,
    ema_momentum=0.0,
):
    """Returns a Keras optimizer; decoupled decay skips biases and normalization parameters.

    Args:
        name: one of "sgd", "adam", "adamw", "adabound", "amsbound".
        learning_rate: float or `LearningRateSchedule`.
        model: the network being trained (to list the variables excluded from decay).
        weight_decay: decay strength; with mode "coupled" the optimizer gets none and the
            algorithm adds `l2_penalty` to its loss instead.
        weight_decay_mode: "coupled" (paper/PyTorch L2) or "decoupled" (Keras `weight_decay`).
        momentum, nesterov: SGD only.
        gradient_clip_norm: optional global-norm clipping.
        base_learning_rate, final_learning_rate, gamma: AdaBound/AMSBound only (see
            `AdaBound`); `base_learning_rate` is the schedule's peak.
        ema_momentum: > 0 keeps an exponential moving average of the trainable weights
            (Keras `use_ema`, e.g. 0.999 as FixMatch); `keras.callbacks.SwapEMAWeights`
            evaluates with it and `fit` writes it into the weights when it ends. 0: none.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer name must be one of {OPTIMIZERS}, got {name!r}.")
    if weight_decay_mode not in WEIGHT_DECAY_MODES:
        raise ValueError(
            f"weight_decay_mode must be one of {WEIGHT_DECAY_MODES}, got {weight_decay_mode!r}."
        )
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}.")
    if not 0.0 <= ema_momentum < 1.0:
        raise ValueError(f"ema_momentum must be in [0, 1) (0: no EMA), got {ema_momentum}.")
    decoupled = weight_decay if weight_decay_mode == "decoupled" else None
    common = {"learning_rate": learning_rate, "weight_decay": decoupled or None}
    if gradient_clip_norm:
        common["global_clipnorm"] = gradient_clip_norm
    if ema_momentum:
        common.update(use_ema=True, ema_momentum=ema_momentum)
    if name == "sgd":
        optimizer = keras.optimizers.SGD(momentum=momentum, nesterov=nesterov, **common)
    elif name == "adam":
        optimizer = keras.optimizers.Adam(**common)
    elif name == "adamw":
        optimizer = keras.optimizers.AdamW(**{**common, "weight_decay": decoupled or 0.0})
    else:
        optimizer = AdaBound(
            final_learning_rate=final_learning_rate,
            gamma=gamma,
            amsbound=name == "amsbound",
            base_learning_rate=base_learning_rate,
            **common,
        )
    if decoupled:
        decayed = {id(v) for v in decayable_variables(model)}
        optimizer.exclude_from_weight_decay(
            var_list=[v for v in model.trainable_weights if id(v) not in decayed]
        )
    return optimizer
