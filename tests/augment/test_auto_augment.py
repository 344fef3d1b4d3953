"""AutoAugment: the paper's policies, probabilities, reproducibility, eager == tf.data."""

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment import AutoAugment
from kerasssl.augment.auto_augment import CIFAR10_POLICY, IMAGENET_POLICY

SEED = tf.constant([11, 5], tf.int32)


def test_policies_have_25_sub_policies_of_two_ops():
    for policy in (IMAGENET_POLICY, CIFAR10_POLICY):
        assert len(policy) == 25
        assert all(len(sub_policy) == 2 for sub_policy in policy)
    # The constructor validates every (op, probability, magnitude).
    assert AutoAugment("imagenet").policy == IMAGENET_POLICY
    assert "translate_y" in AutoAugment("cifar10").ops


@pytest.mark.parametrize("policy", ["imagenet", "cifar10"])
def test_eager_equals_dataset_map_and_reproducible(policy, images, in_dataset):
    auto_augment = AutoAugment(policy)
    eager = auto_augment(images[0], SEED)
    graph = in_dataset(auto_augment, images[0], SEED)
    assert eager.shape == (32, 32, 3) and eager.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(eager)) and float(tf.reduce_max(eager)) <= 255.0
    np.testing.assert_allclose(eager, graph, atol=1e-4)
    batch = auto_augment(images, SEED)
    np.testing.assert_array_equal(batch, auto_augment(images.astype(np.float32), SEED))


def test_probabilities_decide_whether_ops_run(images):
    image = images[0].astype(np.float32)
    never = AutoAugment([(("invert", 0.0, 0), ("rotate", 0.0, 9))])
    np.testing.assert_array_equal(never(images, SEED), images.astype(np.float32))
    always = AutoAugment([(("invert", 1.0, 0), ("identity", 1.0, 0))])
    np.testing.assert_array_equal(always(image, SEED), 255.0 - image)
    half = AutoAugment([(("invert", 0.5, 0), ("identity", 1.0, 0))])
    inverted = [
        bool(np.array_equal(half(image, tf.constant([seed, 0])), 255.0 - image))
        for seed in range(40)
    ]
    assert 5 < sum(inverted) < 35


def test_config_round_trip(images):
    custom = AutoAugment([(("rotate", 0.5, 3), ("color", 0.9, 7))], translate_fraction=0.2)
    clone = AutoAugment(**custom.get_config())
    np.testing.assert_array_equal(clone(images[0], SEED), custom(images[0], SEED))
    assert AutoAugment(**AutoAugment("cifar10").get_config()).policy == CIFAR10_POLICY


BAD_POLICIES = [
    ("svhn", "policy"),
    ([], "non-empty"),
    ([(("rotate", 1.5, 3), ("color", 0.9, 7))], "probability"),
    ([(("rotate", 0.5, 11), ("color", 0.9, 7))], "magnitude"),
    ([(("blur", 0.5, 3), ("color", 0.9, 7))], "unknown op"),
    ([(("rotate", 0.5, 3),)], "two"),
]


def test_bad_policy():
    for policy, match in BAD_POLICIES:
        with pytest.raises(ValueError, match=match):
            AutoAugment(policy)


def test_bad_images(images):
    with pytest.raises(ValueError, match="images"):
        AutoAugment()(images[None], SEED)
