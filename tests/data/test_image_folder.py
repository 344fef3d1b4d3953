"""Image folders: tiny synthetic ones, error cases, and the real cifar10-subset."""

import time

import numpy as np
import pytest
from PIL import Image

from kerasssl.data import load_image_folder


def _write_folder(root, sizes=None, split="train", classes=("cat", "dog"), per_class=3):
    rng = np.random.default_rng(0)
    for class_index, name in enumerate(classes):
        folder = root / split / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            size = sizes[index % len(sizes)] if sizes else (8, 8)
            pixels = rng.integers(0, 256, [*size, 3], dtype=np.uint8)
            # PNG is lossless, so pixel values can be compared exactly.
            Image.fromarray(pixels).save(folder / f"{class_index}_{index}.png")
    return root


def test_loads_png_folder(tmp_path):
    root = _write_folder(tmp_path)
    data = load_image_folder(root, "train")
    assert data.images.shape == (6, 8, 8, 3) and data.images.dtype == np.uint8
    assert data.class_names == ("cat", "dog")
    np.testing.assert_array_equal(data.class_counts(), [3, 3])
    again = load_image_folder(str(root), "train")
    np.testing.assert_array_equal(data.images, again.images)
    np.testing.assert_array_equal(data.labels, again.labels)
    first = np.asarray(Image.open(root / "train" / "cat" / "0_0.png"))
    matches = [np.array_equal(image, first) for image in data.images]
    assert sum(matches) == 1 and data.labels[matches.index(True)] == 0


def test_grayscale_channels_and_resize(tmp_path):
    root = _write_folder(tmp_path)
    data = load_image_folder(root, "train", image_size=(4, 6), channels=1)
    assert data.images.shape == (6, 4, 6, 1)


def test_mixed_sizes_need_image_size(tmp_path):
    root = _write_folder(tmp_path, sizes=[(8, 8), (10, 12)])
    with pytest.raises(ValueError, match="image_size"):
        load_image_folder(root, "train")
    assert load_image_folder(root, "train", image_size=8).images.shape == (6, 8, 8, 3)


def test_missing_root(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_image_folder(tmp_path / "nowhere", "train")


def test_missing_split_lists_splits(tmp_path):
    root = _write_folder(tmp_path)
    with pytest.raises(ValueError, match=r"no split folder 'test'.*\['train'\]"):
        load_image_folder(root, "test")


def test_no_class_folders(tmp_path):
    (tmp_path / "train").mkdir()
    Image.fromarray(np.zeros([4, 4, 3], np.uint8)).save(tmp_path / "train" / "loose.png")
    with pytest.raises(ValueError, match="no class folders"):
        load_image_folder(tmp_path, "train")


def test_class_folders_without_images(tmp_path):
    (tmp_path / "train" / "cat").mkdir(parents=True)
    (tmp_path / "train" / "cat" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match="hold no"):
        load_image_folder(tmp_path, "train")


def test_corrupt_image_is_named(tmp_path):
    root = _write_folder(tmp_path)
    bad = root / "train" / "dog" / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(ValueError, match=r"Cannot read image file .*broken\.jpg"):
        load_image_folder(root, "train")


def test_cifar10_subset(cifar10_subset):
    start = time.perf_counter()
    train = load_image_folder(cifar10_subset, "train")
    test = load_image_folder(cifar10_subset, "test")
    seconds = time.perf_counter() - start
    assert train.images.shape == (6000, 32, 32, 3)
    assert test.images.shape == (2000, 32, 32, 3)
    np.testing.assert_array_equal(train.class_counts(), [600] * 10)
    np.testing.assert_array_equal(test.class_counts(), [200] * 10)
    assert train.class_names[:3] == ("airplane", "automobile", "bird")
    assert 20 < train.images.mean() < 235
    # About 2 s on 2 cores; the bound only catches a per-file Python decode loop.
    assert seconds < 30


def test_a_class_in_one_split_only_is_named(tmp_path):
    # tfds numbers classes over all splits: "fox" under test/ only would shift train's ids.
    _write_folder(tmp_path, split="train", classes=("cat", "dog"))
    _write_folder(tmp_path, split="test", classes=("cat", "dog", "fox"))
    for split in ("train", "test"):
        with pytest.raises(ValueError, match=r"split 'train' lacks the class folders \['fox'\]"):
            load_image_folder(tmp_path, split)


def test_an_empty_class_folder_is_an_error(tmp_path):
    # The empty class sorts last, the case a labels_per_class check by max label would miss.
    _write_folder(tmp_path, split="train", classes=("cat", "dog"))
    _write_folder(tmp_path, split="test", classes=("cat", "dog", "zebra"))
    (tmp_path / "train" / "zebra").mkdir()
    (tmp_path / "train" / "zebra" / "notes.txt").write_text("no images")
    with pytest.raises(ValueError, match=r"train/zebra' holds no"):
        load_image_folder(tmp_path, "test")
