"""Multi-phase runs say which phase they are in, and say nothing at verbose=0."""

import ml_collections
import pytest

from kerasssl import train
from kerasssl.experiments import progress
from kerasssl.testing import recipe_config


def _recipe_config(name):
    config = recipe_config(name)
    if config.data.source != "digits":  # the CIFAR-10 recipes, on the built-in data
        config.data.source, config.data.root = "digits", ""
    config.train.verbose = "1"
    return config


def _train_config(verbose):
    return ml_collections.ConfigDict({"train": {"verbose": verbose}})


@pytest.mark.parametrize(
    "verbose, fit, bar", [("auto", "auto", 1), ("0", 0, 0), (0, 0, 0), ("1", 1, 1), ("2", 2, 0)]
)
def test_verbosity_reaches_keras_as_it_expects(verbose, fit, bar, capsys):
    config = _train_config(verbose)
    # The command line gives strings: "0" must be quiet, not a true value.
    assert progress.fit_verbosity(config.train) == fit
    assert progress.progress_bar_verbosity(config.train) == bar
    progress.banner(config, "phase")
    assert capsys.readouterr().out == ("" if fit == 0 else "== phase\n")


def test_unknown_verbosity_is_named():
    with pytest.raises(ValueError, match="config.train.verbose"):
        progress.fit_verbosity(_train_config("loud").train)


def test_noisy_student_prints_a_banner_per_phase(tmp_path, capsys):
    config = _recipe_config("noisy_student_digits")
    config.noisy_student.rounds = 1
    config.noisy_student.round_students = {}
    metrics = train.train_and_evaluate(config, tmp_path / "run")
    printed = capsys.readouterr().out
    round_1 = metrics["rounds"][0]
    banners = [line for line in printed.splitlines() if line.startswith("== ")]
    assert banners == [
        "== Noisy Student teacher (round 0) on 50 labels",
        "== Noisy Student round 1 of 1: the round-0 model labels 1243 unlabeled images",
        "== Noisy Student round 1 of 1: student resnet_tiny on 50 labels + "
        f"{round_1['num_pseudo_labeled']} pseudo-labels, 1 epoch",
    ]
    assert "1243/1243" in printed  # the labeling job's progress bar

    train.train_and_evaluate(config, tmp_path / "run")
    banners = [line for line in capsys.readouterr().out.splitlines() if line.startswith("== ")]
    assert banners == [
        "== Noisy Student teacher (round 0) on 50 labels: finished in an earlier run, test "
        f"accuracy {metrics['teacher_test_accuracy']:.4f}",
        "== Noisy Student round 1 of 1: finished in an earlier run, test accuracy "
        f"{round_1['test_accuracy']:.4f}",
    ]


@pytest.mark.slow  # about 3 minutes on 2 busy cores
def test_billion_scale_and_meta_pseudo_labels_print_a_banner_per_phase(tmp_path, capsys):
    train.train_and_evaluate(_recipe_config("billion_scale_cifar10"), tmp_path / "billion")
    banners = [line for line in capsys.readouterr().out.splitlines() if line.startswith("== ")]
    assert [banner.split(" on ")[0] for banner in banners] == [
        "== billion-scale teacher",
        "== billion-scale: the teacher labels 793 images",
        "== billion-scale student pre-trained",
        "== billion-scale student fine-tuned",
    ]
    train.train_and_evaluate(_recipe_config("mpl_cifar10"), tmp_path / "mpl")
    banners = [line for line in capsys.readouterr().out.splitlines() if line.startswith("== ")]
    assert banners == [
        "== Meta Pseudo Labels: teacher and student together on 500 labels and 793 unlabeled "
        "images",
        "== Meta Pseudo Labels: the student fine-tuned on 500 labels",
    ]
