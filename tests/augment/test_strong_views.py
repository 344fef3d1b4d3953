"""The registered strong views: contract of a view, reproducibility, use by the pipeline."""

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment import (
    Cutout,
    RandAugment,
    ViewChain,
    get_view,
    list_views,
    register_rand_augment_view,
    view_copies,
    weak_augment,
)
from kerasssl.data.image_data import ImageData
from kerasssl.data.pipelines import semi_supervised_dataset

SEED = tf.constant([5, 6], tf.int32)
STRONG_VIEWS = [
    "strong",
    "strong_no_flip",
    "randaugment",
    "autoaugment",
    "autoaugment_cifar10",
    "autoaugment_imagenet",
    "cutout",
    "random_erasing",
]


def test_view_contract_eagerly(images):
    image = tf.constant(images[0], tf.float32)
    for name in STRONG_VIEWS:
        view = get_view(name)
        output = view(image, SEED)
        assert output.shape == image.shape and output.dtype == tf.float32, name
        assert 0.0 <= float(tf.reduce_min(output)), name
        assert float(tf.reduce_max(output)) <= 255.0, name
        np.testing.assert_array_equal(output, view(image, SEED), err_msg=name)
        assert not np.array_equal(output, view(image, tf.constant([5, 7]))), name


def test_strong_view_in_dataset_map_equals_eager(images, in_dataset):
    strong = get_view("strong")
    np.testing.assert_allclose(
        strong(images[1], SEED), in_dataset(strong, images[1], SEED), atol=1e-4
    )


def test_strong_is_weak_then_rand_augment_then_cutout(images):
    rand_augment = RandAugment(2, 10, random_magnitude=True, translate_fraction=0.3)
    chain = ViewChain([weak_augment, rand_augment, Cutout(0.5)])
    np.testing.assert_array_equal(chain(images[2], SEED), get_view("strong")(images[2], SEED))


def test_semi_supervised_pipeline_with_strong_and_two_weak_views():
    rng = np.random.default_rng(0)
    data = ImageData(
        rng.integers(0, 256, (40, 8, 8, 1)).astype(np.uint8),
        np.arange(40) % 4,
        ("a", "b", "c", "d"),
    )
    views = ("strong_no_flip",) + view_copies("weak_no_flip", 2)
    dataset = semi_supervised_dataset(
        data.subset(np.arange(8)),
        data.subset(np.arange(8, 40)),
        4,
        unlabeled_ratio=2,
        views=views,
        seed=0,
    )
    (x, _), (x_again, _) = next(iter(dataset)), next(iter(dataset))
    assert set(x) == {
        "labeled",
        "unlabeled_strong_no_flip",
        "unlabeled_weak_no_flip_1",
        "unlabeled_weak_no_flip_2",
    }
    assert x["unlabeled_strong_no_flip"].shape == (8, 8, 8, 1)
    for key in x:
        np.testing.assert_array_equal(x[key], x_again[key])
    # The two weak copies are independent draws of the same images.
    assert not np.array_equal(x["unlabeled_weak_no_flip_1"], x["unlabeled_weak_no_flip_2"])


def test_view_copies_and_rand_augment_factory():
    assert view_copies("weak", 2) == ("weak_1", "weak_2")
    assert get_view("weak_1") is get_view("weak")
    assert {"weak_1", "weak_2"} <= set(list_views())
    assert register_rand_augment_view(2, 27) == "randaugment_2_27"
    assert register_rand_augment_view(2, 27) == "randaugment_2_27"  # Idempotent.
    assert get_view("randaugment_2_27").steps[1].magnitude == 27.0
    with pytest.raises(ValueError, match="magnitude"):
        register_rand_augment_view(2, 40)
    with pytest.raises(ValueError, match="count"):
        view_copies("weak", 0)
    with pytest.raises(ValueError, match="Unknown view"):
        view_copies("blurry", 2)
    with pytest.raises(TypeError, match="steps"):
        ViewChain([])
