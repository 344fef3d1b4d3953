"""The DivideMix experiment's user-facing output: banners, epoch numbers, history.csv,
TensorBoard scalars and the averaged model.keras."""

import contextlib
import csv
import io
import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasssl import files, train
from kerasssl.algorithms.divide_mix import DivideMix
from kerasssl.experiments import divide_mix
from kerasssl.testing import recipe_config

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "dividemix_digits.py"


def _config(verbose):
    config = recipe_config(RECIPE)  # 1 warm-up and 2 DivideMix epochs of one step
    config.train.verbose = str(verbose)
    return config


def _history(workdir):
    with open(workdir / "history.csv", newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One verbose smoke run: (workdir, metrics, what it printed)."""
    keras.utils.set_random_seed(0)
    workdir = tmp_path_factory.mktemp("divide_mix") / "run"
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        metrics = train.train_and_evaluate(_config(verbose=1), workdir)
    return workdir, metrics, output.getvalue()


def test_banners_and_keras_say_the_real_epoch(finished_run):
    _, metrics, printed = finished_run
    assert "== DivideMix warm-up: epoch 1 of 3" in printed
    for epoch in (2, 3):
        record = metrics["per_epoch"][epoch - 1]
        banner = (
            f"== DivideMix: epoch {epoch} of 3; co-divide clean sets "
            f"{record['clean_set_size_1']} and {record['clean_set_size_2']}, "
            f"split AUC {record['auc_1']:.3f} and {record['auc_2']:.3f}"
        )
        assert banner in printed
    # Keras' own line counts the whole run, not the one-epoch fit of each DivideMix epoch.
    assert [line for line in printed.splitlines() if line.startswith("Epoch ")] == [
        "Epoch 1/3",
        "Epoch 2/3",
        "Epoch 3/3",
    ]


def test_history_csv_has_the_per_epoch_split_figures(finished_run):
    workdir, metrics, _ = finished_run
    rows = _history(workdir)
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert [row["phase"] for row in rows] == ["warmup", "divide_mix", "divide_mix"]
    assert rows[0]["auc_1"] == rows[0]["clean_set_size_1"] == ""  # no split in warm-up
    for row, record in zip(rows[1:], metrics["per_epoch"][1:], strict=True):
        for column in ("auc_1", "auc_2", "clean_set_size_1", "clean_set_size_2", "lambda_u"):
            assert float(row[column]) == pytest.approx(record[column])


def test_tensorboard_gets_the_split_figures_per_epoch(finished_run):
    workdir, metrics, _ = finished_run
    scalars = {}
    for event_file in (workdir / "tensorboard" / "divide_mix").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor))
                scalars.setdefault(value.tag, {})[event.step] = number
    for name in ("auc_1", "clean_set_size_2", "validation_accuracy"):
        expected = {
            index: record[name]
            for index, record in enumerate(metrics["per_epoch"])
            if name in record
        }
        assert scalars[name] == pytest.approx(expected), name
    assert sorted(scalars["auc_1"]) == [1, 2]  # Keras' 0-based epoch index, as its own scalars


def test_model_file_is_the_averaged_network_and_evaluates_as_the_run(finished_run):
    workdir, metrics, _ = finished_run
    network = keras.saving.load_model(workdir / "model.keras")
    assert not isinstance(network, DivideMix)  # a functional model, not the algorithm
    assert network.name == "divide_mix_average" and network.layers[-1].name == "average_logits"
    evaluated = train.evaluate_workdir(workdir)
    assert evaluated["test_accuracy"] == metrics["test_accuracy"]
    assert evaluated["test_loss"] == pytest.approx(metrics["test_loss"], rel=1e-6)


# Long: three more DivideMix runs (the default tier keeps the shared finished run's checks).
@pytest.mark.long
def test_a_kill_around_the_state_save_leaves_history_csv_without_duplicates(
    tmp_path, monkeypatch, capsys, finished_run
):
    workdir = tmp_path / "run"
    config = _config(verbose=0)
    real_save_state = divide_mix.save_state

    def save_state_killed_before(algorithm, path, completed_epochs, history, **kwargs):
        if completed_epochs == 2:
            raise KeyboardInterrupt  # epoch 2 trained, its state never saved
        real_save_state(algorithm, path, completed_epochs, history, **kwargs)

    monkeypatch.setattr(divide_mix, "save_state", save_state_killed_before)
    with pytest.raises(KeyboardInterrupt):
        train.train_and_evaluate(config, workdir)
    assert [row["epoch"] for row in _history(workdir)] == ["1"]

    real_write_csv = files.atomic_write_csv

    def write_csv_killed_after_the_last_state(path, records):
        if len(records) == 3:
            raise KeyboardInterrupt  # epoch 3's state saved, its row not written
        real_write_csv(path, records)

    monkeypatch.setattr(divide_mix, "save_state", real_save_state)
    monkeypatch.setattr(files, "atomic_write_csv", write_csv_killed_after_the_last_state)
    with pytest.raises(KeyboardInterrupt):
        train.train_and_evaluate(config, workdir)
    assert [row["epoch"] for row in _history(workdir)] == ["1", "2"]

    monkeypatch.setattr(files, "atomic_write_csv", real_write_csv)
    metrics = train.train_and_evaluate(config, workdir)
    assert metrics["epochs_run_this_time"] == 0
    assert capsys.readouterr().out == ""  # verbose=0: no banner, no progress bar

    # The resumed history is the uninterrupted run's, row for row (timings aside).
    def without_seconds(rows):
        return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]

    assert without_seconds(_history(workdir)) == without_seconds(_history(finished_run[0]))
    stored = json.loads((workdir / "metrics.json").read_text())["per_epoch"]
    assert [record["epoch"] for record in stored] == [1, 2, 3]


def test_averaged_losses_round_trip_through_the_state_file(tmp_path):
    # The reference's 90%-noise co-divide: the GMM sees the mean of the last epochs' losses,
    # so the state file carries them for a resumed run to average the same epochs (the
    # paper_sym90 smoke in tests/test_paper_presets.py runs the whole path).
    from kerasssl.data.prepare import prepare_data

    config = _config(verbose=0)
    algorithm = divide_mix.build_algorithm(config, prepare_data(config.data, seed=0), 1, 1)
    path = tmp_path / divide_mix.STATE_FILE
    losses = [[np.linspace(0, 1, 7), np.linspace(1, 0, 7)], [np.full(7, 0.5), np.zeros(7)]]
    divide_mix.save_state(algorithm, path, 3, [{"epoch": 1}], loss_history=losses)
    completed, history, restored = divide_mix.load_state(algorithm, path)
    assert (completed, history) == (3, [{"epoch": 1}])
    np.testing.assert_array_equal(np.asarray(restored), np.asarray(losses))
    divide_mix.save_state(algorithm, path, 1, [])  # warm-up only: no losses yet
    assert divide_mix.load_state(algorithm, path)[2] == [[], []]


def test_networks_of_a_preset_with_its_own_name_give_a_savable_averaged_network(tmp_path):
    # resnet_cifar_small (dividemix_cifar10), resnet18, wrn_28_2, preact_resnet18 name their
    # Keras model after the preset: two of them in one functional model clashed at save.
    import types

    config = _config(verbose=0)
    config.model.name = "wrn_tiny"  # named "wrn_10_1" by its class, as the big presets are
    data = types.SimpleNamespace(num_classes=2, input_shape=(8, 8, 1))
    algorithm = divide_mix.build_algorithm(config, data, 1, 1)
    names = [algorithm.network_1.name, algorithm.network_2.name]
    assert names == ["wrn_tiny_network_1", "wrn_tiny_network_2"]
    path = tmp_path / "model.keras"
    algorithm.averaged_network().save(path)
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(
        files.load_model(path)(images), algorithm.averaged_network()(images), rtol=1e-5
    )
