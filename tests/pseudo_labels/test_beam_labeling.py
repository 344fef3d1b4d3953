import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

pytest.importorskip("apache_beam")  # the `beam` extra

from kerasssl.pseudo_labels import (  # noqa: E402
    beam_labeling,
    beam_selection,
    label_images,
    load_probabilities,
    select_confident_balanced,
    select_top_k_per_class,
)


def _teacher(path, seed=0, num_classes=4):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 3))
    hidden = keras.layers.Flatten()(keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))
    model.save(path)
    return model


def _pool(n=50, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 6, 6, 3)).astype(np.uint8)


@pytest.fixture
def job(tmp_path):
    """A teacher file, a pool written as 4 shards of 16, 16, 16, 2 images."""
    teacher = _teacher(tmp_path / "teacher.keras")
    pool = _pool()
    beam_labeling.write_pool(pool, tmp_path / "pool", records_per_shard=16)
    return teacher, pool, tmp_path


def _label(tmp_path, output="out", selection=None, **kwargs):
    return beam_labeling.label_shards(
        tmp_path / "teacher.keras",
        tmp_path / "pool",
        tmp_path / output,
        split="unlabeled",
        selection=selection,
        batch_size=8,
        **kwargs,
    )


def test_soft_labels_and_selections_equal_the_in_process_job(job):
    teacher, pool, tmp_path = job
    label_images(teacher, pool, tmp_path / "in_process", shard_size=16, batch_size=8, verbose=0)
    expected = load_probabilities(tmp_path / "in_process")
    manifest = _label(tmp_path, selection=beam_selection.SelectTopKPerClass(6, 2, 4))
    assert [entry["count"] for entry in manifest["shards"]] == [16, 16, 16, 2]
    ids, probabilities = beam_labeling.load_soft_labels(tmp_path / "out")
    np.testing.assert_array_equal(ids, np.arange(50))
    np.testing.assert_array_equal(probabilities, expected)  # the same batches: the same floats
    # Streamed, shard by shard: the shards in order, and any ids' rows (repeats, any order).
    streamed = list(beam_labeling.read_soft_label_shards(tmp_path / "out"))
    assert [len(part_ids) for part_ids, _ in streamed] == [16, 16, 16, 2]
    np.testing.assert_array_equal(np.concatenate([rows for _, rows in streamed]), expected)
    wanted = np.array([49, 3, 3, 17, 0, 32], np.int64)
    np.testing.assert_array_equal(
        beam_labeling.gather_soft_labels(tmp_path / "out", wanted), expected[wanted]
    )
    with pytest.raises(ValueError, match=r"no row for image ids \[50\]"):
        beam_labeling.gather_soft_labels(tmp_path / "out", np.array([1, 50]))
    # By reference: the same rows read a batch at a time, in and out of a tf.data pipeline.
    import tensorflow as tf

    from kerasssl.pseudo_labels.soft_label_rows import SoftLabelRows

    by_reference = SoftLabelRows(tmp_path / "out", wanted)
    assert by_reference.shape == (6, 4)
    positions = np.array([5, 0, 1, 1, 4], np.int64)
    np.testing.assert_array_equal(by_reference.read(positions), expected[wanted[positions]])
    (batch,) = list(tf.data.Dataset.from_tensors(positions).map(by_reference.gather))
    np.testing.assert_array_equal(batch.numpy(), expected[wanted[positions]])
    np.testing.assert_array_equal(np.asarray(by_reference), expected[wanted])
    with pytest.raises(ValueError, match=r"indices must be in \[0, 50\)"):
        SoftLabelRows(tmp_path / "out", [50])
    top_k = beam_selection.read_selection(tmp_path / "out", 4)
    np.testing.assert_array_equal(top_k.indices, select_top_k_per_class([expected], 6, 2).indices)
    # Another selection over the same job: soft labels kept, not labeled again.
    first_shard = tmp_path / "out" / manifest["shards"][0]["file"]
    written = first_shard.stat().st_mtime_ns
    manifest = _label(tmp_path, selection=beam_selection.SelectConfidentBalanced(0.3, 9))
    assert manifest["selection"]["settings"]["images_per_class"] == 9
    assert first_shard.stat().st_mtime_ns == written
    balanced = beam_selection.read_selection(tmp_path / "out", 4, lambda ids: probabilities[ids])
    in_process = select_confident_balanced(expected, 0.3, 9, soft=True)
    np.testing.assert_array_equal(balanced.indices, in_process.indices)
    np.testing.assert_array_equal(balanced.targets, in_process.targets)


def test_another_teacher_pool_or_job_kind_is_an_error_and_overwrite_relabels(job):
    _, pool, tmp_path = job
    _label(tmp_path)
    _teacher(tmp_path / "teacher.keras", seed=1)  # another teacher in the same file
    with pytest.raises(ValueError, match="another teacher.*overwrite=True"):
        _label(tmp_path)
    manifest = _label(tmp_path, overwrite=True)
    assert manifest["finished"] and not list((tmp_path / "out").glob(".*tmp"))
    other = pool.copy()
    other[3, 0, 0, 0] ^= 1
    beam_labeling.write_pool(other, tmp_path / "pool", records_per_shard=16)
    with pytest.raises(ValueError, match="another unlabeled pool"):
        _label(tmp_path)
    # The in-process job's folder is not the Beam job's, and the other way round.
    teacher = keras.saving.load_model(tmp_path / "teacher.keras")
    label_images(teacher, pool, tmp_path / "in_process", shard_size=16, verbose=0)
    with pytest.raises(ValueError, match="another kind of labeling job"):
        _label(tmp_path, output="in_process")
    with pytest.raises(ValueError, match="another kind of labeling job"):
        label_images(teacher, other, tmp_path / "out", shard_size=16, verbose=0)


def test_bad_settings_name_the_field(job):
    _, _, tmp_path = job
    with pytest.raises(ValueError, match="config.pseudo_labels.runner"):
        _label(tmp_path, runner="local")
    with pytest.raises(ValueError, match="config.pseudo_labels.num_workers"):
        beam_labeling.pipeline_options("direct", num_workers=0)
    with pytest.raises(ValueError, match="num_classes=4"):
        _label(tmp_path, selection=beam_selection.SelectTopKPerClass(2, 1, num_classes=3))
    with pytest.raises(ValueError, match="not a shard folder"):
        beam_labeling.label_shards(
            tmp_path / "teacher.keras", tmp_path / "none", tmp_path / "out", split="unlabeled"
        )


_CHILD = """
import sys, time
from kerasssl.pseudo_labels import beam_labeling, beam_selection, soft_label_shards

write = soft_label_shards.write_shard


def write_slowly(*args):
    write(*args)
    time.sleep(2)  # room for the parent's kill -9 between two shards


soft_label_shards.write_shard = write_slowly
folder = sys.argv[1]
beam_labeling.label_shards(
    f"{folder}/teacher.keras", f"{folder}/pool", f"{folder}/killed", split="unlabeled",
    selection=beam_selection.SelectTopKPerClass(6, 2, 4), batch_size=8, num_workers=1,
)
"""


def _contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_kill_9_during_labeling_then_rerun_gives_identical_outputs(job):
    _, _, tmp_path = job
    selection = beam_selection.SelectTopKPerClass(6, 2, 4)
    _label(tmp_path, output="straight", selection=selection)
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(tmp_path)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed = tmp_path / "killed"
    try:
        deadline = time.monotonic() + 120
        while not list(killed.glob("soft_labels-*")) and time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read().decode()[-3000:]
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not json.loads((killed / "manifest.json").read_text())["finished"]
    assert len(list(killed.glob("soft_labels-*"))) < 4  # killed part-way
    with pytest.raises(FileNotFoundError, match="rerun"):
        beam_labeling.load_soft_labels(killed)
    _label(tmp_path, output="killed", selection=selection)
    resumed, straight = _contents(killed), _contents(tmp_path / "straight")
    assert sorted(resumed) == sorted(straight)
    assert [name for name in straight if resumed[name] != straight[name]] == []
