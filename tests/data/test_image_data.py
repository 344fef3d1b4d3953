"""ImageData validation and subsetting."""

import dataclasses

import numpy as np
import pytest

from kerasssl.data import ImageData


def _data(labels=(0, 1, 1, 0), class_names=("a", "b")):
    images = np.arange(len(labels) * 4 * 4, dtype=np.uint8).reshape(len(labels), 4, 4, 1)
    return ImageData(images, np.array(labels), class_names)


def test_properties_and_subset():
    data = _data()
    assert data.num_classes == 2
    assert len(data) == 4
    assert data.image_shape == (4, 4, 1)
    assert data.labels.dtype == np.int64
    assert data.class_names == ("a", "b")
    np.testing.assert_array_equal(data.class_counts(), [2, 2])
    subset = data.subset([3, 1])
    np.testing.assert_array_equal(subset.labels, [0, 1])
    np.testing.assert_array_equal(subset.images[0], data.images[3])
    assert len(data.subset(np.array([], np.int64))) == 0


def test_labels_out_of_range_for_num_classes():
    with pytest.raises(ValueError, match=r"labels.*num_classes=2"):
        _data(labels=(0, 1, 2, 0))
    with pytest.raises(ValueError, match=r"labels.*num_classes=2"):
        _data(labels=(0, -1, 1, 0))


def test_replace_revalidates():
    data = _data()
    with pytest.raises(ValueError, match="num_classes"):
        dataclasses.replace(data, labels=np.array([0, 5, 1, 0]))


def test_bad_images_and_labels():
    with pytest.raises(TypeError, match="np.uint8"):
        ImageData(np.zeros([2, 4, 4, 1], np.float32), np.array([0, 1]), ("a", "b"))
    with pytest.raises(TypeError, match=r"\[N, H, W, C\]"):
        ImageData(np.zeros([2, 4, 4], np.uint8), np.array([0, 1]), ("a", "b"))
    with pytest.raises(ValueError, match="one label per image"):
        ImageData(np.zeros([2, 4, 4, 1], np.uint8), np.array([0, 1, 1]), ("a", "b"))
    with pytest.raises(TypeError, match="integer"):
        ImageData(np.zeros([2, 4, 4, 1], np.uint8), np.array([0.0, 1.0]), ("a", "b"))
    with pytest.raises(ValueError, match="duplicates"):
        _data(class_names=("a", "a"))
