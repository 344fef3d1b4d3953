"""Learning-rate schedules from Bag of Tricks (He et al., 2019): linear scaling, warm-up, cosine.

Keras already ships linear warm-up followed by cosine decay
(`keras.optimizers.schedules.CosineDecay(..., warmup_target=, warmup_steps=)`); this module only
adds the bookkeeping around it so a recipe can say "5 warm-up epochs, cosine to zero", a
two-phase variant, FixMatch's truncated cosine (`TruncatedCosineDecay`) and the step decay of
the older papers (`StepDecay`, e.g. DivideMix's 0.02 divided by 10 at epoch 150).
"""

import math

import keras

REFERENCE_BATCH_SIZE = 256


def scale_learning_rate(base_learning_rate, batch_size, reference_batch_size=REFERENCE_BATCH_SIZE):
    """Linear scaling rule: `base_learning_rate * batch_size / reference_batch_size`.

    Goyal et al. (2017) and Bag of Tricks section 3.1: 0.1 for batch 256 becomes 0.1 * b / 256.
    """
    if base_learning_rate <= 0:
        raise ValueError(f"base_learning_rate must be > 0, got {base_learning_rate}.")
    if batch_size < 1 or reference_batch_size < 1:
        raise ValueError(
            f"batch_size and reference_batch_size must be >= 1, got {batch_size} and "
            f"{reference_batch_size}."
        )
    return base_learning_rate * batch_size / reference_batch_size


def warmup_cosine_schedule(peak_learning_rate, total_steps, warmup_steps=0, final_fraction=0.0):
    """Linear warm-up from 0 to `peak_learning_rate`, then cosine decay over the remaining steps.

    Args:
        peak_learning_rate: learning rate reached at the end of the warm-up.
        total_steps: warm-up plus decay steps (the whole run).
        warmup_steps: linear warm-up steps; 0 starts the cosine at the peak.
        final_fraction: the cosine ends at `final_fraction * peak_learning_rate`.

    Returns:
        A serializable `keras.optimizers.schedules.CosineDecay`.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}.")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"warmup_steps must be in [0, total_steps={total_steps}), got {warmup_steps}: "
            "shorten the warm-up or train longer."
        )
    if not 0.0 <= final_fraction <= 1.0:
        raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}.")
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=peak_learning_rate, decay_steps=total_steps, alpha=final_fraction
        )
    # CosineDecay's warm-up rises linearly from initial_learning_rate to warmup_target.
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=total_steps - warmup_steps,
        alpha=final_fraction,
        warmup_target=peak_learning_rate,
        warmup_steps=warmup_steps,
    )


@keras.saving.register_keras_serializable(package="kerasssl")
class PhasedSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`first` for steps before `boundary`, then `second` restarted at step 0.

    For runs made of two phases that each want their own decay, e.g. DivideMix: its warm-up
    ends annealed (cleaner per-sample losses for the co-divide), and its short DivideMix phase
    gets a full cosine instead of the tail of one shared schedule.
    """

    def __init__(self, boundary, first, second):
        if boundary < 1:
            raise ValueError(f"boundary must be >= 1, got {boundary}.")
        self.boundary = int(boundary)
        self.first = _as_schedule(first)
        self.second = _as_schedule(second)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        boundary = float(self.boundary)
        return keras.ops.where(
            step < boundary,
            self.first(keras.ops.minimum(step, boundary - 1.0)),
            self.second(keras.ops.maximum(step - boundary, 0.0)),
        )

    def get_config(self):
        return {
            "boundary": self.boundary,
            "first": keras.optimizers.schedules.serialize(self.first),
            "second": keras.optimizers.schedules.serialize(self.second),
        }


@keras.saving.register_keras_serializable(package="kerasssl")
class TruncatedCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_learning_rate * cos(truncation * pi * step / decay_steps)`, FixMatch's decay.

    FixMatch (Sohn et al., 2020, section 3.3 and appendix B.1) decays its learning rate as
    `eta * cos(7 pi k / (16 K))` over K steps: a quarter cosine cut short (truncation 7/16), so
    the rate ends at cos(7 pi / 16) = 0.195 of its start instead of zero. Keras' `CosineDecay`
    is the full half cosine `0.5 * (1 + cos(pi * k / K))`, a different curve. Steps past
    `decay_steps` keep the final rate.

    Args:
        initial_learning_rate: the rate at step 0, > 0.
        decay_steps: K, >= 1.
        truncation: the fraction of pi the cosine covers over K, in (0, 0.5] so the rate stays
            >= 0 (7/16 for FixMatch).
    """

    def __init__(self, initial_learning_rate, decay_steps, truncation=7 / 16):
        if initial_learning_rate <= 0:
            raise ValueError(f"initial_learning_rate must be > 0, got {initial_learning_rate}.")
        if decay_steps < 1:
            raise ValueError(f"decay_steps must be >= 1, got {decay_steps}.")
        if not 0.0 < truncation <= 0.5:
            raise ValueError(f"truncation must be in (0, 0.5], got {truncation}.")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.truncation = float(truncation)

    def __call__(self, step):
        progress = keras.ops.minimum(keras.ops.cast(step, "float32") / self.decay_steps, 1.0)
        return self.initial_learning_rate * keras.ops.cos(self.truncation * math.pi * progress)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "truncation": self.truncation,
        }


@keras.saving.register_keras_serializable(package="kerasssl")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_learning_rate * factor ** k`, k the number of `boundaries` at or below the step.

    The piecewise-constant decay of DivideMix (Li et al., 2020, section 4.1: 0.02, "reduce it
    by a factor of 10 after 150 epochs") and of the ResNet papers. The rate changes AT each
    boundary: with a boundary at step 150 * S, the step 150 * S is the first at the lower
    rate, as the reference's `if epoch >= 150: lr /= 10`. (Keras' `PiecewiseConstantDecay`
    changes one step later: it keeps the higher rate while `step <= boundary`.)

    Args:
        initial_learning_rate: the rate before the first boundary, > 0.
        boundaries: increasing steps >= 1 at which the rate is multiplied by `factor`.
        factor: the multiplier at each boundary, in (0, 1].
    """

    def __init__(self, initial_learning_rate, boundaries, factor=0.1):
        if initial_learning_rate <= 0:
            raise ValueError(f"initial_learning_rate must be > 0, got {initial_learning_rate}.")
        boundaries = [int(boundary) for boundary in boundaries]
        if any(b < 1 for b in boundaries) or boundaries != sorted(set(boundaries)):
            raise ValueError(f"boundaries must be increasing steps >= 1, got {boundaries}.")
        if not 0.0 < factor <= 1.0:
            raise ValueError(f"factor must be in (0, 1], got {factor}.")
        self.initial_learning_rate = float(initial_learning_rate)
        self.boundaries = boundaries
        self.factor = float(factor)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        passed = keras.ops.zeros_like(step)
        for boundary in self.boundaries:
            passed = passed + keras.ops.cast(step >= float(boundary), "float32")
        return self.initial_learning_rate * keras.ops.power(self.factor, passed)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "boundaries": list(self.boundaries),
            "factor": self.factor,
        }


def _as_schedule(schedule):
    # `from_config` hands the phases back as their serialized dicts.
    if isinstance(schedule, dict):
        return keras.optimizers.schedules.deserialize(schedule)
    return schedule


def delayed_schedule(wait_steps, schedule):
    """Learning rate 0 for the first `wait_steps` steps, then `schedule` from its step 0.

    Meta Pseudo Labels' student waits so (both authors' codes: 3,000 of 300,000 steps on
    CIFAR-10): it trains only once the teacher has learnt something. The optimizer still runs
    during the wait (momentum accumulates, as in the references), it just moves no weight.
    """
    if wait_steps < 1:
        raise ValueError(f"wait_steps must be >= 1, got {wait_steps}.")
    # CosineDecay from 0 is 0 at every step: a serializable constant-zero phase.
    zero = keras.optimizers.schedules.CosineDecay(initial_learning_rate=0.0, decay_steps=1)
    return PhasedSchedule(wait_steps, zero, schedule)


def phased_warmup_cosine_schedule(
    peak_learning_rate, first_steps, total_steps, warmup_steps=0, final_fraction=0.0
):
    """Warm-up + cosine over the first `first_steps`, then a second cosine from the peak."""
    if not 1 <= first_steps < total_steps:
        raise ValueError(
            f"first_steps must be in [1, total_steps={total_steps}), got {first_steps}."
        )
    first = warmup_cosine_schedule(peak_learning_rate, first_steps, warmup_steps, final_fraction)
    second = warmup_cosine_schedule(
        peak_learning_rate, total_steps - first_steps, 0, final_fraction
    )
    return PhasedSchedule(first_steps, first, second)
