"""tools/bench_algorithms.py: every algorithm's step timed against its bound, tiny settings."""

import json
import pathlib
import subprocess
import sys

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "bench_algorithms.py"
ALGORITHMS = (
    "supervised",
    "distillation",
    "noisy_student",
    "mpl_first_order",
    "mpl_exact",
    "uda",
    "divide_mix",
)


def run_tool(tmp_path, *arguments):
    output = tmp_path / "table.json"
    tiny = [
        "--model=resnet_tiny", "--batch_size=2", "--unlabeled_ratio=1", "--image_size=8",
        "--steps=2", "--rounds=1", f"--json={output}",
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, str(TOOL), *tiny, *arguments], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = json.loads(output.read_text())
    return result.stdout, {row["algorithm"]: row for row in table["rows"]}


def test_bounds_count_the_passes_each_step_needs(load_tool):
    tool = load_tool("bench_algorithms")
    cases = {case.name: case for case in tool.cases("resnet_tiny", 4, 2, image_size=8)}
    assert tuple(cases) == ALGORITHMS
    assert cases["supervised"].units == 4 and cases["noisy_student"].units == 12
    assert cases["distillation"].units == pytest.approx(4 + 4 / 3)
    # Per network 4 B images with a gradient and 6 B forward-only, two networks.
    assert cases["divide_mix"].units == pytest.approx(32 + 48 / 3)
    # Teacher: labeled + strong need a gradient, weak does not; the codes run all three.
    assert cases["mpl_first_order"].units == pytest.approx(20 + 16 / 3)
    assert cases["mpl_first_order"].design_units == pytest.approx(32 + 4 / 3)
    for case in cases.values():
        assert case.design_units >= case.units, case.name


def test_the_tool_runs_with_tiny_settings(tmp_path):
    stdout, rows = run_tool(tmp_path, "--only=noisy_student")
    assert "| noisy_student |" in stdout and tuple(rows) == ("supervised", "noisy_student")
    assert rows["supervised"]["ratio"] == 1.0
    assert rows["noisy_student"]["seconds_per_step"] > 0 and rows["noisy_student"]["ratio"] > 0


@pytest.mark.slow
def test_every_algorithm_gets_a_ratio(tmp_path):
    # Traces all seven train steps: minutes on a busy 2-core machine.
    _, rows = run_tool(tmp_path)
    assert tuple(rows) == ALGORITHMS
    for row in rows.values():
        assert row["seconds_per_step"] > 0 and row["ratio"] > 0, row


def test_unknown_algorithm_is_named():
    result = subprocess.run(
        [sys.executable, str(TOOL), "--only=fixmatch_typo", "--model=resnet_tiny"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "fixmatch_typo" in result.stderr
