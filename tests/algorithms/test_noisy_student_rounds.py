import json

import pytest

from kerasssl import train
from kerasssl.algorithms import class_counts
from kerasssl.experiments import noisy_student
from kerasssl.experiments.teacher_student_config import round_student
from kerasssl.models import get_model
from kerasssl.testing import recipe_config


# Long: two rounds, then a resume (the default tier runs one round end to end in
# tests/experiments/test_progress.py and a killed round-1 resume in tests/test_resume.py).
@pytest.mark.long
def test_two_rounds_keep_every_round_and_a_killed_run_resumes_at_the_unfinished_one(tmp_path):
    config = recipe_config("noisy_student_digits")
    config.train.verbose = "0"
    # A wider round-2 student (the smoke students are resnet_tiny at width 0.125).
    config.noisy_student.round_students.round_2 = round_student(epochs=2, width_multiplier=0.25)
    metrics = train.train_and_evaluate(config, tmp_path)
    assert [entry["round"] for entry in metrics["rounds"]] == [1, 2]
    assert metrics["rounds"][1]["num_parameters"] > 2 * metrics["rounds"][0]["num_parameters"]
    epochs_run = [
        len((tmp_path / f"round_{index}" / "history.csv").read_text().splitlines()) - 1
        for index in (1, 2)
    ]
    assert epochs_run == [1, 2]  # smoke students train 1 epoch; round 2's entry says 2
    for entry in metrics["rounds"]:
        assert {"teacher_test_accuracy", "student_test_accuracy"} <= set(entry)
    assert metrics["rounds"][1]["teacher_test_accuracy"] == metrics["rounds"][0]["test_accuracy"]
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["student_test_accuracy_per_round"] == metrics["student_test_accuracy_per_round"]
    for folder in ("round_0", "round_1", "round_2"):
        assert (tmp_path / folder / "model.keras").is_file()
    assert (tmp_path / "round_1" / "pseudo_labels" / "manifest.json").is_file()
    # Kill during round 2: its model and metrics are missing; round 1 must not be redone.
    round_1_time = (tmp_path / "round_1" / "model.keras").stat().st_mtime_ns
    (tmp_path / "round_2" / "model.keras").unlink()
    (tmp_path / "round_2" / "metrics.json").unlink()
    resumed = train.train_and_evaluate(config, tmp_path)
    assert (tmp_path / "round_1" / "model.keras").stat().st_mtime_ns == round_1_time
    assert resumed["rounds"][1]["round"] == 2
    assert resumed["test_accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_bad_recipe_values_name_the_fix(tmp_path):
    config = recipe_config("noisy_student_digits")
    config.data.labels_per_class = 0
    with pytest.raises(ValueError, match="labels_per_class"):
        train.train_and_evaluate(config, tmp_path / "a")
    with pytest.raises(ValueError, match="num_classes=10"):
        class_counts.check_same_classes(
            get_model("resnet_tiny", num_classes=10, input_shape=(8, 8, 1)),
            get_model("resnet_tiny", num_classes=5, input_shape=(8, 8, 1)),
        )


def test_round_students_update_the_student_model_and_epochs_per_round():
    config = recipe_config("noisy_student_cifar10", None)
    section = config.noisy_student
    section.round_students.round_2 = round_student(epochs=15, width_multiplier=0.5)
    first = noisy_student.student_model_config(config, 1)
    second = noisy_student.student_model_config(config, 2)
    assert first.name == second.name == "resnet_cifar_small"
    assert "width_multiplier" not in first.kwargs
    # The round's kwargs update the base ones: the noise settings carry over.
    assert second.kwargs.to_dict() == {**first.kwargs.to_dict(), "width_multiplier": 0.5}
    assert noisy_student.student_epochs(config, 1) == section.student_epochs
    assert noisy_student.student_epochs(config, 2) == 15
    section.round_students.round_2 = round_student("wrn_tiny")
    assert noisy_student.student_model_config(config, 2).name == "wrn_tiny"
    assert noisy_student.student_epochs(config, 2) == section.student_epochs
    section.round_students.round_3 = round_student("wrn_tiny")
    with pytest.raises(ValueError, match="round_1 ... round_2"):
        noisy_student.student_model_config(config, 1)


def test_a_student_smaller_than_its_teacher_warns():
    teacher = get_model("resnet_tiny", num_classes=10, input_shape=(8, 8, 1), width_multiplier=0.25)
    student = get_model("resnet_tiny", num_classes=10, input_shape=(8, 8, 1))
    with pytest.warns(UserWarning, match="equal-or-larger"):
        noisy_student._warn_if_smaller(teacher, student, 1)
