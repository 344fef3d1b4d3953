"""The streamed Noisy Student selection equals `select_confident_balanced` on the whole matrix."""

import itertools
import warnings

import numpy as np
import pytest

from kerasssl.pseudo_labels import (
    ConfidentBalancedSelection,
    load_probabilities,
    read_rows,
    read_shards,
    select_confident_balanced,
)
from kerasssl.pseudo_labels.pool_accuracy import PoolAccuracy


def _pool_with_ties(rng, num_images, num_classes, tied_fraction):
    """Rows drawn from a few patterns (`tied_fraction` of them: equal confidences) and random
    rows; the last class is never an argmax, so it stays empty."""
    patterns = rng.dirichlet(np.ones(num_classes), size=6)
    random_rows = rng.dirichlet(np.ones(num_classes), size=num_images)
    rows = np.where(
        rng.random((num_images, 1)) < tied_fraction,
        patterns[rng.integers(0, len(patterns), num_images)],
        random_rows,
    )
    rows[:, -1] = 0.0  # class num_classes - 1: never an argmax
    return (rows / rows.sum(axis=1, keepdims=True)).astype(np.float32)


def _streamed(probabilities, batch_sizes, threshold, images_per_class, soft):
    selector = ConfidentBalancedSelection(probabilities.shape[1], threshold, images_per_class)
    start = 0
    for size in itertools.cycle(batch_sizes):
        if start >= len(probabilities):
            break
        selector.update(probabilities[start : start + size], start)
        if images_per_class:  # memory: at most twice the count per class between batches
            for (_, best), pending in zip(selector.best, selector.pending_sizes, strict=True):
                assert len(best) <= images_per_class and pending <= images_per_class
        start += size
    return selector.result((lambda ids: probabilities[ids]) if soft else None)


def _with_warnings(function, *arguments):
    """(result or the ValueError's message, the warnings' messages) of function(*arguments)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = function(*arguments)
        except ValueError as error:
            result = str(error)
    return result, [str(warning.message) for warning in caught]


@pytest.mark.parametrize("seed, tied_fraction", [(0, 0.5), (1, 0.5), (2, 1.0), (3, 1.0)])
def test_streamed_selection_equals_the_whole_matrix_one(seed, tied_fraction):
    rng = np.random.default_rng(seed)
    probabilities = _pool_with_ties(rng, 300, 6, tied_fraction)
    batch_sizes = rng.integers(1, 70, size=5).tolist()
    assert len(np.unique(probabilities.max(axis=1))) < 200  # many equal confidences
    for threshold, images_per_class, soft in itertools.product(
        (0.0, 0.35, 0.6), (0, 1, 7, 80), (True, False)
    ):
        expected, expected_warnings = _with_warnings(
            select_confident_balanced, probabilities, threshold, images_per_class, soft
        )
        streamed, streamed_warnings = _with_warnings(
            _streamed, probabilities, batch_sizes, threshold, images_per_class, soft
        )
        setting = f"threshold={threshold} images_per_class={images_per_class} soft={soft}"
        assert streamed_warnings == expected_warnings, setting
        if isinstance(expected, str):  # everything filtered out: the same error
            assert streamed == expected and "lower the threshold" in expected, setting
            continue
        assert "5] receive no pseudo-label" in " ".join(streamed_warnings), setting
        np.testing.assert_array_equal(streamed.indices, expected.indices, err_msg=setting)
        np.testing.assert_array_equal(streamed.targets, expected.targets, err_msg=setting)
        np.testing.assert_array_equal(streamed.confidences, expected.confidences, err_msg=setting)
        for name in ("indices", "targets", "confidences"):
            assert getattr(streamed, name).dtype == getattr(expected, name).dtype, name


def test_ties_keep_the_earlier_image_across_batches():
    # Six equal rows of class 0: the two kept are the first two, in pool order, even when the
    # class is already full of later ones when they come.
    probabilities = np.tile(np.array([[0.6, 0.4]], np.float32), (6, 1))
    selector = ConfidentBalancedSelection(2, 0.0, images_per_class=2)
    for start in (4, 2, 0):  # later images offered first
        selector.update(probabilities[start : start + 2], start)
    with pytest.warns(UserWarning, match=r"classes \[1\]"):
        selection = selector.result()
    np.testing.assert_array_equal(selection.indices, [0, 1])


def test_unbalanced_selection_holds_only_the_kept_images():
    probabilities = np.array([[0.9, 0.1], [0.55, 0.45], [0.2, 0.8]], np.float32)
    selector = ConfidentBalancedSelection(2, confidence_threshold=0.7)
    selector.update(probabilities)
    held = [index for indices, _, _ in selector.kept for index in indices]
    assert sorted(held) == [0, 2]  # image 1 (0.55) is below the threshold: not held
    np.testing.assert_array_equal(selector.result().indices, [0, 2])


def test_everything_filtered_and_bad_input_name_the_fix():
    probabilities = np.array([[0.6, 0.4], [0.3, 0.7]], np.float32)
    selector = ConfidentBalancedSelection(2, 0.8, images_per_class=3)
    selector.update(probabilities)
    with pytest.raises(ValueError) as expected:
        select_confident_balanced(probabilities, 0.8, 3)
    with pytest.raises(ValueError, match="lower the threshold") as streamed:
        selector.result()
    assert str(streamed.value) == str(expected.value)
    with pytest.raises(ValueError, match=r"probabilities must be \[n, 3\]"):
        ConfidentBalancedSelection(3).update(probabilities)
    with pytest.raises(ValueError, match="no probabilities were offered"):
        ConfidentBalancedSelection(3).result()
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        ConfidentBalancedSelection(0)
    with pytest.raises(ValueError, match="config.noisy_student.images_per_class"):
        ConfidentBalancedSelection(3, images_per_class=-1)
    with pytest.raises(ValueError, match="config.noisy_student.confidence_threshold"):
        ConfidentBalancedSelection(3, confidence_threshold=1.0)


def test_read_rows_gathers_selected_rows_shard_by_shard(labeled_job):
    labeled_job, _ = labeled_job  # the folder
    probabilities = load_probabilities(labeled_job)
    indices = np.array([49, 3, 3, 17, 0, 40, 17], np.int64)
    np.testing.assert_array_equal(read_rows(labeled_job, indices), probabilities[indices])
    assert read_rows(labeled_job, []).shape == (0, 4)
    with pytest.raises(ValueError, match=r"indices must be in \[0, 50\)"):
        read_rows(labeled_job, [50])
    with pytest.raises(ValueError, match="1-D array of pool positions"):
        read_rows(labeled_job, [[1, 2]])


def test_pool_accuracy_counts_the_whole_matrix_value(labeled_job):
    labeled_job, _ = labeled_job  # the folder
    probabilities = load_probabilities(labeled_job)
    labels = np.random.default_rng(1).integers(0, 4, size=50)
    accuracy = PoolAccuracy(labels)
    for start, shard in read_shards(labeled_job):
        accuracy.update(shard, start)
    assert accuracy.result() == float(np.mean(np.argmax(probabilities, axis=1) == labels))
    with pytest.raises(ValueError, match="label the pool whose labels were passed"):
        PoolAccuracy(labels[:10]).update(probabilities, 0)
    with pytest.raises(ValueError, match="no probabilities were counted"):
        PoolAccuracy(labels).result()
