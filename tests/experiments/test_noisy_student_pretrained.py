"""noisy_student_cifar10:pretrained: the teacher and every student start from the given weights."""

import pathlib

import keras
import numpy as np
import pytest

from kerasssl import train
from kerasssl.experiments import context as shared
from kerasssl.experiments.noisy_student import student_model_config
from kerasssl.testing import recipe_config

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "noisy_student_cifar10.py"


def _config(arg="pretrained"):
    return recipe_config(RECIPE, arg)


def _backbone_file(tmp_path, application):
    source = getattr(keras.applications, application)(weights=None, include_top=False)
    path = tmp_path / f"{application}.weights.h5"
    source.save_weights(path)
    return source, path


def test_teacher_starts_from_the_pretrained_backbone_with_a_new_head(tmp_path):
    config = _config()
    assert dict(config.model.kwargs) == {"weights": "imagenet", "include_top": False}
    assert student_model_config(config, 2).name == "efficientnet_b1"  # a growing student
    source, path = _backbone_file(tmp_path, "EfficientNetB0")
    config.model.kwargs.weights = str(path)
    teacher = shared.build_model(config, 10, (32, 32, 3))
    assert teacher.output.shape[-1] == 10
    np.testing.assert_array_equal(
        teacher.get_layer("block15_project_conv").kernel,
        source.get_layer("block7a_project_conv").kernel,
    )


@pytest.mark.slow
def test_pretrained_variant_runs_a_round_offline(tmp_path):
    """A B0 teacher and a B0 student, one step each, from local weight files (~2 min of CPU)."""
    config = _config()
    _, b0 = _backbone_file(tmp_path, "EfficientNetB0")
    rng = np.random.default_rng(0)
    arrays = {
        f"{key}_{split}": value
        for split, count in (("train", 120), ("test", 20))
        for key, value in (
            ("x", rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)),
            ("y", np.arange(count) % 10),
        )
    }
    np.savez(tmp_path / "data.npz", **arrays)
    config.data.source, config.data.path = "npz", str(tmp_path / "data.npz")
    config.data.labels_per_class = 5
    config.data.validation_size = 0
    config.model.kwargs.weights = str(b0)
    config.noisy_student.student_model.kwargs.weights = str(b0)
    config.noisy_student.rounds = 1
    del config.noisy_student.round_students["round_2"]
    config.noisy_student.confidence_threshold = 0.0
    config.noisy_student.images_per_class = 4
    config.train.epochs, config.train.steps_per_epoch, config.train.batch_size = 1, 1, 8
    config.train.warmup_epochs = 0
    config.train.verbose = "0"
    metrics = train.train_and_evaluate(config, tmp_path / "run")
    assert len(metrics["rounds"]) == 1 and 0.0 <= metrics["test_accuracy"] <= 1.0
