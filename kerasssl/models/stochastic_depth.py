"""StochasticDepth: drop a residual branch per example while training."""

import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasssl")
class StochasticDepth(keras.layers.Layer):
    """Adds a residual branch to its shortcut, dropping the branch per example in training.

    Called on `[shortcut, residual]`, it returns `shortcut + residual` at inference. In
    training each example keeps its residual with survival probability `1 - rate` and the
    kept residuals are divided by `1 - rate` (the "expected value" scaling of timm's and
    tf-models' DropPath), so the expectation over the drop equals the inference output and
    inference needs no rescaling. Drops are drawn from a `keras.random.SeedGenerator`, so
    they are reproducible under `keras.utils.set_random_seed` or an explicit `seed`.

    Args:
        rate: float in [0, 1), probability of dropping the residual branch of one example.
            0 makes the layer a plain addition.
        seed: optional int seeding the layer's `SeedGenerator`.
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:
    ```python
    shortcut = keras.Input((32, 32, 16))
    residual = keras.layers.Conv2D(16, 3, padding="same")(shortcut)
    outputs = StochasticDepth(rate=0.2)([shortcut, residual])
    ```

    Reference:
        Huang et al., "Deep Networks with Stochastic Depth", ECCV 2016,
        https://arxiv.org/abs/1603.09382 (per-example variant as in EfficientNet and
        Noisy Student, https://arxiv.org/abs/1911.04252).
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise TypeError(f"`rate` must be a float in [0, 1); got {rate!r}.")
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(
                f"`rate` is the drop probability and must be in [0, 1); got {rate}. "
                "Use 0 to disable stochastic depth."
            )
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                "StochasticDepth expects `inputs=[shortcut, residual]` (two tensors); "
                f"got {type(inputs).__name__}."
            )
        shortcut, residual = inputs
        if not training or self.rate == 0.0:
            return shortcut + residual
        survival = 1.0 - self.rate
        # One draw per example, broadcast over every other axis.
        mask_shape = (ops.shape(residual)[0],) + (1,) * (len(residual.shape) - 1)
        uniform = keras.random.uniform(mask_shape, seed=self.seed_generator, dtype="float32")
        keep = ops.cast(uniform < survival, residual.dtype)
        return shortcut + residual * keep / ops.cast(survival, residual.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
