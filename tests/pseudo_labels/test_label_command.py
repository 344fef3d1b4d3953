import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from kerasssl import recipe_defaults
from kerasssl.models import get_model
from kerasssl.pseudo_labels import load_probabilities
from kerasssl.pseudo_labels.label_split import label_split

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _cli(*arguments):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "kerasssl.cli", *arguments],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
def test_label_command_writes_the_shards_of_a_trained_teacher(tmp_path):
    workdir = tmp_path / "run"
    recipe = ["--config=supervised_digits:smoke", "--config.data.labels_per_class=5"]
    trained = _cli("train", *recipe, f"--workdir={workdir}")
    assert trained.returncode == 0, trained.stderr[-3000:]
    labeled = _cli("label", f"--workdir={workdir}")  # the workdir's config.json and model
    assert labeled.returncode == 0, labeled.stderr[-3000:]
    assert "num_shards: 1" in labeled.stdout
    assert (workdir / "pseudo_labels" / "manifest.json").is_file()
    on_beam = _cli(
        "label",
        f"--workdir={tmp_path}/beam",
        f"--teacher={workdir}/model.keras",
        *recipe,
        "--runner=direct",
    )
    assert on_beam.returncode == 0, on_beam.stderr[-3000:]
    assert "runner: direct" in on_beam.stdout and "num_shards: 1" in on_beam.stdout
    wrong = _cli("train", *recipe, f"--workdir={workdir}", "--runner=direct")
    assert wrong.returncode == 2 and "--runner applies to `kerasssl label` only" in wrong.stderr
    missing = _cli("label", *recipe, f"--workdir={workdir}", f"--teacher={tmp_path}/none.keras")
    assert missing.returncode == 2 and "--teacher" in missing.stderr


def test_label_split_labels_the_recipe_pool_and_names_the_fixes(tmp_path):
    config = recipe_defaults.base_config()  # digits
    teacher = get_model("resnet_tiny", num_classes=10, input_shape=(8, 8, 1))
    teacher.save(tmp_path / "teacher.keras")
    with pytest.raises(ValueError, match="labels_per_class"):
        label_split(config, tmp_path, tmp_path / "teacher.keras")
    config.data.labels_per_class = 5
    with pytest.raises(FileNotFoundError, match="--teacher"):
        label_split(config, tmp_path)
    manifest = label_split(config, tmp_path, tmp_path / "teacher.keras", shard_size=500)
    probabilities = load_probabilities(tmp_path / "pseudo_labels")
    assert probabilities.shape == (manifest["num_images"], 10) and manifest["num_shards"] == 3
    assert manifest["num_images"] == 1437 - 144 - 50  # train - validation - labeled


def test_label_split_with_another_teacher_names_a_new_workdir(tmp_path):
    config = recipe_defaults.base_config()  # digits
    config.data.labels_per_class = 5
    for name in ("first", "second"):  # two initialisations: two teachers
        get_model("resnet_tiny", num_classes=10, input_shape=(8, 8, 1)).save(
            tmp_path / f"{name}.keras"
        )
    label_split(config, tmp_path, tmp_path / "first.keras", shard_size=500)
    first = load_probabilities(tmp_path / "pseudo_labels")
    with pytest.raises(ValueError, match="another teacher.*new --workdir"):
        label_split(config, tmp_path, tmp_path / "second.keras", shard_size=500)
    np.testing.assert_array_equal(load_probabilities(tmp_path / "pseudo_labels"), first)
    # The same teacher again is the same job: its labels, not an error.
    label_split(config, tmp_path, tmp_path / "first.keras", shard_size=500)


def test_label_split_on_beam_selects_the_recipe_pseudo_labels(tmp_path):
    pytest.importorskip("apache_beam")
    from kerasssl.experiments.teacher_student_config import billion_scale_section
    from kerasssl.pseudo_labels import beam_labeling, beam_selection

    config = recipe_defaults.base_config()  # digits
    config.data.labels_per_class = 5
    config.algorithm = "billion_scale"
    config.billion_scale = billion_scale_section()
    config.billion_scale.k = 10
    teacher = get_model("resnet_tiny", num_classes=10, input_shape=(8, 8, 1))
    teacher.save(tmp_path / "teacher.keras")
    with pytest.raises(ValueError, match="--runner=direct"):
        label_split(config, tmp_path, tmp_path / "teacher.keras", pool=tmp_path / "shards")
    summary = label_split(
        config, tmp_path, tmp_path / "teacher.keras", shard_size=500, runner="direct"
    )
    assert summary["num_images"] == 1243 and summary["num_shards"] == 3
    assert summary["selection"] == "top_k_per_class" and summary["runner"] == "direct"
    _, probabilities = beam_labeling.load_soft_labels(tmp_path / "pseudo_labels")
    assert probabilities.shape == (1243, 10)
    selection = beam_selection.read_selection(tmp_path / "pseudo_labels", 10)
    assert len(selection) == summary["num_selected"] > 0
    # The pool written for it labels again from --pool: the same job, nothing relabeled.
    again = label_split(
        config,
        tmp_path,
        tmp_path / "teacher.keras",
        runner="direct",
        pool=tmp_path / "unlabeled_pool",
    )
    assert again == summary
