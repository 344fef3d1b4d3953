"""kerasssl.run_clock: a run's wall clock survives the calls that were killed."""

import json
import time

import pytest

from kerasssl import recipe_defaults, run_clock, train
from kerasssl.testing import Interrupt, InterruptFit


def _config(epochs):
    config = recipe_defaults.smoke(recipe_defaults.base_config())
    config.train.epochs = epochs
    config.train.steps_per_epoch = 2
    return config


def test_the_count_is_saved_as_it_runs_and_goes_when_the_call_ends(tmp_path):
    with run_clock.RunClock(tmp_path, interval=0.02) as clock:
        deadline = time.monotonic() + 10
        while not (tmp_path / run_clock.CLOCK_FILE).exists():
            assert time.monotonic() < deadline, "the clock never saved its count"
            time.sleep(0.01)
        saved = json.loads((tmp_path / run_clock.CLOCK_FILE).read_text())["seconds"]
        assert 0 < saved <= clock.seconds()
    assert not (tmp_path / run_clock.CLOCK_FILE).exists()


def test_a_failed_call_leaves_its_count_for_the_next(tmp_path):
    with pytest.raises(RuntimeError), run_clock.RunClock(tmp_path, since=time.perf_counter() - 5):
        raise RuntimeError("killed")
    assert run_clock.recorded_seconds(tmp_path) >= 5
    with run_clock.RunClock(tmp_path) as clock:
        assert clock.seconds() >= 5
    # A finished run's own figure wins over a clock file a kill left behind.
    (tmp_path / "metrics.json").write_text(json.dumps({"wall_seconds": 2.0}))
    (tmp_path / run_clock.CLOCK_FILE).write_text(json.dumps({"seconds": 99.0}))
    assert run_clock.recorded_seconds(tmp_path) == 2.0
    (tmp_path / "metrics.json").write_text("not json")
    assert run_clock.recorded_seconds(tmp_path) == 0.0


def test_a_resumed_run_reports_the_seconds_of_the_call_that_was_killed(tmp_path):
    with pytest.raises(Interrupt):
        train.train_and_evaluate(_config(epochs=2), tmp_path, callbacks=[InterruptFit(0, epoch=0)])
    killed = run_clock.recorded_seconds(tmp_path)
    assert killed > 0  # the hidden clock file, kept with the backup it belongs to
    start = time.perf_counter()
    metrics = train.train_and_evaluate(_config(epochs=2), tmp_path)
    resumed = time.perf_counter() - start
    assert metrics["epochs_run_this_time"] == 1
    assert killed + 0.5 * resumed < metrics["wall_seconds"] <= killed + resumed + 0.1
    assert not (tmp_path / run_clock.CLOCK_FILE).exists()


def test_an_overwritten_run_does_not_count_the_seconds_of_the_run_it_replaced(tmp_path):
    train.train_and_evaluate(_config(epochs=1), tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"wall_seconds": 1000.0}))
    changed = _config(epochs=1)
    changed.train.base_learning_rate = 0.01
    metrics = train.train_and_evaluate(changed, tmp_path, overwrite=True)
    assert metrics["wall_seconds"] < 1000
