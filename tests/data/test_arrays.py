"""numpy arrays and .npz files."""

import numpy as np
import pytest

from kerasssl.data import load_arrays, load_npz


def test_load_arrays_grayscale_and_default_names():
    data = load_arrays(np.zeros([5, 6, 6], np.uint8), np.array([0, 2, 1, 2, 0]))
    assert data.images.shape == (5, 6, 6, 1)
    assert data.class_names == ("0", "1", "2")


def test_load_arrays_converts_integer_images_and_column_labels():
    data = load_arrays(np.full([2, 4, 4, 3], 200, np.int64), np.array([[1], [0]]), ("a", "b"))
    assert data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.labels, [1, 0])


@pytest.mark.parametrize("shape", [(4, 4), (2, 4, 4, 3, 1)])
def test_load_arrays_wrong_rank(shape):
    with pytest.raises(ValueError, match=r"shape \[N, H, W, C\]"):
        load_arrays(np.zeros(shape, np.uint8), np.zeros(shape[0], np.int64))


def test_load_arrays_wrong_dtype():
    with pytest.raises(TypeError, match="uint8"):
        load_arrays(np.zeros([2, 4, 4, 3], np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="0..255"):
        load_arrays(np.full([2, 4, 4, 3], 300, np.int32), np.array([0, 1]))
    with pytest.raises(TypeError, match="one-hot"):
        load_arrays(np.zeros([2, 4, 4, 3], np.uint8), np.eye(2))


def test_load_arrays_labels_out_of_range():
    with pytest.raises(ValueError, match=r"num_classes=2"):
        load_arrays(np.zeros([2, 4, 4, 3], np.uint8), np.array([0, 2]), ("a", "b"))
    with pytest.raises(ValueError, match=">= 0"):
        load_arrays(np.zeros([2, 4, 4, 3], np.uint8), np.array([0, -1]))


def test_load_npz_generic_and_split_keys(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, [6, 4, 4, 3], dtype=np.uint8)
    np.savez(tmp_path / "plain.npz", x=images, y=np.arange(6) % 3)
    data = load_npz(tmp_path / "plain.npz")
    np.testing.assert_array_equal(data.images, images)
    assert data.num_classes == 3

    np.savez(
        tmp_path / "both.npz",
        x_train=images,
        y_train=np.arange(6) % 2,
        x_test=images[:2],
        y_test=np.array([1, 0]),
        class_names=np.array(["cat", "dog"]),
    )
    test = load_npz(tmp_path / "both.npz", split="test")
    assert len(test) == 2 and test.class_names == ("cat", "dog")


def test_load_npz_missing_keys_and_file(tmp_path):
    np.savez(tmp_path / "odd.npz", pixels=np.zeros([2, 4, 4], np.uint8))
    with pytest.raises(ValueError, match="no images array"):
        load_npz(tmp_path / "odd.npz")
    np.savez(tmp_path / "generic.npz", images=np.zeros([2, 4, 4], np.uint8), labels=[0, 1])
    with pytest.raises(ValueError, match="x_train"):
        load_npz(tmp_path / "generic.npz", split="train")
    with pytest.raises(ValueError, match="not a file"):
        load_npz(tmp_path / "absent.npz")
