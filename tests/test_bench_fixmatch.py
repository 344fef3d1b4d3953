"""tools/bench_fixmatch.py on a tiny network: the step counts and the ratio it reports."""

import importlib.util
import pathlib

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "bench_fixmatch.py"


def test_reports_fixmatch_step_against_supervised_images():
    spec = importlib.util.spec_from_file_location("bench_fixmatch", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    result = tool.measure("resnet_tiny", 2, 3, 0, rounds=2, steps=2, image_size=8)
    assert result["images_per_fixmatch_step"] == 14 and result["supervised_batch_size"] == 14
    assert result["timed_steps_each"] == 2  # the warm-up round is dropped
    wanted = result["fixmatch_seconds_per_step"] / (14 * result["supervised_seconds_per_image"])
    assert result["ratio_to_supervised"] == pytest.approx(wanted, rel=0.01)
