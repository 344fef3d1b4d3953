"""AdaBound and AMSBound: Adam whose per-parameter step is clipped into bounds closing on SGD."""

import numbers

import keras
from keras import ops


def step_bounds(final_learning_rate, gamma, step):
    """AdaBound's (lower, upper) bounds on the per-parameter learning rate at `step` (from 1).

    `final_learning_rate * (1 - 1 / (gamma * step + 1))` and
    `final_learning_rate * (1 + 1 / (gamma * step))`: the lower bound rises from 0, the upper
    one falls from infinity, and both reach `final_learning_rate` as the steps grow (within 1%
    after `100 / gamma` steps). Works on Python floats and on tensors.
    """
    lower = final_learning_rate * (1.0 - 1.0 / (gamma * step + 1.0))
    upper = final_learning_rate * (1.0 + 1.0 / (gamma * step))
    return lower, upper


@keras.saving.register_keras_serializable(package="kerasssl")
class AdaBound(keras.optimizers.Optimizer):
    """Adam with dynamic bounds on its per-parameter learning rate (AdaBound, AMSBound).

    Each step computes Adam's moments `m` and `v` and its per-parameter rate
    `alpha_t / (sqrt(v) + epsilon)` with `alpha_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`,
    clips that rate into `step_bounds(final, gamma, t)` and moves the variable by
    `-clipped_rate * m`. Early on the bounds are loose and the optimizer is Adam; as they
    close in on `final`, it becomes SGD with momentum-like averaging at rate `final`.
    `amsbound=True` uses the running maximum of `v` (AMSGrad's fix) in the rate.

    This is the update of the authors' released code, which the paper's experiments use: Adam's
    bias correction and no extra `1 / sqrt(t)` factor (Algorithm 2 of the paper carries one for
    its convergence proof). As there, the learning-rate schedule scales the bounds too:
    `final = final_learning_rate * lr_t / base_learning_rate`, so a warm-up or a decay of `lr`
    moves the SGD rate AdaBound converges to along with it.

    Weight decay: leave `weight_decay` unset for L2 in the loss ("coupled", the reference's
    `weight_decay`, what `kerasssl.optimizers.build_optimizer` does in its coupled mode), or
    set it for Keras' decoupled decay `w -= lr * weight_decay * w`.

    Args:
        learning_rate: float or `LearningRateSchedule`, Adam's step size (the paper's 1e-3).
        final_learning_rate: float > 0, the SGD learning rate both bounds converge to.
        gamma: float in (0, 1), how fast the bounds converge (the paper's 1e-3).
        beta_1, beta_2: Adam's moment decay rates.
        epsilon: added to `sqrt(v)`.
        amsbound: use the maximum of past `v` (AMSBound).
        base_learning_rate: the learning rate at which the bounds converge to exactly
            `final_learning_rate`; None takes `learning_rate` when it is a float. Required
            with a schedule: give its peak.
        **kwargs: `keras.optimizers.Optimizer` arguments (`weight_decay`, `global_clipnorm`,
            `name`, ...).

    Example:
    ```python
    optimizer = AdaBound(learning_rate=1e-3, final_learning_rate=0.1)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    ```

    Reference:
        Luo et al., "Adaptive Gradient Methods with Dynamic Bound of Learning Rate",
        ICLR 2019, https://openreview.net/forum?id=Bkg3g2R9FX.
    """

    def __init__(
        self,
        learning_rate=1e-3,
        final_learning_rate=0.1,
        gamma=1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        amsbound=False,
        base_learning_rate=None,
        name="adabound",
        **kwargs,
    ):
        _check_positive(final_learning_rate, "final_learning_rate", "the SGD rate, e.g. 0.1")
        _check_positive(gamma, "gamma", "e.g. 1e-3")
        if not gamma < 1.0:
            raise ValueError(f"`gamma` must be in (0, 1) (the paper's 1e-3); got {gamma}.")
        for value, argument in ((beta_1, "beta_1"), (beta_2, "beta_2")):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"`{argument}` must be in [0, 1); got {value}.")
        if base_learning_rate is None:
            if not isinstance(learning_rate, numbers.Real):
                raise ValueError(
                    "AdaBound with a learning-rate schedule needs `base_learning_rate` (the "
                    "schedule's peak): the bounds converge to final_learning_rate * lr_t / "
                    "base_learning_rate."
                )
            base_learning_rate = learning_rate
        _check_positive(base_learning_rate, "base_learning_rate", "the peak learning rate")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.final_learning_rate = float(final_learning_rate)
        self.gamma = float(gamma)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsbound = bool(amsbound)
        self.base_learning_rate = float(base_learning_rate)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        if self.amsbound:
            self._velocity_maxima = self.add_optimizer_variables(var_list, "velocity_maximum")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        learning_rate = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        momentum, velocity = self._momentums[index], self._velocities[index]
        self.assign_add(momentum, ops.multiply(ops.subtract(gradient, momentum), 1 - self.beta_1))
        self.assign_add(
            velocity,
            ops.multiply(ops.subtract(ops.square(gradient), velocity), 1 - self.beta_2),
        )
        if self.amsbound:
            maximum = self._velocity_maxima[index]
            self.assign(maximum, ops.maximum(maximum, velocity))
            velocity = maximum
        alpha = (
            learning_rate
            * ops.sqrt(1 - ops.power(ops.cast(self.beta_2, dtype), step))
            / (1 - ops.power(ops.cast(self.beta_1, dtype), step))
        )
        # The schedule scales the bounds with the rate (the reference's lr / base_lr).
        final = self.final_learning_rate * learning_rate / self.base_learning_rate
        lower, upper = step_bounds(final, self.gamma, step)
        rate = ops.clip(ops.divide(alpha, ops.add(ops.sqrt(velocity), self.epsilon)), lower, upper)
        self.assign_sub(variable, ops.multiply(rate, momentum))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "final_learning_rate": self.final_learning_rate,
                "gamma": self.gamma,
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "amsbound": self.amsbound,
                "base_learning_rate": self.base_learning_rate,
            }
        )
        return config


def _check_positive(value, argument, hint):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"`{argument}` must be a number > 0 ({hint}); got {value!r}.")
