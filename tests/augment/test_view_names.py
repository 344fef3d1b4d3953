"""Views built from their names ("randaugment_2_14"), and the errors for names that are not."""

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment import RandAugment, ViewChain, get_view, list_views, weak_augment
from kerasssl.augment.views import register_view_family

SEED = tf.constant([3, 4], tf.int32)


def test_rand_augment_name_builds_that_rand_augment(images, in_dataset):
    view = get_view("randaugment_3_14")
    rand_augment = view.steps[1]
    assert (rand_augment.num_ops, rand_augment.magnitude) == (3, 14.0)
    assert not rand_augment.random_magnitude
    assert get_view("randaugment_3_14") is view  # Built once, then registered.
    assert "randaugment_3_14" in list_views()
    expected = ViewChain([weak_augment, RandAugment(num_ops=3, magnitude=14)])(images[0], SEED)
    np.testing.assert_array_equal(view(images[0], SEED), expected)
    np.testing.assert_allclose(in_dataset(view, images[0], SEED), expected, atol=1e-4)


def test_no_flip_suffix_and_fractional_magnitude(images):
    image = tf.constant(images[1], tf.float32)
    no_flip = get_view("randaugment_2_9.5_no_flip")
    assert no_flip.steps[1].magnitude == 9.5
    assert no_flip.steps[0].keywords == {"horizontal_flip": False}
    with_flip = get_view("randaugment_2_9.5")
    assert with_flip.steps[0] is weak_augment
    assert no_flip(image, SEED).shape == image.shape


@pytest.mark.parametrize(
    "name, message",
    [
        ("randaugment_2", "Malformed view name 'randaugment_2'"),
        ("randaugment_two_9", "Malformed"),
        ("randaugment_2_9_flip", "Malformed"),
        ("randaugment_2_40", "magnitude"),
        ("randaugment_0_9", "num_ops"),
        ("randaugment_11_9", "num_ops"),
    ],
)
def test_malformed_or_out_of_range_names_give_the_grammar(name, message):
    with pytest.raises(ValueError, match=message) as error:
        get_view(name)
    assert "randaugment_<N>_<M>" in str(error.value)
    assert name not in list_views()


def test_unknown_name_lists_the_views_and_the_grammars():
    with pytest.raises(ValueError, match="Unknown view 'blurry'") as error:
        get_view("blurry")
    assert "weak" in str(error.value) and "strong_no_flip" in str(error.value)
    assert "randaugment_<N>_<M>[_no_flip]" in str(error.value)


def test_a_user_family_joins_the_grammar():
    register_view_family(
        "test_gain_",
        r"test_gain_(\d+)",
        lambda match: lambda image, seed: image * float(match.group(1)),
        "test_gain_<K> (multiplies by K)",
        overwrite=True,
    )
    image = tf.ones([2, 2, 1])
    np.testing.assert_array_equal(get_view("test_gain_3")(image, SEED), 3 * image)
    with pytest.raises(ValueError, match=r"test_gain_<K>"):
        get_view("test_gain_x")
    with pytest.raises(ValueError, match="exists"):
        register_view_family("test_gain_", r"test_gain_(\d+)", lambda match: None, "again")
