"""The `load_dataset` dispatcher on ml_collections configs."""

import ml_collections
import numpy as np
import pytest

from kerasssl.data import load_dataset


def _config(**fields):
    return ml_collections.ConfigDict(fields)


def test_digits():
    data = load_dataset(_config(source="digits"))
    assert set(data) == {"train", "test"}
    assert (len(data["train"]), len(data["test"])) == (1437, 360)


def test_digits_resized():
    data = load_dataset(_config(source="digits", image_size=16))
    assert data["train"].images.shape[1:] == (16, 16, 1)


def test_npz_with_split_placeholder_and_split_keys(tmp_path):
    images = np.zeros([4, 5, 5, 3], np.uint8)
    for split in ("train", "test"):
        np.savez(tmp_path / f"{split}.npz", images=images, labels=np.array([0, 1, 2, 1]))
    data = load_dataset(_config(source="npz", path=str(tmp_path / "{split}.npz")))
    assert data["test"].num_classes == 3
    np.savez(
        tmp_path / "all.npz", x_train=images, y_train=[0, 1, 0, 1], x_val=images[:2], y_val=[1, 0]
    )
    data = load_dataset(_config(source="npz", path=str(tmp_path / "all.npz"), test_split="val"))
    assert len(data["test"]) == 2


def test_image_folder(cifar10_subset):
    data = load_dataset(_config(source="image_folder", root=str(cifar10_subset), image_size=None))
    assert len(data["train"]) == 6000 and data["train"].class_names == data["test"].class_names


def test_unknown_source():
    with pytest.raises(ValueError, match=r"Unknown data source 'csv'.*'digits'"):
        load_dataset(_config(source="csv"))


def test_missing_required_field():
    with pytest.raises(ValueError, match=r"data.root"):
        load_dataset(_config(source="image_folder", root=None))
    with pytest.raises(ValueError, match=r"data.name"):
        load_dataset(_config(source="tfds"))


def test_tfds_without_local_copy(tmp_path):
    with pytest.raises(ValueError, match=r"'cifar10'.*no local copy"):
        load_dataset(_config(source="tfds", name="cifar10", data_dir=str(tmp_path)))
