"""tools/results_table.py: run folders -> the README's table (rows, seeds, gap, extras, chart)."""

import json
import pathlib
import subprocess
import sys

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "results_table.py"


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("results_table")


def write_run(folder, algorithm="supervised", seed=0, history=None, **metrics):
    folder.mkdir(parents=True)
    config = {
        "algorithm": algorithm,
        "seed": seed,
        "model": {"name": "resnet_tiny"},
        "train": {"epochs": 2},
        "data": {"noise": {"type": "symmetric", "rate": 0.0}},
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "metrics.json").write_text(json.dumps({"num_labeled": 500, **metrics}))
    if history:
        rows = ["epoch,val_accuracy"] + [f"{i},{value}" for i, value in enumerate(history)]
        (folder / "history.csv").write_text("\n".join(rows) + "\n")


def test_seeds_form_one_row_phases_and_unfinished_runs_are_not_rows(tool, tmp_path):
    write_run(
        tmp_path / "supervised" / "seed_0", test_accuracy=0.40, wall_seconds=60,
        wall_machines=["Xeon, 2 cores, AMX"],
    )  # fmt: skip
    write_run(
        tmp_path / "supervised" / "seed_1", seed=1, test_accuracy=0.44, wall_seconds=120,
        wall_machines=["EPYC, 2 cores, no AMX"],
    )  # fmt: skip
    write_run(tmp_path / "all_labels" / "seed_0", test_accuracy=0.70)
    write_run(
        tmp_path / "noisy" / "seed_0", "noisy_student", test_accuracy=0.52,
        teacher_test_accuracy=0.41,
    )  # fmt: skip
    # A phase inside a run is part of it; a run without metrics.json has not finished.
    write_run(tmp_path / "noisy" / "seed_0" / "round_1", test_accuracy=0.99)
    (tmp_path / "killed").mkdir()
    (tmp_path / "killed" / "config.json").write_text("{}")

    rows = {row["name"]: row for row in tool.build_rows([tmp_path])}
    assert sorted(rows) == ["all_labels", "noisy", "supervised"]
    supervised = rows["supervised"]
    assert supervised["seeds"] == [0, 1] and supervised["test_accuracy"] == pytest.approx(0.42)
    assert supervised["spread"] == pytest.approx(0.02) and supervised["minutes"] == 1.5
    assert rows["noisy"]["extras"] == {"teacher_test_accuracy": 0.41}

    tool.add_gap_closed(list(rows.values()), "supervised", "all_labels")
    assert rows["noisy"]["gap_closed"] == pytest.approx((0.52 - 0.42) / (0.70 - 0.42))
    table = tool.format_table(list(rows.values()))
    assert "| noisy | noisy_student |" in table and "teacher 0.410" in table
    assert "0.420 ± 0.020" in table
    assert tool.machines_note(list(rows.values())).splitlines() == [
        "minutes measured on EPYC, 2 cores, no AMX: supervised",
        "minutes measured on Xeon, 2 cores, AMX: supervised",
    ]


def test_best_and_last_epoch_split_auc_and_old_runs_fit_time(tool, tmp_path):
    write_run(
        tmp_path / "ce", test_accuracy=0.38, history=[0.30, 0.45, 0.36],
        train_seconds_this_run=30.0, epochs_run_this_time=2,
    )  # fmt: skip
    write_run(
        tmp_path / "dividemix", "divide_mix", test_accuracy=0.5,
        per_epoch=[{"auc_1": 0.8, "auc_2": 0.9}, {"auc_1": 0.92, "auc_2": 0.94}],
    )  # fmt: skip
    rows = {row["name"]: row for row in tool.build_rows([tmp_path])}
    assert rows["ce"]["best_last"] == (0.45, 0.36) and rows["ce"]["minutes"] == 0.5
    assert rows["dividemix"]["extras"]["split AUC"] == pytest.approx(0.93)


def test_command_prints_the_table_writes_the_chart_and_names_a_missing_row(tmp_path):
    write_run(tmp_path / "runs" / "supervised" / "seed_0", test_accuracy=0.4)
    chart = tmp_path / "chart.png"
    command = [sys.executable, str(TOOL), str(tmp_path / "runs")]
    result = subprocess.run([*command, f"--chart={chart}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "| supervised | supervised |" in result.stdout and chart.stat().st_size > 0
    result = subprocess.run([*command, "--baseline=nope"], capture_output=True, text=True)
    assert result.returncode != 0 and "no row named 'nope'" in result.stderr
    result = subprocess.run([*command[:2], str(tmp_path / "empty")], capture_output=True, text=True)
    assert result.returncode != 0 and "is not a folder" in result.stderr
