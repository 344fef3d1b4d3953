import json

import pytest

from kerasssl import files


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "metrics.json"
    files.atomic_write_json(path, {"a": 1})
    files.atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["metrics.json"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    files.atomic_write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        files.atomic_write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def _reject_constant(name):
    raise ValueError(f"not JSON: {name}")


def test_non_finite_floats_are_written_as_null(tmp_path):
    path = tmp_path / "metrics.json"
    files.atomic_write_json(
        path, {"loss": float("nan"), "per_epoch": [{"auc": float("inf")}, 1.5], "n": (2, -1e999)}
    )
    # Python's own json.loads accepts a bare NaN; other parsers do not.
    value = json.loads(path.read_text(), parse_constant=_reject_constant)
    assert value == {"loss": None, "per_epoch": [{"auc": None}, 1.5], "n": [2, None]}


def test_a_damaged_keras_file_is_named_damaged(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "model.keras"
    files.atomic_save_model(model, path)
    assert files.load_model(path).count_params() == model.count_params()
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])  # truncated: Keras says "File not found"
    with pytest.raises(ValueError, match="model.keras is damaged"):
        files.load_model(path)
    corrupted = bytearray(content)
    corrupted[200:400] = bytes(200)  # a zip with a bad CRC: Keras raises BadZipFile
    path.write_bytes(bytes(corrupted))
    with pytest.raises(ValueError, match="model.keras is damaged.*rerun"):
        files.load_model(path)
    with pytest.raises(FileNotFoundError):
        files.load_model(tmp_path / "missing.keras")


def test_atomic_write_csv_takes_every_key_and_leaves_missing_cells_empty(tmp_path):
    path = tmp_path / "history.csv"
    files.atomic_write_csv(path, [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "auc": 0.9, "loss": 0.4}])
    assert path.read_text() == "epoch,loss,auc\n1,0.5,\n2,0.4,0.9\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]


def test_atomic_export_replaces_an_older_export_and_leaves_no_temporary(tmp_path):
    import keras
    import numpy as np
    import tensorflow as tf

    def model(bias):
        inputs = keras.Input((2,))
        dense = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros")
        outputs = dense(inputs)
        dense.bias.assign([bias])
        return keras.Model(inputs, outputs)

    folder = tmp_path / "saved_model"
    files.atomic_export(model(1.0), folder)
    files.atomic_export(model(2.0), folder)
    loaded = tf.saved_model.load(str(folder))  # kept: the function reads its variables
    assert float(loaded.serve(np.zeros((1, 2), np.float32))[0, 0]) == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved_model"]


def test_failed_export_keeps_the_older_one(tmp_path):
    import keras

    inputs = keras.Input((2,))
    folder = tmp_path / "saved_model"
    files.atomic_export(keras.Model(inputs, keras.layers.Dense(1)(inputs)), folder)
    with pytest.raises(ValueError):
        files.atomic_export(keras.Sequential([keras.layers.Dense(1)]), folder)  # never built
    assert (folder / "saved_model.pb").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved_model"]
