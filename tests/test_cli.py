"""The `kerasssl` command end to end: every recipe as smoke, overrides, evaluate, bad input."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from kerasssl import recipe_catalog
from kerasssl.testing import recipe_config

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CIFAR10_SUBSET = REPO_ROOT.parent / "shared" / "data" / "cifar10-subset"

RECIPES = sorted(
    path for path in (REPO_ROOT / "recipes").glob("*.py") if not path.name.startswith("_")
)


# TensorFlow's C++ chatter, which the command keeps out of stderr (kerasssl.tensorflow_logs).
TENSORFLOW_NOISE = re.compile(
    r"^[IWE]\d{4} .*\.cc:\d+\]|absl::InitializeLog|cpu_feature_guard|use_unbounded_threadpool",
    re.MULTILINE,
)


def run_cli(*arguments, check=True):
    # Without TF_CPP_MIN_LOG_LEVEL (conftest sets it for this process): the command's own
    # default is what a user gets.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "kerasssl.cli", *arguments],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def _data_overrides(path):
    config = recipe_config(path)
    if config.data.source == "tfds":
        # A subprocess cannot use tfds' mock data: these smokes run in-process on mock data.
        pytest.skip("tfds data: smoke-tested on mock data in tests/test_paper_presets.py")
    if config.data.source == "image_folder" and not config.data.root:
        if not CIFAR10_SUBSET.is_dir():
            pytest.skip(f"{CIFAR10_SUBSET} not found")
        return [f"--config.data.root={CIFAR10_SUBSET}"]
    return []


def assert_a_finished_run(result, workdir):
    """What every run through the command leaves: its files, its summary, no TensorFlow noise."""
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert (workdir / "model.keras").is_file()
    assert (workdir / "tensorboard").is_dir()
    assert json.loads((workdir / "config.json").read_text())["train"]["steps_per_epoch"] >= 1
    assert "test_accuracy" in result.stdout and str(workdir.resolve()) in result.stdout
    assert not TENSORFLOW_NOISE.search(result.stderr), result.stderr[-3000:]
    return metrics


# Every recipe's smoke through the command takes 10-55 s on 2 cores: they run with --run-long
# (CI does). The default suite runs the command's own path (flags, banners, files, no
# TensorFlow noise) once, in test_overrides_reach_the_run_..., and every algorithm's steps
# in-process.
@pytest.mark.long
@pytest.mark.parametrize("recipe", RECIPES, ids=[path.stem for path in RECIPES])
def test_every_recipe_runs_as_smoke_through_the_cli(recipe, tmp_path):
    workdir = tmp_path / "run"
    result = run_cli(
        "train", f"--config={recipe}:smoke", f"--workdir={workdir}", *_data_overrides(recipe)
    )
    assert_a_finished_run(result, workdir)


def test_recipe_docstrings_open_with_command_runtime_and_accuracy():
    for path in RECIPES:
        doc = recipe_catalog.load_module(path).__doc__ or ""
        assert "kerasssl train --config=recipes/" in doc, path.name
        assert "Runtime" in doc and "accuracy" in doc.lower(), path.name


def test_overrides_reach_the_run_and_evaluate_repeats_the_test_metric(tmp_path):
    workdir = tmp_path / "run"
    result = run_cli(
        "train",
        "--config=supervised_digits:smoke",  # a bare recipe name works too
        f"--workdir={workdir}",
        "--config.train.epochs=1",
        "--config.train.label_smoothing=0.1",
        "--config.data.labels_per_class=20",
    )
    metrics = assert_a_finished_run(result, workdir)
    config = json.loads((workdir / "config.json").read_text())
    assert config["train"]["epochs"] == 1 and config["train"]["label_smoothing"] == 0.1
    assert metrics["num_labeled"] == 200 and metrics["epochs_run_this_time"] == 1
    before = metrics["test_accuracy"]
    result = run_cli("evaluate", f"--workdir={workdir}")
    assert "test_accuracy" in result.stdout
    after = json.loads((workdir / "metrics.json").read_text())["test_accuracy"]
    assert after == pytest.approx(before, abs=1e-6)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["train", "--config=recipes/no_such_recipe.py"], "no recipe"),
        (["train", "--config=supervised_digits", "--config.train.epoch=3"], "no field train.epoch"),
        (["train", "--config=supervised_digits", "--config.train.epochs=many"], "epochs"),
        (["train", "--config=supervised_digits:bogus"], "'bogus'"),
        # One error raised once TensorFlow runs; the other config values' messages (data
        # source, labels_per_class, noise rate, unprepared tfds data) are the same ValueError
        # path, checked in-process (tests/test_train.py, tests/test_paper_presets.py).
        (["train", "--config=supervised_digits", "--config.model.name=resnet9000"], "resnet9000"),
        (["evaluate"], "--workdir"),
        (["fly", "--workdir=x"], "usage"),
    ],
)
def test_bad_command_lines_give_one_clear_error(arguments, message, tmp_path):
    arguments = [a if a != "--workdir=x" else f"--workdir={tmp_path}" for a in arguments]
    arguments = [a.replace("=DATA", f"={tmp_path / 'tensorflow_datasets'}") for a in arguments]
    if arguments[0] == "train":
        arguments.append(f"--workdir={tmp_path / 'run'}")
    result = run_cli(*arguments, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    # A run that failed before saving progress leaves no workdir for a rerun to misread.
    assert not (tmp_path / "run").exists()


def test_evaluate_on_an_empty_workdir_says_what_to_do(tmp_path):
    result = run_cli("evaluate", f"--workdir={tmp_path}", check=False)
    assert result.returncode == 2
    assert "train into it first" in result.stderr


def test_image_folder_recipe_without_root_names_the_field(tmp_path):
    result = run_cli(
        "train", "--config=supervised_cifar10:smoke", f"--workdir={tmp_path}", check=False
    )
    assert result.returncode == 2
    assert "--config.data.root=" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_module_has_no_stray_paths():
    text = (REPO_ROOT / "kerasssl" / "cli.py").read_text()
    assert "/work/" not in text and str(pathlib.Path.home()) not in text


def test_help_lists_commands_recipes_and_flags():
    result = run_cli("--help")
    assert "kerasssl train --config=" in result.stdout and "--workdir" in result.stdout
    assert "supervised_digits" in result.stdout
    assert result.stderr == ""


def test_a_changed_config_needs_overwrite_and_a_diverged_run_exits_non_zero(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    # A finished-looking run of the smoke recipe: only its config.json is compared.
    config = recipe_config(REPO_ROOT / "recipes" / "supervised_digits.py")
    (workdir / "config.json").write_text(config.to_json_best_effort(indent=2))
    (workdir / "metrics.json").write_text('{"test_accuracy": 0.5}\n')
    diverging = [
        "train",
        "--config=supervised_digits:smoke",
        f"--workdir={workdir}",
        "--config.train.base_learning_rate=1e6",
    ]
    result = run_cli(*diverging, check=False)
    assert result.returncode == 2, result.stderr[-3000:]
    learning_rate = config.train.base_learning_rate
    assert f"train.base_learning_rate: {learning_rate} -> 1000000.0" in result.stderr
    assert "--overwrite" in result.stderr and (workdir / "metrics.json").is_file()

    result = run_cli(*diverging, "--overwrite", check=False)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "training diverged" in result.stderr and "learning rate" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / "metrics.json").exists() and not (workdir / "model.keras").exists()


def test_misspelt_field_is_one_readable_line_with_a_suggestion(tmp_path):
    result = run_cli(
        "train",
        "--config=supervised_digits:smoke",
        "--config.train.epochz=3",
        f"--workdir={tmp_path}",
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "train.epochz" in result.stderr and "did you mean train.epochs?" in result.stderr
    assert "\\" not in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir()), "nothing is written before the command line is valid"


def test_recipes_command_lists_summaries_and_presets():
    result = run_cli("recipes")
    for path in RECIPES:
        assert f"{path.stem}: " in result.stdout, path.stem
    assert "    :smoke" in result.stdout and "    :ce_sym50" in result.stdout
    assert "Noisy Student on scikit-learn's digits with 5 labels per class" in result.stdout


def test_prepare_writes_shards_and_names_a_missing_output(tmp_path):
    output = tmp_path / "shards"
    result = run_cli(
        "prepare", "--config=supervised_digits", f"--output={output}", "--records_per_shard=400"
    )
    assert "train: " in result.stdout and "--config.data.source=shards" in result.stdout
    manifest = json.loads((output / "train" / "manifest.json").read_text())
    assert manifest["format"] == "kerasssl-shards/1" and len(manifest["shards"]) == 4
    missing = run_cli("prepare", "--config=supervised_digits", check=False)
    assert missing.returncode == 2 and "--output" in missing.stderr


@pytest.mark.slow
def test_train_on_prepared_shards(tmp_path):
    run_cli("prepare", "--config=supervised_digits", f"--output={tmp_path / 'shards'}")
    run_cli(
        "train",
        "--config=supervised_digits:smoke",
        "--config.data.source=shards",
        f"--config.data.root={tmp_path / 'shards'}",
        "--config.data.verify_checksums",
        f"--workdir={tmp_path / 'run'}",
    )
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] >= 0
