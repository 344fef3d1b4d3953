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


def _write(path, value):
    path.write_text(json.dumps(value))


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
    assert run_clock.recorded_seconds(tmp_path)[0] >= 5
    with run_clock.RunClock(tmp_path) as clock:
        assert clock.seconds() >= 5
    # A new run (not resuming) counts from zero whatever an earlier one left.
    _write(tmp_path / run_clock.CLOCK_FILE, {"seconds": 99.0})
    with run_clock.RunClock(tmp_path, resuming=False) as clock:
        assert clock.seconds() < 5


def test_what_the_files_say_the_run_cost(tmp_path):
    assert run_clock.recorded_seconds(tmp_path) == (0.0, False)  # a new run
    _write(tmp_path / run_clock.CLOCK_FILE, {"seconds": 99.0})
    assert run_clock.recorded_seconds(tmp_path) == (99.0, False)  # killed calls
    # `kerasssl evaluate` on a killed run writes a metrics.json without wall_seconds: the
    # killed calls still count.
    _write(tmp_path / "metrics.json", {"test_accuracy": 0.5})
    assert run_clock.recorded_seconds(tmp_path) == (99.0, False)
    _write(tmp_path / "metrics.json", {"wall_seconds": 2.0})
    assert run_clock.recorded_seconds(tmp_path) == (2.0, True)  # finished: its own figure
    (tmp_path / run_clock.CLOCK_FILE).unlink()
    _write(tmp_path / "metrics.json", {"test_accuracy": 0.5})
    assert run_clock.recorded_seconds(tmp_path) == (None, False)  # from before wall_seconds
    with run_clock.RunClock(tmp_path) as clock:
        assert clock.seconds() is None


def test_the_count_names_its_machines(tmp_path):
    assert "cores" in run_clock.machine()
    _write(tmp_path / run_clock.CLOCK_FILE, {"seconds": 9.0, "machines": ["another machine"]})
    with pytest.raises(RuntimeError), run_clock.RunClock(tmp_path) as clock:
        assert clock.machines() == ["another machine", run_clock.machine()]
        raise RuntimeError("killed again")
    assert run_clock.recorded_machines(tmp_path) == ["another machine", run_clock.machine()]
    with run_clock.RunClock(tmp_path, resuming=False) as clock:
        assert clock.machines() == [run_clock.machine()]


def test_a_resumed_run_reports_the_seconds_of_the_call_that_was_killed(tmp_path):
    with pytest.raises(Interrupt):
        train.train_and_evaluate(_config(epochs=2), tmp_path, callbacks=[InterruptFit(0, epoch=0)])
    killed, finished = run_clock.recorded_seconds(tmp_path)
    assert killed > 0 and not finished  # the hidden clock file, kept with the backup
    start = time.perf_counter()
    metrics = train.train_and_evaluate(_config(epochs=2), tmp_path)
    resumed = time.perf_counter() - start
    assert metrics["epochs_run_this_time"] == 1
    assert killed + 0.5 * resumed < metrics["wall_seconds"] <= killed + resumed + 0.1
    assert metrics["wall_machines"] == [run_clock.machine()]
    assert not (tmp_path / run_clock.CLOCK_FILE).exists()


def test_a_new_or_overwritten_run_does_not_count_the_seconds_of_another(tmp_path):
    fresh = tmp_path / "fresh"
    fresh.mkdir()  # a folder holding only a stale clock file (`rm -rf run/*` keeps it)
    _write(fresh / run_clock.CLOCK_FILE, {"seconds": 1000.0})
    assert train.train_and_evaluate(_config(epochs=1), fresh)["wall_seconds"] < 1000
    _write(fresh / "metrics.json", {**json.loads((fresh / "metrics.json").read_text()),
                                    "wall_seconds": 1000.0})  # fmt: skip
    changed = _config(epochs=1)
    changed.train.base_learning_rate = 0.01
    metrics = train.train_and_evaluate(changed, fresh, overwrite=True)
    assert metrics["wall_seconds"] < 1000


def test_a_run_of_unknown_cost_gets_no_wall_seconds(tmp_path):
    """A finished run from before wall_seconds, re-entered: the last call's seconds are not
    its cost, so none are written (and equal-time budgets refuse it by name)."""
    train.train_and_evaluate(_config(epochs=1), tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    del metrics["wall_seconds"]
    _write(tmp_path / "metrics.json", metrics)
    again = train.train_and_evaluate(_config(epochs=1), tmp_path)
    assert "wall_seconds" not in again
    assert "wall_seconds" not in json.loads((tmp_path / "metrics.json").read_text())
