"""The experiments' labeling: the Beam labeler (config.pseudo_labels.runner) selects as the
in-process job does."""

import warnings

import numpy as np
import pytest

pytest.importorskip("apache_beam")

from kerasssl import recipe_defaults  # noqa: E402
from kerasssl.data.prepare import prepare_data  # noqa: E402
from kerasssl.experiments import pool_labeling  # noqa: E402
from kerasssl.experiments.teacher_student_config import (  # noqa: E402
    billion_scale_section,
    noisy_student_section,
)


@pytest.fixture(scope="module")
def setting(tmp_path_factory, digits_teacher):
    folder = tmp_path_factory.mktemp("pool_labeling")
    config = recipe_defaults.base_config()  # digits, 8x8x1
    config.data.labels_per_class = 5
    config.train.eval_batch_size = 64
    config.noisy_student = noisy_student_section()
    config.noisy_student.confidence_threshold = 0.5
    config.noisy_student.images_per_class = 40
    config.noisy_student.shard_size = 256
    config.billion_scale = billion_scale_section()
    config.billion_scale.k = 30
    config.billion_scale.p = 2
    config.billion_scale.shard_size = 256
    data = prepare_data(config.data, seed=config.seed)
    teacher = digits_teacher()
    (folder / "teacher").mkdir()
    teacher.save(folder / "teacher" / "model.keras")
    return config, data, teacher, folder


def _both(setting, label):
    """The in-process result, then the Beam one, each in its own workdir."""
    config, data, teacher, folder = setting
    results, messages = [], []
    for runner in ("", "direct"):
        config.pseudo_labels.runner = runner
        workdir = folder / (runner or "in_process")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(
                label(config, teacher, folder / "teacher", data, workdir / "labels", workdir)
            )
        messages.append([str(warning.message) for warning in caught])
    config.pseudo_labels.runner = ""
    assert messages[0] == messages[1]  # the same warnings too (a class left empty, ...)
    return results


def test_noisy_student_selects_the_same_pseudo_labels_on_beam(setting, monkeypatch):
    from kerasssl.pseudo_labels import beam_labeling

    def whole_matrix(*_):
        raise AssertionError("the Beam path loaded every soft label at once")

    # Soft targets and the pool accuracy come from the soft-label shards, one at a time.
    monkeypatch.setattr(beam_labeling, "load_soft_labels", whole_matrix)
    (in_process, pool_accuracy), (on_beam, beam_pool_accuracy) = _both(
        setting, pool_labeling.noisy_student_pseudo_labels
    )
    assert beam_pool_accuracy == pool_accuracy
    classes = np.unique(in_process.hard_labels)
    assert len(classes) > 3 and len(in_process) == 40 * len(classes)  # balanced
    np.testing.assert_array_equal(on_beam.indices, in_process.indices)
    np.testing.assert_array_equal(on_beam.targets, in_process.targets)
    np.testing.assert_array_equal(on_beam.confidences, in_process.confidences)
    _, _, _, folder = setting
    assert (folder / "direct" / pool_labeling.POOL_FOLDER / "manifest.json").is_file()


def test_noisy_student_on_shards_keeps_beam_soft_targets_by_reference(setting):
    config, _, _, _ = setting
    config.data.source = "shards"  # only the choice of the soft targets' reader reads it
    try:
        (in_process, _), (on_beam, _) = _both(setting, pool_labeling.noisy_student_pseudo_labels)
    finally:
        config.data.source = "digits"
    assert type(on_beam.targets).__name__ == "SoftLabelRows"
    assert type(in_process.targets).__name__ == "ProbabilityRows"
    np.testing.assert_array_equal(np.asarray(on_beam.targets), np.asarray(in_process.targets))
    np.testing.assert_array_equal(on_beam.hard_labels, in_process.hard_labels)


def test_billion_scale_selects_the_same_top_k_on_beam(setting):
    in_process, on_beam = _both(setting, pool_labeling.billion_scale_selection)
    assert len(in_process) > 0
    np.testing.assert_array_equal(on_beam.indices, in_process.indices)
    np.testing.assert_array_equal(on_beam.targets, in_process.targets)


def test_an_unknown_runner_names_the_field(setting):
    config, data, teacher, folder = setting
    config.pseudo_labels.runner = "local"
    try:
        with pytest.raises(ValueError, match="config.pseudo_labels.runner"):
            pool_labeling.billion_scale_selection(
                config, teacher, folder / "teacher", data, folder / "bad", folder / "bad"
            )
    finally:
        config.pseudo_labels.runner = ""


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["noisy_student_digits:smoke", "billion_scale_cifar10:smoke"])
def test_a_recipe_run_on_beam_equals_the_in_process_run(tmp_path, recipe):
    from kerasssl import recipe_catalog, train

    path, preset = recipe_catalog.find_recipe(recipe)
    metrics = {}
    for runner in ("", "direct"):
        config = recipe_catalog.build_config(recipe_catalog.load_module(path), preset)
        config.pseudo_labels.runner = runner
        config.train.verbose = "0"
        if recipe.startswith("billion_scale"):  # digits instead of the CIFAR-10 folder
            config.data.source = "digits"
            config.model.name = "resnet_tiny"
        metrics[runner] = train.train_and_evaluate(config, tmp_path / (runner or "in_process"))
    for name in ("rounds", "num_selected", "selected_label_accuracy", "test_accuracy"):
        assert metrics[""].get(name) == metrics["direct"].get(name), name
