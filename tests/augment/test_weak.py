"""weak_augment eagerly and inside Dataset.map, and the base of the view registry."""

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.augment.views import get_view, identity_view, list_views, register_view
from kerasssl.augment.weak import weak_augment

SEEDS = np.random.default_rng(0).integers(0, 2**31 - 1, size=[24, 2]).astype(np.int32)


def _image(height=8, width=8, channels=3):
    return np.random.default_rng(1).uniform(0, 255, [height, width, channels]).astype(np.float32)


def _candidates(image, padding, flip=True):
    """Every output weak_augment may produce: (flipped?) reflect-padded crops."""
    height, width = image.shape[:2]
    sources = [image, image[:, ::-1]] if flip else [image]
    outputs = []
    for source in sources:
        padded = np.pad(source, [[padding, padding], [padding, padding], [0, 0]], mode="reflect")
        for top in range(2 * padding + 1):
            for left in range(2 * padding + 1):
                outputs.append(padded[top : top + height, left : left + width])
    return outputs


def _match(output, candidates):
    return [
        index for index, candidate in enumerate(candidates) if np.array_equal(output, candidate)
    ]


def _in_dataset_map(image, seeds, **kwargs):
    def augment_element(seed):
        return weak_augment(tf.constant(image), seed, **kwargs)

    dataset = tf.data.Dataset.from_tensor_slices(seeds).map(augment_element)
    return np.stack(list(dataset.as_numpy_iterator()))


def test_eager_outputs_are_flipped_translated_crops():
    image = _image()
    candidates = _candidates(image, padding=1)
    outputs = np.stack([weak_augment(image, seed).numpy() for seed in SEEDS])
    assert outputs.dtype == np.float32 and outputs.shape == (len(SEEDS), 8, 8, 3)
    matched = [_match(output, candidates) for output in outputs]
    assert all(matched)
    # Both orientations and several offsets occur over 24 seeds.
    first_match = [indices[0] for indices in matched]
    assert len(set(first_match)) > 4
    assert any(index < 9 for index in first_match) and any(index >= 9 for index in first_match)


def test_dataset_map_equals_eager():
    image = _image(32, 32)
    eager = np.stack([weak_augment(image, seed).numpy() for seed in SEEDS])
    np.testing.assert_array_equal(_in_dataset_map(image, SEEDS), eager)
    candidates = _candidates(image, padding=4)
    assert all(_match(output, candidates) for output in eager)


def test_same_seed_same_output_and_int64_seeds():
    image = _image()
    first = weak_augment(image, SEEDS[0]).numpy()
    np.testing.assert_array_equal(first, weak_augment(image, SEEDS[0]).numpy())
    np.testing.assert_array_equal(first, weak_augment(image, SEEDS[0].astype(np.int64)).numpy())
    outputs = {weak_augment(image, seed).numpy().tobytes() for seed in SEEDS}
    assert len(outputs) > 4


def test_no_flip_and_explicit_padding():
    image = _image(16, 16)
    candidates = _candidates(image, padding=3, flip=False)
    outputs = _in_dataset_map(image, SEEDS, padding=3, horizontal_flip=False)
    assert all(_match(output, candidates) for output in outputs)
    assert len({output.tobytes() for output in outputs}) > 4


def test_uint8_input_and_value_range():
    image = np.random.default_rng(2).integers(0, 256, [8, 8, 1], dtype=np.uint8)
    output = weak_augment(tf.constant(image), SEEDS[0]).numpy()
    assert output.dtype == np.float32 and output.min() >= 0 and output.max() <= 255


def test_bad_arguments():
    with pytest.raises(ValueError, match="smaller than the image size"):
        weak_augment(_image(), SEEDS[0], padding=8)
    with pytest.raises(ValueError, match=r"\[H, W, C\]"):
        weak_augment(np.zeros([2, 8, 8, 3], np.float32), SEEDS[0])


def test_view_registry():
    assert {"identity", "weak", "weak_no_flip"} <= set(list_views())
    assert get_view("weak") is weak_augment
    image = _image()
    np.testing.assert_array_equal(get_view("identity")(image, SEEDS[0]), image)
    with pytest.raises(ValueError, match=r"Unknown view 'no_such_view'.*'weak'"):
        get_view("no_such_view")
    with pytest.raises(ValueError, match="overwrite=True"):
        register_view("weak", identity_view)
    with pytest.raises(TypeError, match="callable"):
        register_view("test_not_callable", 3)
    register_view("test_identity_copy", identity_view, overwrite=True)
    assert get_view("test_identity_copy") is identity_view
