"""AutoAugment with the paper's ImageNet and CIFAR-10 policies, for tf.data pipelines."""

import tensorflow as tf

from kerasssl.augment import image_ops, op_switch
from kerasssl.augment.image_checks import check_number, to_float_images, to_seed
from kerasssl.augment.per_image import apply_per_image

# Sub-policies of two (op, probability, magnitude in 0..9) from Cubuk et al. 2019,
# Appendix: "policy found on reduced ImageNet" and "policy found on reduced CIFAR-10".
# Ops without a magnitude keep the paper's (unused) value.
IMAGENET_POLICY = (
    (("posterize", 0.4, 8), ("rotate", 0.6, 9)),
    (("solarize", 0.6, 5), ("auto_contrast", 0.6, 5)),
    (("equalize", 0.8, 8), ("equalize", 0.6, 3)),
    (("posterize", 0.6, 7), ("posterize", 0.6, 6)),
    (("equalize", 0.4, 7), ("solarize", 0.2, 4)),
    (("equalize", 0.4, 4), ("rotate", 0.8, 8)),
    (("solarize", 0.6, 3), ("equalize", 0.6, 7)),
    (("posterize", 0.8, 5), ("equalize", 1.0, 2)),
    (("rotate", 0.2, 3), ("solarize", 0.6, 8)),
    (("equalize", 0.6, 8), ("posterize", 0.4, 6)),
    (("rotate", 0.8, 8), ("color", 0.4, 0)),
    (("rotate", 0.4, 9), ("equalize", 0.6, 2)),
    (("equalize", 0.0, 7), ("equalize", 0.8, 8)),
    (("invert", 0.6, 4), ("equalize", 1.0, 8)),
    (("color", 0.6, 4), ("contrast", 1.0, 8)),
    (("rotate", 0.8, 8), ("color", 1.0, 2)),
    (("color", 0.8, 8), ("solarize", 0.8, 7)),
    (("sharpness", 0.4, 7), ("invert", 0.6, 8)),
    (("shear_x", 0.6, 5), ("equalize", 1.0, 9)),
    (("color", 0.4, 0), ("equalize", 0.6, 3)),
    (("equalize", 0.4, 7), ("solarize", 0.2, 4)),
    (("solarize", 0.6, 5), ("auto_contrast", 0.6, 5)),
    (("invert", 0.6, 4), ("equalize", 1.0, 8)),
    (("color", 0.6, 4), ("contrast", 1.0, 8)),
    (("equalize", 0.8, 8), ("equalize", 0.6, 3)),
)

CIFAR10_POLICY = (
    (("invert", 0.1, 7), ("contrast", 0.2, 6)),
    (("rotate", 0.7, 2), ("translate_x", 0.3, 9)),
    (("sharpness", 0.8, 1), ("sharpness", 0.9, 3)),
    (("shear_y", 0.5, 8), ("translate_y", 0.7, 9)),
    (("auto_contrast", 0.5, 8), ("equalize", 0.9, 2)),
    (("shear_y", 0.2, 7), ("posterize", 0.3, 7)),
    (("color", 0.4, 3), ("brightness", 0.6, 7)),
    (("sharpness", 0.3, 9), ("brightness", 0.7, 9)),
    (("equalize", 0.6, 5), ("equalize", 0.5, 1)),
    (("contrast", 0.6, 7), ("sharpness", 0.6, 5)),
    (("color", 0.7, 7), ("translate_x", 0.5, 8)),
    (("equalize", 0.3, 7), ("auto_contrast", 0.4, 8)),
    (("translate_y", 0.4, 3), ("sharpness", 0.2, 6)),
    (("brightness", 0.9, 6), ("color", 0.2, 8)),
    (("solarize", 0.5, 2), ("invert", 0.0, 3)),
    (("equalize", 0.2, 0), ("auto_contrast", 0.6, 0)),
    (("equalize", 0.2, 8), ("equalize", 0.6, 4)),
    (("color", 0.9, 9), ("equalize", 0.6, 6)),
    (("auto_contrast", 0.8, 4), ("solarize", 0.2, 8)),
    (("brightness", 0.1, 3), ("color", 0.7, 0)),
    (("solarize", 0.4, 5), ("auto_contrast", 0.9, 3)),
    (("translate_y", 0.9, 9), ("translate_y", 0.7, 9)),
    (("auto_contrast", 0.9, 2), ("solarize", 0.8, 3)),
    (("equalize", 0.8, 8), ("invert", 0.1, 3)),
    (("translate_y", 0.7, 9), ("auto_contrast", 0.9, 1)),
)

POLICIES = {"imagenet": IMAGENET_POLICY, "cifar10": CIFAR10_POLICY}
# Translation at magnitude 10 as a fraction of the side: 150 px of 331 in the paper's
# ImageNet ranges, 10 px of 32 in its CIFAR-10 code.
TRANSLATE_FRACTIONS = {"imagenet": 150 / 331, "cifar10": 10 / 32}


class AutoAugment:
    """AutoAugment: each image gets one random sub-policy of two (op, probability, magnitude).

    Each op of the chosen sub-policy is applied with its probability; signed ops (rotate,
    shear, translate) take a random direction, as in the reference code. Enhance ops use the
    mapping the policies were searched with (factor 0.1 + 1.8 * magnitude / 10); the other
    ranges are the paper's Table 1 (see `kerasssl.augment.op_switch`). The pixel work is done
    by Keras core preprocessing layers.

    Args:
        policy: "imagenet", "cifar10", or a sequence of sub-policies, each a pair of
            (op name from `image_ops.OP_NAMES`, probability in [0, 1], magnitude in [0, 10]).
        translate_fraction: translation at magnitude 10 as a fraction of the image side;
            default `TRANSLATE_FRACTIONS[policy]` (150/331 for a custom policy).
        fill_value: value of the pixels uncovered by geometric ops (128, the reference code).
        interpolation: "nearest" (the reference code) or "bilinear".

    Call with `(images, seed)`: images uint8 or float [H, W, C] or [B, H, W, C] with values in
    [0, 255], seed an int or an integer tensor of shape [2]; returns float32 in [0, 255].

    Example:
    ```python
    auto_augment = AutoAugment("cifar10")
    augmented = auto_augment(images, seed=0)
    ```

    Reference:
        Cubuk et al., "AutoAugment: Learning Augmentation Strategies from Data", CVPR 2019.
        https://arxiv.org/abs/1805.09501
    """

    def __init__(
        self, policy="imagenet", translate_fraction=None, fill_value=128.0, interpolation="nearest"
    ):
        if isinstance(policy, str):
            if policy not in POLICIES:
                raise ValueError(
                    f"`policy` must be one of {sorted(POLICIES)} or a sequence of sub-policies; "
                    f"received {policy!r}."
                )
            default_fraction = TRANSLATE_FRACTIONS[policy]
            self.policy_name = policy
            policy = POLICIES[policy]
        else:
            default_fraction = TRANSLATE_FRACTIONS["imagenet"]
            self.policy_name = None
        self.policy = _check_policy(policy)
        if translate_fraction is None:
            translate_fraction = default_fraction
        self.translate_fraction = float(
            check_number(translate_fraction, "translate_fraction", 0, 1)
        )
        self.fill_value = float(check_number(fill_value, "fill_value", 0, 255))
        if interpolation not in image_ops.INTERPOLATIONS:
            raise ValueError(
                f"`interpolation` must be one of {image_ops.INTERPOLATIONS}; "
                f"received {interpolation!r}."
            )
        self.interpolation = interpolation
        # The switch covers only the ops this policy uses, plus identity for skipped ops.
        self.ops = ("identity",) + tuple(
            sorted({name for sub_policy in self.policy for name, _, _ in sub_policy})
        )
        self._op_indices = [[self.ops.index(name) for name, _, _ in sp] for sp in self.policy]
        self._probabilities = [[p for _, p, _ in sp] for sp in self.policy]
        self._levels = [[m / 10.0 for _, _, m in sp] for sp in self.policy]

    def __call__(self, images, seed):
        images = to_float_images(images)
        return apply_per_image(self.augment_image, images, to_seed(seed))

    def sample_ops(self, seed):
        """The random choices for one image: op indices into `self.ops` [2] (0 = identity
        when the op's probability test fails), levels [2] and signs [2]."""
        draws = tf.random.stateless_uniform([3, 2], seed=to_seed(seed))
        num_sub_policies = len(self.policy)
        sub_policy = tf.minimum(
            tf.cast(draws[0, 0] * num_sub_policies, tf.int32), num_sub_policies - 1
        )
        indices = tf.gather(tf.constant(self._op_indices, tf.int32), sub_policy)
        probabilities = tf.gather(tf.constant(self._probabilities, tf.float32), sub_policy)
        indices = tf.where(draws[1] < probabilities, indices, 0)
        levels = tf.gather(tf.constant(self._levels, tf.float32), sub_policy)
        signs = tf.where(draws[2] < 0.5, -1.0, 1.0)
        return indices, levels, signs

    def apply_ops(self, image, indices, levels, signs):
        """Applies the ops chosen by `sample_ops` to one float32 image [H, W, C]."""
        for position in range(2):
            image = op_switch.switch_op(
                self.ops,
                indices[position],
                image,
                levels[position],
                signs[position],
                enhance_mode="autoaugment",
                translate_fraction=self.translate_fraction,
                fill_value=self.fill_value,
                interpolation=self.interpolation,
            )
        return image

    def augment_image(self, image, seed):
        """AutoAugment on one float32 image [H, W, C] with a seed of shape [2]."""
        return self.apply_ops(image, *self.sample_ops(seed))

    def get_config(self):
        policy = self.policy_name or [[list(op) for op in sp] for sp in self.policy]
        return {
            "policy": policy,
            "translate_fraction": self.translate_fraction,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
        }


def _check_policy(policy):
    """Returns the policy as nested tuples; clear errors for a malformed sub-policy."""
    shape_hint = "each sub-policy must be two (op name, probability, magnitude) triples"
    if isinstance(policy, str) or not policy:
        raise ValueError(f"`policy` must be a non-empty sequence of sub-policies; {shape_hint}.")
    checked = []
    for number, sub_policy in enumerate(policy):
        if len(sub_policy) != 2 or any(len(op) != 3 for op in sub_policy):
            raise ValueError(f"`policy[{number}]` = {sub_policy!r}: {shape_hint}.")
        ops = []
        for name, probability, magnitude in sub_policy:
            op_switch.check_op_names([name], f"policy[{number}]")
            check_number(probability, f"policy[{number}] probability of {name!r}", 0, 1)
            check_number(magnitude, f"policy[{number}] magnitude of {name!r}", 0, 10)
            ops.append((name, float(probability), float(magnitude)))
        checked.append(tuple(ops))
    return tuple(checked)
