"""kerasssl.equal_time: a baseline sized by another run's wall clock, kept across reruns."""

import json

import pytest

from kerasssl import equal_time
from kerasssl.testing import smoke_config


def test_equal_time_epochs_are_whole_epochs_of_the_baseline_pace():
    # 2 baseline epochs took 50 s: a 300 s method buys 12 of them.
    assert equal_time.equal_time_epochs(300.0, 50.0, 2) == 12
    assert equal_time.equal_time_epochs(305.0, 50.0, 2) == 12  # 12.2 rounds to 12
    assert equal_time.equal_time_epochs(1.0, 50.0, 2) == 1  # at least one epoch
    with pytest.raises(ValueError, match="wall_seconds"):
        equal_time.equal_time_epochs(300.0, 0.0, 2)


def test_the_budget_is_chosen_once_and_kept_beside_the_run(tmp_path):
    baseline = smoke_config("supervised_digits")
    baseline.train.epochs, baseline.train.steps_per_epoch = 2, 0  # whole passes
    folder = tmp_path / "ce_time_of_dividemix" / "seed_0"
    config = equal_time.equal_time_config(baseline, 50.0, 300.0, folder)
    assert config.train.epochs == 12 and baseline.train.epochs == 2
    path = equal_time.budget_path(folder)
    assert path == tmp_path / "ce_time_of_dividemix" / "seed_0.budget.json"
    assert json.loads(path.read_text())["steps"] is None
    # A rerun, whose finished method run reports more seconds, keeps the first budget.
    assert equal_time.equal_time_config(baseline, 50.0, 900.0, folder).train.epochs == 12
    assert not folder.exists()


def test_a_run_without_wall_seconds_is_named():
    assert equal_time.recorded_seconds({"wall_seconds": 3}, "fixmatch", 0) == 3.0
    with pytest.raises(ValueError, match="fixmatch run of seed 1 has no wall_seconds"):
        equal_time.recorded_seconds({}, "fixmatch", 1)


def test_seconds_from_two_machines_do_not_size_a_budget():
    fast, slow = "Xeon, 2 cores, AMX", "EPYC, 2 cores, no AMX"
    one = {"wall_seconds": 10.0, "wall_machines": [fast]}
    assert equal_time.timed_seconds({"supervised": one, "fixmatch": one}, 0) == {
        "supervised": 10.0,
        "fixmatch": 10.0,
    }
    older = {"wall_seconds": 20.0}  # from before wall_machines: taken as it is
    assert equal_time.timed_seconds({"supervised": one, "mpl": older}, 0)["mpl"] == 20.0
    resumed_elsewhere = {"wall_seconds": 30.0, "wall_machines": [fast, slow]}
    with pytest.raises(ValueError, match="fixmatch run of seed 2 was timed on 2 machines"):
        equal_time.timed_seconds({"supervised": one, "fixmatch": resumed_elsewhere}, 2)
    other = {"wall_seconds": 30.0, "wall_machines": [slow]}
    with pytest.raises(ValueError, match="different machines .*same machine"):
        equal_time.timed_seconds({"supervised": one, "fixmatch": other}, 0)
