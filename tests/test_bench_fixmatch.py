"""tools/bench_fixmatch.py on a tiny network: the step counts and the ratio it reports."""

import pytest


def test_reports_fixmatch_step_against_supervised_images(load_tool):
    tool = load_tool("bench_fixmatch")
    result = tool.measure("resnet_tiny", 2, 3, 0, rounds=2, steps=2, image_size=8)
    assert result["images_per_fixmatch_step"] == 14 and result["supervised_batch_size"] == 14
    assert result["timed_steps_each"] == 2  # the warm-up round is dropped
    wanted = result["fixmatch_seconds_per_step"] / (14 * result["supervised_seconds_per_image"])
    assert result["ratio_to_supervised"] == pytest.approx(wanted, rel=0.01)
