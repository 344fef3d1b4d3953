"""ArrayRecord shards: round trips, random access by position and id, and every bad input."""

import json

import numpy as np
import pytest

from kerasssl.data import shards

CLASSES = ["a", "b", "c"]


def _images(count, shape=(6, 5, 3), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, *shape), dtype=np.uint8)


def _write(directory, count=10, records_per_shard=4, **kwargs):
    images = _images(count)
    labels = np.arange(count) % len(CLASSES)
    manifest = shards.write_shards(
        directory,
        images,
        labels,
        split="train",
        classes=CLASSES,
        image_shape=(6, 5, 3),
        records_per_shard=records_per_shard,
        **kwargs,
    )
    return images, labels, manifest


def test_round_trip_random_access(tmp_path):
    images, labels, manifest = _write(tmp_path / "train")
    assert manifest["format"] == "kerasssl-shards/1" and manifest["count"] == 10
    assert [shard["file"] for shard in manifest["shards"]] == [
        f"train-0000{index}-of-00003.array_record" for index in range(3)
    ]
    assert [shard["first_id"] for shard in manifest["shards"]] == [0, 4, 8]
    assert manifest["class_counts"] == [4, 3, 3]
    assert json.loads((tmp_path / "train" / "manifest.json").read_text()) == manifest
    reader = shards.ShardReader(tmp_path / "train", "train", verify_checksums=True)
    assert len(reader) == 10 and reader.classes == tuple(CLASSES)
    positions = np.array([9, 0, 4, 3, 3])
    got_images, got_labels, got_ids = reader.read(positions)
    np.testing.assert_array_equal(got_images, images[positions])
    np.testing.assert_array_equal(got_labels, labels[positions])
    np.testing.assert_array_equal(got_ids, positions)
    np.testing.assert_array_equal(reader.labels(), labels)


def test_open_readers_are_bounded(tmp_path, monkeypatch):
    images, _, _ = _write(tmp_path / "train", count=12, records_per_shard=2)
    monkeypatch.setattr(shards, "OPEN_READERS_PER_THREAD", 2)
    reader = shards.ShardReader(tmp_path / "train", "train")
    positions = np.array([11, 0, 5, 2, 11, 7, 1])
    np.testing.assert_array_equal(reader.read(positions)[0], images[positions])
    assert len(reader._local.readers) == 2


def test_record_round_trip_grayscale():
    image = _images(1, (4, 4, 1))[0]
    decoded, label, record_id = shards.decode_record(shards.encode_record(image, 2, 17))
    np.testing.assert_array_equal(decoded, image)
    assert (label, record_id) == (2, 17)


def test_iterator_input_unlabeled_and_ids(tmp_path):
    images = _images(5)
    manifest = shards.write_shards(
        tmp_path / "pool",
        iter(images),
        None,
        iter(range(100, 105)),
        split="pool",
        classes=CLASSES,
        image_shape=(6, 5, 3),
        records_per_shard=2,
    )
    assert manifest["class_counts"] == [0, 0, 0]
    reader = shards.ShardReader(tmp_path / "pool", "pool")
    np.testing.assert_array_equal(reader.positions([104, 100, 102]), [4, 0, 2])
    _, labels, ids = reader.read(reader.positions([103]))
    assert labels.tolist() == [-1] and ids.tolist() == [103]
    with pytest.raises(ValueError, match=r"ids \[7\] are not in split 'pool'"):
        reader.positions([7])


def test_truncated_shard_names_it(tmp_path):
    _write(tmp_path / "train")
    path = tmp_path / "train" / "train-00001-of-00003.array_record"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"train-00001-of-00003.*truncated or corrupt"):
        shards.ShardReader(tmp_path / "train", "train")


def test_checksum_mismatch_names_shard_and_field(tmp_path):
    _write(tmp_path / "train")
    manifest_path = tmp_path / "train" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["shards"][2]["sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    shards.read_manifest(tmp_path / "train", "train")  # not verified unless asked
    with pytest.raises(ValueError, match=r"train-00002-of-00003.*shards\[\]\.sha256"):
        shards.read_manifest(tmp_path / "train", "train", verify_checksums=True)


def test_corrupt_record_bytes(tmp_path):
    _write(tmp_path / "train", records_per_shard=10)
    path = tmp_path / "train" / "train-00000-of-00001.array_record"
    data = bytearray(path.read_bytes())
    data[data.index(b"\x89PNG") + 20] ^= 0xFF  # inside the first record's image
    path.write_bytes(bytes(data))
    reader = shards.ShardReader(tmp_path / "train", "train")
    with pytest.raises(ValueError, match=r"train-00000-of-00001.*corrupt"):
        reader.read(np.arange(10))


def test_mixed_sizes_refused_and_nothing_written(tmp_path):
    images = [_images(1)[0], _images(1, (7, 5, 3))[0]]
    with pytest.raises(ValueError, match=r"image 1 \(id 1\).*image_shape.*image_size"):
        shards.write_shards(
            tmp_path / "train",
            images,
            [0, 1],
            split="train",
            classes=["x", "y"],
            image_shape=(6, 5, 3),
            records_per_shard=1,
        )
    assert list((tmp_path / "train").iterdir()) == []


def test_empty_class_refused_previous_split_kept(tmp_path):
    images, _, manifest = _write(tmp_path / "train")
    with pytest.raises(ValueError, match=r"classes \['c'\] receive no image"):
        shards.write_shards(
            tmp_path / "train",
            _images(4, seed=1),
            [0, 1, 0, 1],
            split="train",
            classes=CLASSES,
            image_shape=(6, 5, 3),
            records_per_shard=2,
            overwrite=True,
        )
    # The previous split is intact: same manifest, same files, readable, nothing temporary.
    assert shards.read_manifest(tmp_path / "train", "train", verify_checksums=True) == manifest
    assert sorted(path.name for path in (tmp_path / "train").iterdir()) == sorted(
        ["manifest.json", *(shard["file"] for shard in manifest["shards"])]
    )
    np.testing.assert_array_equal(
        shards.ShardReader(tmp_path / "train", "train").read([7])[0], images[[7]]
    )


def test_overwrite_replaces_and_removes_stale_shards(tmp_path):
    _write(tmp_path / "train")
    with pytest.raises(ValueError, match="overwrite=True"):
        _write(tmp_path / "train")
    images, _, manifest = _write(tmp_path / "train", count=6, records_per_shard=6, overwrite=True)
    assert sorted(path.name for path in (tmp_path / "train").iterdir()) == [
        "manifest.json",
        "train-00000-of-00001.array_record",
    ]
    np.testing.assert_array_equal(
        shards.ShardReader(tmp_path / "train", "train").read([5])[0], images[[5]]
    )


def test_one_split_per_folder_and_wrong_split(tmp_path):
    _write(tmp_path / "train")
    with pytest.raises(ValueError, match="holds split 'train', not 'test'"):
        shards.read_manifest(tmp_path / "train", "test")
    with pytest.raises(ValueError, match=r"did you mean .*train"):
        shards.read_manifest(tmp_path, "train")
    with pytest.raises(ValueError, match="a folder holds one split"):
        shards.write_shards(
            tmp_path / "train",
            _images(1),
            [0],
            split="test",
            classes=CLASSES,
            image_shape=(6, 5, 3),
        )


def test_bad_ids_and_labels(tmp_path):
    kwargs = {"split": "train", "classes": CLASSES, "image_shape": (6, 5, 3)}
    with pytest.raises(ValueError, match="consecutive ids"):
        shards.write_shards(tmp_path / "a", _images(2), [0, 1], [0, 2], **kwargs)
    with pytest.raises(ValueError, match="ids of split 'train' repeat"):
        shards.write_shards(
            tmp_path / "b", _images(2), [0, 1], [0, 0], records_per_shard=1, **kwargs
        )
    with pytest.raises(ValueError, match=r"label 3 .*outside \[-1, 3\)"):
        shards.write_shards(tmp_path / "c", _images(1), [3], **kwargs)
    with pytest.raises(ValueError, match="differ in length"):
        shards.write_shards(tmp_path / "d", _images(2), [0], **kwargs)


@pytest.mark.slow  # two TensorFlow start-ups
def test_a_rewrite_in_another_process_gives_the_same_bytes(tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np, sys; from kerasssl.data import shards; "
        "images = np.arange(10 * 6 * 5 * 3, dtype=np.int64).reshape(10, 6, 5, 3) % 251; "
        "shards.write_shards(sys.argv[1], images.astype(np.uint8), np.arange(10) % 3, "
        "split='train', classes=['a', 'b', 'c'], image_shape=(6, 5, 3), records_per_shard=4)"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / seed)], check=True, env=env)
    first, second = (shards.read_manifest(tmp_path / seed, "train") for seed in ("1", "2"))
    assert first == second
