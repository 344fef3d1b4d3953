"""ViewChain: several `(image, seed) -> image` augmentations applied in order as one view."""

import tensorflow as tf

from kerasssl.augment.image_checks import to_seed


class ViewChain:
    """Applies `steps` in order, each with its own seed split from the view's seed.

    The result is a view for `kerasssl.augment.views.register_view`: a callable
    `(image, seed) -> image` on one float32 [H, W, C] image in [0, 255].

    Args:
        steps: callables `(image, seed) -> image`, e.g. `weak_augment`, a `RandAugment`,
            a `Cutout`.
        name: a readable name for `repr` and errors.

    Example:
    ```python
    strong = ViewChain([weak_augment, RandAugment(2, 10), Cutout(0.5)], name="strong")
    register_view("my_strong", strong)
    ```

    Reference:
        Sohn et al., "FixMatch", NeurIPS 2020 (strong view = flip and crop, RandAugment,
        Cutout). https://arxiv.org/abs/2001.07685
    """

    def __init__(self, steps, name="view_chain"):
        steps = tuple(steps)
        if not steps or not all(callable(step) for step in steps):
            raise TypeError(
                f"`steps` must be a non-empty sequence of callables (image, seed) -> image; "
                f"received {steps!r}."
            )
        self.steps = steps
        self.name = name

    def __call__(self, image, seed):
        image = tf.cast(tf.convert_to_tensor(image), tf.float32)
        seeds = tf.random.experimental.stateless_split(to_seed(seed), num=len(self.steps))
        # int64 -> int32 wraps around; the views' contract is an int32 [2] seed.
        seeds = tf.cast(seeds, tf.int32)
        for step, step_seed in zip(self.steps, tf.unstack(seeds), strict=True):
            image = step(image, step_seed)
        return image

    def __repr__(self):
        return f"ViewChain({self.name!r}, steps={list(self.steps)!r})"
