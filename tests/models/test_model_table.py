"""tools/model_table.py: JSON-only stdout, counts equal to the models', paper figures."""

import json
import pathlib
import subprocess
import sys

import pytest

from kerasssl.models import efficient_net, mlp_mixer

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "model_table.py"


def run_tool(*args):
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("model_table")


def test_json_format_prints_only_a_json_list():
    result = run_tool("--format=json", "--models=efficientnet_tiny,mixer_tiny")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)  # fails on any other text on stdout
    assert [row["name"] for row in rows] == ["efficientnet_tiny", "mixer_tiny"]
    for row, module in zip(rows, (efficient_net, mlp_mixer), strict=True):
        assert set(row) == {"name", "params", "flops"}
        config = {**module.PRESETS[row["name"]]["config"], "num_classes": 1000}
        size = module.analytic_size(**config)
        assert (row["params"], row["flops"]) == (size.params, size.flops)


def test_every_preset_is_listed(tool):
    names = list(tool.all_presets())
    for module in (efficient_net, mlp_mixer):
        assert set(module.PRESETS) <= set(names)
    assert "resnet50" in names and "wrn_28_2" in names


def test_text_format_and_pattern_selection(tool):
    rows = tool.model_table(["mixer_t*"])
    assert [row["name"] for row in rows] == ["mixer_tiny"]
    text = tool.format_text(rows)
    assert "mixer_tiny" in text and "32x32" in text and f"{rows[0]['params']:,}" in text


def test_unknown_pattern_fails_listing_valid_names(tool):
    with pytest.raises(ValueError, match="matches no preset.*efficientnet_b0"):
        tool.model_table(["nonexistent_net"])


@pytest.mark.slow
def test_full_table_matches_papers():
    """The whole table (every preset built at native size): about a minute."""
    result = run_tool("--format=json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    paper = {
        "efficientnet_b0": (5.3e6, 0.39e9),
        "efficientnet_b1": (7.8e6, 0.70e9),
        "efficientnet_b2": (9.2e6, 1.0e9),
        "efficientnet_b3": (12e6, 1.8e9),
        "efficientnet_b6": (43e6, 19e9),
        "efficientnet_b7": (66e6, 37e9),
        "resnet50_a": (25e6, 3.8e9),
        "resnet50": (25e6, 4.1e9),
        "resnet50_c": (25e6, 4.3e9),
        "resnet50_d": (25e6, 4.3e9),
    }  # B4/B5 FLOPs: see test_efficient_net.PAPER_FLOPS_OUTLIERS.
    for name, (params, flops) in paper.items():
        assert rows[name]["params"] == pytest.approx(params, rel=0.03), name
        assert rows[name]["flops"] == pytest.approx(flops, rel=0.03), name
    for name in ("mixer_s16", "mixer_b16", "mixer_l16", "mixer_s32", "mixer_b32", "mixer_l32"):
        expected = mlp_mixer.analytic_size(**mlp_mixer.PRESETS[name]["config"]).params
        assert rows[name]["params"] == expected
