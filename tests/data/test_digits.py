"""The built-in scikit-learn digits source."""

import numpy as np
import pytest

from kerasssl.data import load_digits
from kerasssl.data.digits import DIGITS_SPLIT_SIZES


def test_sizes_dtype_and_range():
    train, test = load_digits("train"), load_digits("test")
    assert len(train) == DIGITS_SPLIT_SIZES["train"] == 1437
    assert len(test) == DIGITS_SPLIT_SIZES["test"] == 360
    assert train.images.shape[1:] == (8, 8, 1) and train.images.dtype == np.uint8
    assert train.images.max() == 255 and train.images.min() == 0
    assert train.class_names == tuple(str(digit) for digit in range(10))
    # Stratified: every class keeps its share within one example.
    counts = test.class_counts()
    assert counts.min() >= 35 and counts.max() <= 37


def test_split_is_seeded_and_disjoint():
    a, b = load_digits("test", seed=0), load_digits("test", seed=0)
    np.testing.assert_array_equal(a.images, b.images)
    other = load_digits("test", seed=1)
    assert not np.array_equal(a.images, other.images)
    train = load_digits("train", seed=0)
    train_rows = {
        _row(image, label) for image, label in zip(train.images, train.labels, strict=True)
    }
    test_rows = {_row(image, label) for image, label in zip(a.images, a.labels, strict=True)}
    # sklearn digits holds a few exact duplicates, so allow a handful of shared rows.
    assert len(train_rows & test_rows) <= 5


def _row(image, label):
    return image.tobytes() + bytes([label])


def test_unknown_split():
    with pytest.raises(ValueError, match="split"):
        load_digits("validation")
