"""`ProbabilityRows` reads the rows `read_rows` would, eagerly and inside `tf.data`."""

import numpy as np
import pytest
import tensorflow as tf

from kerasssl.data.image_data import ImageData
from kerasssl.pseudo_labels import (
    ConfidentBalancedSelection,
    probability_rows,
    read_rows,
    read_shards,
)
from kerasssl.pseudo_labels.probability_rows import ProbabilityRows
from kerasssl.pseudo_labels.student_dataset import student_dataset


def test_rows_are_read_rows_eagerly_and_in_a_dataset(labeled_job):
    folder, _ = labeled_job
    indices = np.array([49, 3, 3, 17, 0, 40, 17], np.int64)
    rows = ProbabilityRows(folder, indices)
    expected = read_rows(folder, indices)
    assert rows.shape == (7, 4) and len(rows) == 7
    np.testing.assert_array_equal(np.asarray(rows), expected)
    positions = np.array([6, 0, 2, 2, 5], np.int64)
    np.testing.assert_array_equal(rows.gather(tf.constant(positions)).numpy(), expected[positions])
    dataset = tf.data.Dataset.from_tensors(tf.constant(positions)).map(rows.gather)
    (batch,) = list(dataset)
    assert batch.shape == (5, 4)
    np.testing.assert_array_equal(batch.numpy(), expected[positions])
    np.testing.assert_array_equal(rows.argmax(chunk_size=3), np.argmax(expected, axis=1))
    with pytest.raises(ValueError, match=r"indices must be in \[0, 50\)"):
        ProbabilityRows(folder, [50])


def test_open_shards_are_bounded(labeled_job, monkeypatch):
    folder, _ = labeled_job
    monkeypatch.setattr(probability_rows, "OPEN_SHARDS", 2)
    indices = np.array([49, 0, 17, 30, 3, 49, 9], np.int64)  # shards 6, 0, 2, 3, 0, 6, 1
    rows = ProbabilityRows(folder, indices)
    np.testing.assert_array_equal(rows.read(np.arange(7)), read_rows(folder, indices))
    assert len(rows._shards) == 2


@pytest.mark.filterwarnings("ignore:classes \\[1\\] receive no pseudo-label")
def test_a_selection_by_reference_streams_the_in_memory_batches(labeled_job):
    folder, images = labeled_job
    selector = ConfidentBalancedSelection(4, images_per_class=6)
    for start, probabilities in read_shards(folder):
        selector.update(probabilities, start)
    in_memory = selector.result(lambda ids: read_rows(folder, ids))
    by_reference = selector.result(lambda ids: ProbabilityRows(folder, ids))
    assert isinstance(by_reference.targets, ProbabilityRows)
    np.testing.assert_array_equal(by_reference.hard_labels, in_memory.hard_labels)
    labeled = ImageData(images[:10], np.arange(10) % 4, ("a", "b", "c", "d"))
    streams = [
        student_dataset(labeled, images, selection, 4, 2, None, None, seed=3, start_step=5)
        for selection in (in_memory, by_reference)
    ]
    for (left, left_labels), (right, right_labels) in zip(
        streams[0].take(4), streams[1].take(4), strict=True
    ):
        np.testing.assert_array_equal(left_labels.numpy(), right_labels.numpy())
        for name in left:
            assert left[name].shape == right[name].shape, name
            np.testing.assert_array_equal(left[name].numpy(), right[name].numpy(), err_msg=name)
