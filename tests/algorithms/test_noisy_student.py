import json

import keras
import numpy as np
import pytest

from kerasssl.algorithms.noisy_student import NoisyStudent
from kerasssl.data.image_data import ImageData
from kerasssl.pseudo_labels import Selection
from kerasssl.pseudo_labels.student_dataset import student_dataset


def _tiny_image_model(num_classes=3):
    inputs = keras.Input((4, 4, 1))
    hidden = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 4, 4, 1)).astype(np.uint8)


def _batch_norm_image_model(num_classes=3):
    inputs = keras.Input((4, 4, 1))
    hidden = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(5)(hidden))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))


def _student_batch(soft, num_labeled=2, num_pseudo=4):
    labeled = _images(num_labeled).astype("float32")
    pseudo = _images(num_pseudo, 1).astype("float32")
    ids = np.arange(num_pseudo) % 3
    targets = np.eye(3, dtype="float32")[ids] if soft else ids
    x = {"labeled": labeled, "pseudo_labeled": pseudo, "pseudo_targets": targets}
    return x, np.arange(num_labeled) % 3


@pytest.mark.parametrize("soft", [True, False])
def test_every_image_counts_the_same_as_the_reference(soft):
    # 2 labeled + 4 pseudo-labeled: the reference's lab_loss + unlabel_ratio * unl_loss with
    # unlabel_ratio = 2, i.e. the sum over all 6 images divided by the 2 labeled ones.
    algorithm = NoisyStudent(_tiny_image_model(), pseudo_label_weight=0.5)
    x, y = _student_batch(soft)
    loss = algorithm.compute_loss(x, y, algorithm(x))
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = cross_entropy(y, algorithm.model(x["labeled"])) + 0.5 * 2 * cross_entropy(
        np.arange(4) % 3, algorithm.model(x["pseudo_labeled"])
    )
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-5)


def test_one_forward_pass_shares_batch_norm_statistics():
    algorithm = NoisyStudent(_batch_norm_image_model())
    x, y = _student_batch(soft=False)
    loss = algorithm.compute_loss(x, y, algorithm(x, training=True))
    # The reference concatenates both batches: BatchNorm normalises all 6 images together.
    logits = algorithm.model(np.concatenate([x["labeled"], x["pseudo_labeled"]]), training=True)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = cross_entropy(y, logits[:2]) + 2 * cross_entropy(x["pseudo_targets"], logits[2:])
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-5)


@pytest.mark.parametrize("soft", [True, False])
def test_label_smoothing_applies_to_hard_labels_only(soft):
    algorithm = NoisyStudent(_tiny_image_model(), label_smoothing=0.3)
    x, y = _student_batch(soft)
    algorithm.compute_loss(x, y, algorithm(x))
    pseudo_logits = algorithm.model(x["pseudo_labeled"])
    one_hot = np.eye(3, dtype="float32")[np.arange(4) % 3]
    # The reference smooths one-hot pseudo-labels and leaves the teacher's soft targets alone.
    targets = one_hot if soft else 0.7 * one_hot + 0.3 / 3
    expected = keras.losses.categorical_crossentropy(targets, pseudo_logits, from_logits=True)
    np.testing.assert_allclose(
        float(algorithm.pseudo_loss_tracker.result()), float(np.mean(expected)), rtol=1e-5
    )


def test_fits_on_the_student_dataset_and_round_trips():
    labeled = ImageData(_images(6), np.array([0, 1, 2, 0, 1, 2]), ("a", "b", "c"))
    pool = _images(10, 2)
    selection = Selection(
        np.array([0, 3, 3, 7]), np.full((4, 3), 1 / 3, np.float32), np.ones(4, np.float32)
    )
    # Cheap views keep the test fast; the recipes' "strong" views run in the CLI smoke tests.
    views = {"labeled_view": None, "pseudo_view": "weak"}
    dataset = student_dataset(labeled, pool, selection, 2, unlabeled_ratio=3, seed=0, **views)
    x, y = next(iter(dataset))
    assert x["labeled"].shape == (2, 4, 4, 1) and x["pseudo_labeled"].shape == (6, 4, 4, 1)
    assert x["pseudo_targets"].shape == (6, 3) and y.shape == (2,)
    # Reproducible and resumable: batch 3 of a stream equals batch 0 of one started at 3.
    batches = list(dataset.take(4))
    resumed = next(
        iter(student_dataset(labeled, pool, selection, 2, 3, seed=0, start_step=3, **views))
    )
    np.testing.assert_array_equal(batches[3][0]["pseudo_labeled"], resumed[0]["pseudo_labeled"])
    algorithm = NoisyStudent(_tiny_image_model(), l2_weight_decay=1e-4)
    algorithm.compile("sgd", metrics=["sparse_categorical_accuracy"])
    history = algorithm.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
    assert {"labeled_loss", "pseudo_label_loss"} <= set(history.history)
    config = json.loads(json.dumps(algorithm.get_config()))
    restored = NoisyStudent.from_config(config)
    assert restored.l2_weight_decay == 1e-4 and restored.pseudo_label_weight == 1.0


def test_bad_arguments_name_the_fix():
    with pytest.raises(TypeError, match="keras.Model"):
        NoisyStudent("not a model")
    with pytest.raises(ValueError, match="pseudo_label_weight"):
        NoisyStudent(_tiny_image_model(), pseudo_label_weight=-1)


@pytest.mark.slow
def test_keras_file_save_and_load(tmp_path):
    algorithm = NoisyStudent(_tiny_image_model(), pseudo_label_weight=0.5)
    algorithm.compile("sgd")
    images = _images(2).astype("float32")
    algorithm.save(tmp_path / "student.keras")
    restored = keras.saving.load_model(tmp_path / "student.keras", compile=False)
    assert restored.pseudo_label_weight == 0.5
    np.testing.assert_allclose(restored(images), algorithm(images), rtol=1e-6)
