"""Labeled/unlabeled and validation splits: exact, stratified, seeded, disjoint, covering."""

import numpy as np
import pytest

from kerasssl.data import labeled_unlabeled_split, validation_split


@pytest.fixture
def labels():
    # Unbalanced classes: 50, 30, 20 examples, shuffled.
    values = np.repeat([0, 1, 2], [50, 30, 20])
    return np.random.default_rng(0).permutation(values)


def _assert_partition(first, second, total):
    assert len(np.intersect1d(first, second)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([first, second])), np.arange(total))
    assert first.dtype == second.dtype == np.int64


def test_labeled_unlabeled_exact_counts(labels):
    labeled, unlabeled = labeled_unlabeled_split(labels, labels_per_class=7, seed=0)
    np.testing.assert_array_equal(np.bincount(labels[labeled]), [7, 7, 7])
    np.testing.assert_array_equal(np.bincount(labels[unlabeled]), [43, 23, 13])
    _assert_partition(labeled, unlabeled, len(labels))


def test_labeled_unlabeled_seeded(labels):
    first = labeled_unlabeled_split(labels, 5, seed=3)
    second = labeled_unlabeled_split(labels, 5, seed=3)
    other = labeled_unlabeled_split(labels, 5, seed=4)
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.array_equal(first[0], other[0])


def test_labels_per_class_too_large_names_class(labels):
    with pytest.raises(ValueError, match=r"class 2 \('bird'\), which has 20 examples"):
        labeled_unlabeled_split(labels, 25, seed=0, class_names=("cat", "dog", "bird"))
    with pytest.raises(ValueError, match="labels_per_class"):
        labeled_unlabeled_split(labels, 0, seed=0)


def test_validation_split_fraction_is_stratified(labels):
    train, validation = validation_split(labels, 0.2, seed=0)
    assert len(validation) == 20
    np.testing.assert_array_equal(np.bincount(labels[validation]), [10, 6, 4])
    _assert_partition(train, validation, len(labels))


def test_validation_split_count_and_rounding(labels):
    train, validation = validation_split(labels, 11, seed=1)
    counts = np.bincount(labels[validation], minlength=3)
    assert counts.sum() == 11
    # Proportional shares are 5.5, 3.3, 2.2: each class gets its floor or ceiling.
    assert counts[0] in (5, 6) and counts[1] in (3, 4) and counts[2] in (2, 3)
    _assert_partition(train, validation, len(labels))
    again = validation_split(labels, 11, seed=1)[1]
    np.testing.assert_array_equal(validation, again)


@pytest.mark.parametrize("size", [0, 100, 1.0, -0.5, True])
def test_validation_size_out_of_range(labels, size):
    with pytest.raises(ValueError, match="validation_size"):
        validation_split(labels, size, seed=0)


def test_whole_float_validation_size_is_a_count():
    # ml_collections stores --config.data.validation_size=64 as 64.0 (the field defaults to 0.1).
    labels = np.repeat(np.arange(4), 50)
    _, validation = validation_split(labels, 64.0, seed=0)
    assert len(validation) == 64
