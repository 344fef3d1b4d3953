"""The in-process Noisy Student selection streams the probability shards: the pool's whole
[N, classes] matrix is never loaded, and the selection and diagnostics are the whole-matrix ones."""

import numpy as np
import pytest

from kerasssl import recipe_defaults
from kerasssl.data.prepare import prepare_data
from kerasssl.experiments import pool_labeling
from kerasssl.experiments import teacher_student as phases
from kerasssl.experiments.teacher_student_config import noisy_student_section
from kerasssl.pseudo_labels import labeling_job, load_probabilities, select_confident_balanced


@pytest.fixture(scope="module")
def setting(digits_teacher):
    config = recipe_defaults.base_config()  # digits, 8x8x1
    config.data.labels_per_class = 5
    config.train.eval_batch_size = 64
    config.train.verbose = "0"
    config.noisy_student = noisy_student_section()
    config.noisy_student.confidence_threshold = 0.5
    config.noisy_student.images_per_class = 40
    config.noisy_student.shard_size = 256  # several shards
    data = prepare_data(config.data, seed=config.seed)
    teacher = digits_teacher()
    return config, data, teacher


@pytest.mark.parametrize("soft_targets", [True, False])
def test_streams_the_shards_and_equals_the_whole_matrix_selection(
    setting, soft_targets, tmp_path, monkeypatch
):
    config, data, teacher = setting
    config.noisy_student.soft_targets = soft_targets
    folder = tmp_path / "pseudo_labels"

    def load_everything(output_dir):
        raise AssertionError(f"loaded the whole probability matrix of {output_dir}")

    empty_classes = r"classes \[0, 1, 2\] receive no pseudo-label"  # this teacher's
    with monkeypatch.context() as patch, pytest.warns(UserWarning, match=empty_classes):
        patch.setattr(labeling_job, "load_probabilities", load_everything)
        # Where the whole-matrix path imported it by name (raising=False: it no longer does).
        patch.setattr(phases, "load_probabilities", load_everything, raising=False)
        selection, pool_accuracy = pool_labeling.noisy_student_pseudo_labels(
            config, teacher, None, data, folder, tmp_path
        )
    assert len(list(folder.glob("shard-*.npy"))) > 1
    probabilities = load_probabilities(folder)
    with pytest.warns(UserWarning, match=empty_classes):
        expected = select_confident_balanced(probabilities, 0.5, 40, soft=soft_targets)
    assert len(np.unique(expected.hard_labels)) > 3  # a real, balanced selection
    np.testing.assert_array_equal(selection.indices, expected.indices)
    np.testing.assert_array_equal(selection.targets, expected.targets)
    np.testing.assert_array_equal(selection.confidences, expected.confidences)
    assert pool_accuracy == float(
        np.mean(np.argmax(probabilities, axis=1) == data.unlabeled.labels)
    )
