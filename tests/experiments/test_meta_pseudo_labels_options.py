"""The `config.meta_pseudo_labels` options taken from the authors' codes reach the algorithm."""

import types

import keras
import ml_collections
import numpy as np
import pytest

from kerasssl import recipe_defaults
from kerasssl.data.image_data import ImageData
from kerasssl.experiments import meta_pseudo_labels
from kerasssl.experiments.meta_pseudo_labels_config import meta_pseudo_labels_section


def _config(**section_fields):
    config = recipe_defaults.smoke(recipe_defaults.base_config())
    config.algorithm = "meta_pseudo_labels"
    config.meta_pseudo_labels = meta_pseudo_labels_section()
    config.meta_pseudo_labels.update(section_fields)
    return config


def _data():
    return types.SimpleNamespace(num_classes=3, input_shape=(8, 8, 3))


def _dropout_rates(model):
    return [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]


def test_defaults_are_the_codes_cifar10_values():
    section = meta_pseudo_labels_section()
    assert (section.mask_on, section.confidence_threshold, section.uda_temperature) == (
        "sharpened",
        0.6,
        0.7,
    )
    assert section.label_smoothing == 0.15 and section.unlabeled_includes_labeled
    assert (section.teacher_dropout_rate, section.student_dropout_rate) == (0.2, 0.2)
    assert section.uda_rampup_fraction * 300000 == pytest.approx(5000)
    assert section.student_wait_fraction * 300000 == pytest.approx(3000)
    assert (section.pseudo_label_view, section.mpl_logits_view) == ("strong", "strong")


def test_section_options_reach_the_algorithm_and_its_optimizers():
    config = _config(
        teacher_dropout_rate=0.3,
        student_dropout_rate=0.1,
        mask_on="plain",
        pseudo_label_view="weak",
        uda_rampup_fraction=0.25,
        student_wait_fraction=0.1,
    )
    algorithm = meta_pseudo_labels.build_algorithm(config, _data(), 100, 10)
    assert _dropout_rates(algorithm.teacher) == [0.3]
    assert _dropout_rates(algorithm.student) == [0.1]
    assert algorithm.mask_on == "plain" and algorithm.uda_rampup_steps == 25
    assert (algorithm.pseudo_label_view, algorithm.mpl_logits_view) == ("weak", "strong")
    assert algorithm.label_smoothing == 0.15

    # The student waits 10 steps at learning rate 0, then warms up; the teacher does not wait.
    def rate(optimizer, step):
        optimizer.iterations.assign(step)
        return float(optimizer.learning_rate)

    student, teacher = algorithm.student_optimizer, algorithm.optimizer
    assert [rate(student, step) for step in (0, 9)] == [0.0, 0.0]
    assert rate(student, 20) > 0.0 and rate(teacher, 9) > 0.0


def test_dropout_set_twice_is_an_error():
    config = _config()
    config.model.kwargs = ml_collections.ConfigDict({"dropout_rate": 0.5})
    with pytest.raises(ValueError, match="teacher_dropout_rate"):
        meta_pseudo_labels.build_algorithm(config, _data(), 100, 10)
    with pytest.raises(ValueError, match="student_wait_fraction"):
        meta_pseudo_labels.build_algorithm(_config(student_wait_fraction=1.0), _data(), 100, 10)


@pytest.mark.parametrize("includes_labeled", [True, False])
def test_unlabeled_pool_includes_the_labeled_images_as_both_codes(includes_labeled):
    rng = np.random.default_rng(0)

    def image_data(n):
        images = rng.integers(0, 256, (n, 4, 4, 3)).astype(np.uint8)
        return ImageData(images, rng.integers(0, 3, n), ("a", "b", "c"))

    data = types.SimpleNamespace(labeled=image_data(3), unlabeled=image_data(5))
    section = ml_collections.ConfigDict({"unlabeled_includes_labeled": includes_labeled})
    pool = meta_pseudo_labels.unlabeled_pool(data, section)
    assert len(pool) == (8 if includes_labeled else 5)
    if includes_labeled:
        np.testing.assert_array_equal(pool.images[5:], data.labeled.images)
        np.testing.assert_array_equal(pool.labels[5:], data.labeled.labels)
