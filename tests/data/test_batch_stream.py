import numpy as np
import pytest

from kerasssl.data.batch_stream import BatchStream, endless_dataset, resolve_view


def _stream(seed=0, stream=0, batch_size=4):
    images = np.arange(10 * 2 * 2 * 1, dtype=np.uint8).reshape(10, 2, 2, 1)
    return BatchStream(images, np.arange(10), {"image": None}, batch_size, seed, stream)


def test_each_epoch_is_a_permutation_and_epochs_differ():
    stream = _stream(batch_size=5)
    labels = np.concatenate([stream.batch(step)["label"].numpy() for step in range(4)])
    first, second = labels[:10], labels[10:]
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert not np.array_equal(first, second)


def test_batches_are_a_pure_function_of_seed_stream_and_step():
    np.testing.assert_array_equal(_stream().batch(7)["label"], _stream().batch(7)["label"])
    assert not np.array_equal(_stream().batch(0)["label"], _stream(stream=1).batch(0)["label"])
    assert not np.array_equal(_stream().batch(0)["label"], _stream(seed=1).batch(0)["label"])


def test_endless_dataset_starts_at_the_given_step():
    stream = _stream()
    resumed = next(iter(endless_dataset(stream.batch, start_step=3)))
    np.testing.assert_array_equal(resumed["label"], stream.batch(3)["label"])
    with pytest.raises(ValueError, match="start_step"):
        endless_dataset(stream.batch, start_step=-1)


def test_resolve_view_rejects_other_types():
    assert resolve_view(None) is None
    assert callable(resolve_view("weak"))
    with pytest.raises(TypeError, match="view name"):
        resolve_view(3)
