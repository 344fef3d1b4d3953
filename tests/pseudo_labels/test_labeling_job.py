import json

import keras
import numpy as np
import pytest

from kerasssl.pseudo_labels import label_images, labeling_job, load_probabilities, read_shards


def _model(num_classes=4):
    inputs = keras.Input((6, 6, 3))
    hidden = keras.layers.Flatten()(keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))


def _pool(n=50):
    return np.random.default_rng(0).integers(0, 256, (n, 6, 6, 3)).astype(np.uint8)


def test_shards_hold_the_softmax_in_pool_order(tmp_path):
    model, pool = _model(), _pool()
    manifest = label_images(model, pool, tmp_path, shard_size=16, batch_size=8, verbose=0)
    assert manifest["num_shards"] == 4 and manifest["num_images"] == 50
    probabilities = load_probabilities(tmp_path)
    expected = keras.ops.softmax(model.predict(pool.astype("float32"), verbose=0)).numpy()
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    assert [start for start, _ in read_shards(tmp_path)] == [0, 16, 32, 48]
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


class Killed(BaseException):
    pass


def _kill_after_shards(monkeypatch, count):
    """Makes the job die (as a kill would) when it is about to write shard `count`."""
    written = []
    save = labeling_job._atomic_save_array

    def save_then_die(path, array):
        if len(written) == count:
            raise Killed()
        written.append(path)
        save(path, array)

    monkeypatch.setattr(labeling_job, "_atomic_save_array", save_then_die)


def test_rerun_after_a_kill_resumes_and_ends_with_identical_files(tmp_path, monkeypatch):
    model, pool = _model(), _pool()
    label_images(model, pool, tmp_path / "straight", shard_size=16, verbose=0)
    original = {path.name: path.read_bytes() for path in (tmp_path / "straight").iterdir()}
    killed = tmp_path / "killed"
    with monkeypatch.context() as patch:
        _kill_after_shards(patch, 1)
        with pytest.raises(Killed):
            label_images(model, pool, killed, shard_size=16, verbose=0)
    assert sorted(path.name for path in killed.iterdir()) == [
        "manifest.json",
        "shard-00000-of-00004.npy",
    ]
    with pytest.raises(FileNotFoundError, match="not finished"):
        load_probabilities(killed)
    (killed / ".shard-00001-of-00004.npy.abc.tmp").write_bytes(b"half")  # a stale temp file
    first_shard_time = (killed / "shard-00000-of-00004.npy").stat().st_mtime_ns
    label_images(model, pool, killed, shard_size=16, verbose=0)
    for name, content in original.items():
        assert (killed / name).read_bytes() == content, name
    # The finished shard was kept, not recomputed.
    assert (killed / "shard-00000-of-00004.npy").stat().st_mtime_ns == first_shard_time


def test_another_teacher_is_an_error_finished_or_killed_and_overwrite_relabels(
    tmp_path, monkeypatch
):
    pool = _pool()
    first, second = _model(), _model()  # two initialisations: two teachers
    finished, killed = tmp_path / "finished", tmp_path / "killed"
    label_images(first, pool, finished, shard_size=16, verbose=0)
    first_labels = load_probabilities(finished)
    with pytest.raises(ValueError, match="another teacher .*new --workdir.*overwrite=True"):
        label_images(second, pool, finished, shard_size=16, verbose=0)
    np.testing.assert_array_equal(load_probabilities(finished), first_labels)  # untouched
    # A job killed after one shard, rerun with another teacher: never a mix of the two.
    with monkeypatch.context() as patch:
        _kill_after_shards(patch, 1)
        with pytest.raises(Killed):
            label_images(first, pool, killed, shard_size=16, verbose=0)
    with pytest.raises(ValueError, match="another teacher"):
        label_images(second, pool, killed, shard_size=16, verbose=0)
    # overwrite=True labels afresh with the new teacher only.
    (killed / "notes.txt").write_text("not the job's")
    label_images(second, pool, killed, shard_size=16, verbose=0, overwrite=True)
    expected = keras.ops.softmax(second.predict(pool.astype("float32"), verbose=0)).numpy()
    np.testing.assert_allclose(load_probabilities(killed), expected, rtol=1e-5, atol=1e-6)
    assert (killed / "notes.txt").is_file()


def test_the_same_weights_reloaded_resume_and_another_pool_is_an_error(tmp_path):
    model, pool = _model(), _pool()
    manifest = label_images(model, pool, tmp_path / "job", shard_size=16, verbose=0)
    # The hash is of weight values: a copy saved and loaded again is the same teacher.
    model.save(tmp_path / "teacher.keras")
    reloaded = keras.saving.load_model(tmp_path / "teacher.keras")
    again = label_images(reloaded, pool, tmp_path / "job", shard_size=16, verbose=0)
    assert again == manifest and manifest["finished"] is True
    assert len(manifest["teacher_weights_sha256"]) == len(manifest["pool_sha256"]) == 64
    other_pool = pool.copy()
    other_pool[-1, 0, 0, 0] ^= 1  # one pixel of the last image
    with pytest.raises(ValueError, match="another unlabeled pool"):
        label_images(model, other_pool, tmp_path / "job", shard_size=16, verbose=0)


def test_shards_without_a_manifest_are_not_trusted(tmp_path):
    # Left by a job that recorded no teacher (an older kerasssl): which teacher wrote them?
    label_images(_model(), _pool(), tmp_path, shard_size=16, verbose=0)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(ValueError, match="without a manifest"):
        label_images(_model(), _pool(), tmp_path, shard_size=16, verbose=0)


def test_bad_input_names_the_fix(tmp_path):
    with pytest.raises(ValueError, match="labels_per_class"):
        label_images(_model(), _pool(0), tmp_path, verbose=0)
    with pytest.raises(ValueError, match="shard_size"):
        label_images(_model(), _pool(), tmp_path, shard_size=0, verbose=0)
    label_images(_model(), _pool(), tmp_path, shard_size=16, verbose=0)
    with pytest.raises(ValueError, match="another output_dir"):
        label_images(_model(), _pool(), tmp_path, shard_size=8, verbose=0)
    with pytest.raises(FileNotFoundError, match="rerun"):
        load_probabilities(tmp_path / "missing")
    assert json.loads((tmp_path / "manifest.json").read_text())["shard_size"] == 16
