"""Converting image folders and arrays to shards: streamed, ids global, bad input named."""

import numpy as np
import pytest
from PIL import Image

from kerasssl import recipe_defaults
from kerasssl.data import shards
from kerasssl.data.to_shards import image_folder_to_shards, prepare_shards


def _folder(root, split="train", classes=("cat", "dog"), per_class=3, size=(8, 8), seed=0):
    rng = np.random.default_rng(seed)
    written = {}
    for class_index, name in enumerate(classes):
        (root / split / name).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            pixels = rng.integers(0, 256, [*size, 3], dtype=np.uint8)
            path = root / split / name / f"{index}.png"
            Image.fromarray(pixels).save(path)
            written[str(path)] = (pixels, class_index)
    return written


def test_image_folder_streams_into_shards(tmp_path):
    written = _folder(tmp_path / "images", per_class=5)
    manifest = image_folder_to_shards(
        tmp_path / "out", tmp_path / "images", "train", first_id=100, records_per_shard=3
    )
    assert manifest["count"] == 10 and manifest["classes"] == ["cat", "dog"]
    assert manifest["class_counts"] == [5, 5] and len(manifest["shards"]) == 4
    images, labels, ids = shards.ShardReader(tmp_path / "out", "train").read(np.arange(10))
    np.testing.assert_array_equal(ids, np.arange(100, 110))
    # Every file is there once, with its class; PNG is lossless.
    matched = set()
    for image, label in zip(images, labels, strict=True):
        path = next(p for p, (pixels, _) in written.items() if np.array_equal(pixels, image))
        assert written[path][1] == label and path not in matched
        matched.add(path)


def test_mixed_sizes_name_the_file_and_image_size_resizes(tmp_path):
    _folder(tmp_path / "images")
    _folder(tmp_path / "images", classes=("dog",), per_class=1, size=(9, 7), seed=1)
    with pytest.raises(ValueError, match=r"differ in size: .*dog/0\.png is 9x7.*image_size"):
        image_folder_to_shards(tmp_path / "out", tmp_path / "images", "train")
    assert not (tmp_path / "out" / "manifest.json").exists()
    assert [path.name for path in (tmp_path / "out").iterdir()] == []
    manifest = image_folder_to_shards(tmp_path / "out", tmp_path / "images", "train", image_size=8)
    assert manifest["image_shape"] == [8, 8, 3]


def test_a_bad_file_is_named_and_the_previous_split_kept(tmp_path):
    _folder(tmp_path / "images")
    first = image_folder_to_shards(tmp_path / "out", tmp_path / "images", "train")
    (tmp_path / "images" / "train" / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"Cannot read image file .*broken\.png"):
        image_folder_to_shards(tmp_path / "out", tmp_path / "images", "train", overwrite=True)
    assert shards.read_manifest(tmp_path / "out", "train", verify_checksums=True) == first


def test_a_class_folder_without_images_is_refused(tmp_path):
    _folder(tmp_path / "images")
    (tmp_path / "images" / "train" / "emu").mkdir()
    with pytest.raises(ValueError, match=r"classes \['emu'\] receive no image"):
        image_folder_to_shards(tmp_path / "out", tmp_path / "images", "train")


def test_prepare_shards_writes_both_splits_with_global_ids(tmp_path):
    _folder(tmp_path / "images", per_class=4)
    _folder(tmp_path / "images", split="test", per_class=2, seed=1)
    config = recipe_defaults.base_config().data
    config.source, config.root = "image_folder", str(tmp_path / "images")
    manifests = prepare_shards(config, tmp_path / "shards", records_per_shard=5)
    assert {split: manifest["count"] for split, manifest in manifests.items()} == {
        "train": 8,
        "test": 4,
    }
    assert manifests["test"]["shards"][0]["first_id"] == 8
    _folder(tmp_path / "images", split="test", classes=("cat", "emu"), seed=2)
    with pytest.raises(ValueError, match=r"class folders of .*test are \['cat', 'dog', 'emu'\]"):
        prepare_shards(config, tmp_path / "again")
    assert not (tmp_path / "again").exists()  # checked before the train split was written


def test_prepare_shards_from_digits(tmp_path):
    config = recipe_defaults.base_config().data
    manifests = prepare_shards(config, tmp_path, records_per_shard=500)
    train = shards.ShardReader(tmp_path / "train", "train")
    assert manifests["train"]["image_shape"] == [8, 8, 1] and len(train.classes) == 10
    assert len(train) + len(shards.ShardReader(tmp_path / "test", "test")) == 1797
