"""tools/compare_ssl.py at smoke size: one table, the same labeled split for every method."""

import math

import pytest


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("compare_ssl")


def _check_rows(tool, rows, methods):
    assert [row["method"] for row in rows] == methods
    # One labeled split: every semi-supervised method saw the supervised baseline's labels.
    labeled = {row["labeled"] for row in rows if row["method"] != "all_labels"}
    assert len(labeled) == 1 and labeled.pop().startswith("50 (")  # 5 labels x 10 classes
    for row in rows:
        assert 0.0 <= row["test_accuracy"] <= 1.0 and row["minutes"] > 0
    table = tool.format_table(rows)
    assert len(table.splitlines()) == len(rows) + 2
    for method in methods:
        assert f"| {method} |" in table


# Long: three smoke runs (the default tier checks the table's arithmetic and the budget).
@pytest.mark.long
def test_smoke_comparison_prints_one_table(tool, tmp_path):
    rows = tool.compare(
        "digits", tmp_path, methods=("fixmatch", "supervised"), smoke=True, equal_time=True
    )
    _check_rows(tool, rows, ["supervised", "fixmatch", "supervised_time_of_fixmatch"])
    assert rows[0]["algorithm"] == "supervised" and rows[1]["algorithm"] == "fix_match"
    assert rows[2]["algorithm"] == "supervised"
    assert (tmp_path / "supervised_time_of_fixmatch" / "seed_0.budget.json").exists()


def test_gap_closed_is_the_fraction_of_the_labeled_to_all_labels_gap(tool):
    rows = [
        {"method": "all_labels", "test_accuracy": 0.9},
        {"method": "supervised", "test_accuracy": 0.5},
        {"method": "fixmatch", "test_accuracy": 0.8},
    ]
    tool.add_gap_closed(rows)
    assert [row["gap_closed"] for row in rows] == pytest.approx([1.0, 0.0, 0.75])
    alone = [{"method": "fixmatch", "test_accuracy": 0.8}]
    tool.add_gap_closed(alone)
    assert math.isnan(alone[0]["gap_closed"])


@pytest.mark.slow  # five methods, Noisy Student's labeling and MPL's two networks
def test_smoke_comparison_of_all_five_methods(tool, tmp_path):
    rows = tool.compare("digits", tmp_path, smoke=True, steps=2, all_labels=True)
    _check_rows(tool, rows, ["all_labels", *tool.METHODS])
    assert rows[3]["algorithm"] == "fix_match" and rows[3]["steps"] == 2


def test_budget_sets_every_methods_steps(tool):
    for method in tool.METHODS:
        config = tool.method_config(method, "digits", seed=1, steps=400)
        assert config.train.epochs * config.train.steps_per_epoch == 400, method
        assert config.seed == 1 and config.data.labels_per_class == 5, method
    flex = tool.method_config("flexmatch", "digits", seed=0)
    assert flex.fix_match.threshold == "flex"
    # The split follows the seed, and only the seed.
    splits = {
        tool.labeled_split(tool.method_config(method, "digits", seed))
        for method in ("supervised", "mpl")
        for seed in (0, 1)
    }
    assert len(splits) == 2


def test_bad_arguments_are_named(tool, tmp_path):
    with pytest.raises(ValueError, match="--methods"):
        tool.compare("digits", tmp_path, methods=("pi_model",))
    with pytest.raises(ValueError, match="--root"):
        tool.compare("cifar10", tmp_path)
    with pytest.raises(ValueError, match="multiple of 40"):
        tool.method_config("billion_scale", "digits", seed=0, steps=300)


def test_equal_time_runs_keep_the_budget_they_were_given(tool, tmp_path, monkeypatch):
    """The supervised runs are sized by the methods' wall clock, and a rerun, whose finished runs
    report more seconds, resumes the same equal-time runs instead of resizing them."""
    calls, untimed = [], []

    def fake_run(config, folder):
        calls.append((folder.parent.name, config.train.epochs * config.train.steps_per_epoch))
        seconds = {"supervised": 10.0, "fixmatch": 30.0}.get(folder.parent.name, 1.0)
        seconds += len(calls)
        metrics = {"test_accuracy": 0.5, "validation_accuracy": 0.5, "wall_seconds": seconds}
        if folder.parent.name == "fixmatch" and untimed:
            del metrics["wall_seconds"]
        return metrics, seconds

    monkeypatch.setattr(tool, "run_one", fake_run)
    methods = ("fixmatch", "supervised")
    tool.compare("digits", tmp_path / "plain", methods=methods, steps=100)
    assert [name for name, _ in calls] == ["supervised", "fixmatch"]  # no equal-time run
    calls.clear()
    rows = tool.compare("digits", tmp_path, methods=methods, steps=100, equal_time=True)
    assert [row["method"] for row in rows] == [
        "supervised", "fixmatch", "supervised_time_of_fixmatch"
    ]  # fmt: skip
    # supervised: 100 steps in 11 s; fixmatch 32 s -> 291 steps -> 300 (whole epochs of 50).
    assert calls == [("supervised", 100), ("fixmatch", 100), ("supervised_time_of_fixmatch", 300)]
    calls.clear()
    tool.compare("digits", tmp_path, methods=methods, steps=100, equal_time=True)
    assert calls[-1] == ("supervised_time_of_fixmatch", 300)
    with pytest.raises(ValueError, match="add supervised"):
        tool.compare("digits", tmp_path, methods=("fixmatch",), equal_time=True)
    # A run from before metrics.json had wall_seconds cannot set a budget.
    untimed.append(True)
    with pytest.raises(ValueError, match="fixmatch run of seed 0 has no wall_seconds"):
        tool.compare("digits", tmp_path / "old", methods=methods, steps=100, equal_time=True)
