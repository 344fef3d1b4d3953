import json

import keras
import numpy as np
import pytest

from kerasssl.pseudo_labels import label_images, load_probabilities, read_shards


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


def test_rerun_after_a_kill_resumes_and_ends_with_identical_files(tmp_path):
    model, pool = _model(), _pool()
    label_images(model, pool, tmp_path, shard_size=16, verbose=0)
    original = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    # A kill after the first shard: later shards and the manifest missing, a stale temp file.
    shards = sorted(name for name in original if name.startswith("shard-"))
    for name in [*shards[1:], "manifest.json"]:
        (tmp_path / name).unlink()
    (tmp_path / ".shard-00001-of-00004.npy.abc.tmp").write_bytes(b"half")
    first_shard_time = (tmp_path / shards[0]).stat().st_mtime_ns
    label_images(model, pool, tmp_path, shard_size=16, verbose=0)
    for name, content in original.items():
        assert (tmp_path / name).read_bytes() == content, name
    # The finished shard was kept, not recomputed.
    assert (tmp_path / shards[0]).stat().st_mtime_ns == first_shard_time


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
