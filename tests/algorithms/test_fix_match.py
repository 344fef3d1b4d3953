"""FixMatch / FlexMatch: the loss maths on hand-made logits, FlexMatch's thresholds, gradients,
fit, serialization and bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasssl.algorithms.fix_match import FixMatch
from kerasssl.testing import (
    check_config_round_trip,
    check_keras_file_round_trip,
    check_nonzero_gradient,
)

NUM_CLASSES = 3


def _tiny_model(seed=0):
    inputs = keras.Input((4,))
    features = keras.layers.Dense(
        8, activation="tanh", kernel_initializer=keras.initializers.GlorotNormal(seed)
    )(inputs)
    outputs = keras.layers.Dense(
        NUM_CLASSES, kernel_initializer=keras.initializers.GlorotNormal(seed + 100)
    )(features)
    return keras.Model(inputs, outputs)


def _algorithm(**kwargs):
    kwargs.setdefault("unlabeled_ratio", 2)
    algorithm = FixMatch(_tiny_model(), **kwargs)
    algorithm.compile(
        optimizer=keras.optimizers.SGD(0.1),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return algorithm


def _batch(seed=0, labeled=4, ratio=2, num_unlabeled=40):
    rng = np.random.default_rng(seed)
    unlabeled = labeled * ratio
    weak = rng.normal(size=(unlabeled, 4)).astype("float32")
    x = {
        "labeled": rng.normal(size=(labeled, 4)).astype("float32"),
        "unlabeled_weak": weak,
        "unlabeled_strong": weak + rng.normal(scale=0.5, size=weak.shape).astype("float32"),
        "unlabeled_labels": rng.integers(0, NUM_CLASSES, unlabeled),
        "unlabeled_index": rng.choice(num_unlabeled, unlabeled, replace=False),
    }
    return x, rng.integers(0, NUM_CLASSES, labeled)


def _dataset(steps=3, **kwargs):
    batches = [_batch(seed, **kwargs) for seed in range(steps)]
    x, y = batches[0]
    signature = (
        {key: tf.TensorSpec(value.shape, tf.as_dtype(value.dtype)) for key, value in x.items()},
        tf.TensorSpec(y.shape, tf.int64),
    )
    return tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature)


def _cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -log_probabilities[np.arange(len(labels)), labels]


# Two labeled rows, then four weak and four strong rows (mu = 2).
LABELED_LOGITS = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "float32")
# Confidences: 0.9867 (class 0), 0.5761 (class 0), 0.9647 (class 2), 0.9647 (class 1).
WEAK_LOGITS = np.array([[5, 0, 0], [1, 0, 0], [0, 0, 4], [0, 4, 0]], "float32")
STRONG_LOGITS = np.array([[1, 2, 0], [0, 0, 3], [0.5, 0, 0], [0, 1, 1]], "float32")


def _hand_made_batch():
    x = {
        "labeled": np.zeros((2, 4), "float32"),
        "unlabeled_weak": np.zeros((4, 4), "float32"),
        "unlabeled_strong": np.zeros((4, 4), "float32"),
        "unlabeled_labels": np.array([0, 1, 2, -1]),
        "unlabeled_index": np.array([0, 1, 2, 3]),
    }
    y_pred = np.concatenate([LABELED_LOGITS, WEAK_LOGITS, STRONG_LOGITS])
    return x, np.array([0, 2]), y_pred


def _trackers(algorithm):
    return {name: float(tracker.result()) for name, tracker in algorithm.trackers.items()}


def test_loss_is_labeled_ce_plus_masked_ce_on_hard_weak_view_labels():
    algorithm = _algorithm(confidence_threshold=0.95, unlabeled_loss_weight=2.0)
    x, y, y_pred = _hand_made_batch()
    loss = float(algorithm.compute_loss(x, y, y_pred, training=True))
    pseudo_labels = np.array([0, 0, 2, 1])
    mask = np.array([1.0, 0.0, 1.0, 1.0])  # row 2's 0.576 is below tau
    labeled = _cross_entropy(LABELED_LOGITS, y).mean()
    # Masked rows count as zeros in a mean over the whole unlabeled batch.
    unlabeled = (_cross_entropy(STRONG_LOGITS, pseudo_labels) * mask).sum() / 4
    assert loss == pytest.approx(labeled + 2.0 * unlabeled, rel=1e-5)
    trackers = _trackers(algorithm)
    assert trackers["mask_rate"] == pytest.approx(0.75)
    assert trackers["unlabeled_loss"] == pytest.approx(unlabeled, rel=1e-5)
    # Known true labels [0, 1, 2]: pseudo-labels [0, 0, 2] are right twice; the masked-in
    # known rows are 0 and 2, both right.
    assert trackers["pseudo_label_accuracy"] == pytest.approx(2 / 3)
    assert trackers["masked_pseudo_label_accuracy"] == pytest.approx(1.0)


def test_tau_one_masks_everything_below_certainty():
    algorithm = _algorithm(confidence_threshold=1.0)
    x, y, y_pred = _hand_made_batch()
    loss = float(algorithm.compute_loss(x, y, y_pred, training=True))
    assert loss == pytest.approx(_cross_entropy(LABELED_LOGITS, y).mean(), rel=1e-5)


def _flex(selected, warmup=True, tau=0.95):
    algorithm = _algorithm(
        threshold="flex",
        num_unlabeled=len(selected),
        threshold_warmup=warmup,
        confidence_threshold=tau,
    )
    algorithm.selected_labels.assign(np.array(selected, "int32"))
    return algorithm


def _convex(beta, tau=0.95):
    beta = np.asarray(beta, "float64")
    return tau * beta / (2.0 - beta)


def test_flex_thresholds_follow_learning_effects_and_warm_up():
    # Class 0 selected 3 times, class 1 once, class 2 never; 6 of 10 images never selected.
    selected = [0, 0, 0, 1, -1, -1, -1, -1, -1, -1]
    # Warm-up: the 6 unused images dominate, beta = counts / 6.
    warm = _flex(selected, warmup=True).class_thresholds(NUM_CLASSES)
    np.testing.assert_allclose(warm, _convex([3 / 6, 1 / 6, 0.0]), rtol=1e-6)
    # Without warm-up: normalised by the largest class count, 3.
    cold = _flex(selected, warmup=False).class_thresholds(NUM_CLASSES)
    np.testing.assert_allclose(cold, _convex([1.0, 1 / 3, 0.0]), rtol=1e-6)
    # Once the unused images are fewer than the top class, warm-up changes nothing.
    late = [0, 0, 0, 0, 1, 1, 2, -1, -1, -1]
    np.testing.assert_allclose(
        _flex(late, warmup=True).class_thresholds(NUM_CLASSES),
        _flex(late, warmup=False).class_thresholds(NUM_CLASSES),
    )
    np.testing.assert_allclose(
        _flex(late).class_thresholds(NUM_CLASSES), _convex([1.0, 0.5, 0.25]), rtol=1e-6
    )


def test_flex_starts_at_zero_thresholds_then_records_confident_images():
    algorithm = _flex([-1] * 6)
    x, y, y_pred = _hand_made_batch()
    x["unlabeled_index"] = np.array([4, 1, 4, 0])  # image 4 appears twice
    algorithm.compute_loss(x, y, y_pred, training=True)
    # Nothing selected yet: every threshold is 0, so every image is masked in.
    assert _trackers(algorithm)["mask_rate"] == pytest.approx(1.0)
    # Rows 0, 2, 3 reach tau (classes 0, 2, 1); row 1 (image 1) does not. Image 4 is written
    # by rows 0 and 2 (both confident; the reference keeps one of them).
    selected = algorithm.selected_labels.numpy()
    assert selected[0] == 1 and selected[1] == -1 and selected[4] in (0, 2)
    assert list(selected[[2, 3, 5]]) == [-1, -1, -1]
    # Evaluation-time losses do not touch the state.
    before = algorithm.selected_labels.numpy().copy()
    algorithm.compute_loss(x, y, y_pred, training=False)
    np.testing.assert_array_equal(algorithm.selected_labels.numpy(), before)


def test_flex_mask_uses_the_threshold_of_the_predicted_class():
    # Counts: class 0 once, classes 1 and 2 four times, one unused: beta = [0.25, 1, 1].
    algorithm = _flex([0, 1, 1, 1, 1, 2, 2, 2, 2, -1], warmup=True, tau=0.95)
    x, y, y_pred = _hand_made_batch()
    algorithm.compute_loss(x, y, y_pred, training=False)
    # Class 0's threshold 0.95 * M(0.25) = 0.136 lets row 1 (class 0, 0.576) in, which
    # FixMatch's 0.95 masks out (mask rate 0.75 in the fixed-threshold test).
    assert _trackers(algorithm)["mask_rate"] == pytest.approx(1.0)


def test_every_loss_term_has_a_gradient_and_weak_views_none():
    algorithm = _algorithm(confidence_threshold=0.3)
    x, y = _batch()
    variables = algorithm.model.trainable_variables

    def loss(weight):
        algorithm.unlabeled_loss_weight = weight
        return algorithm.compute_loss(x, y, algorithm(x, training=True), training=True)

    check_nonzero_gradient(lambda: loss(0.0), variables, "labeled term")
    check_nonzero_gradient(lambda: loss(1.0) - loss(0.0), variables, "unlabeled term")
    # The weak view only makes targets: no gradient flows back into its images.
    weak = tf.Variable(x["unlabeled_weak"])
    with tf.GradientTape() as tape:
        value = algorithm.compute_loss(
            {**x, "unlabeled_weak": weak}, y, algorithm({**x, "unlabeled_weak": weak}), True
        )
    gradient = tape.gradient(value, weak)
    assert gradient is None or float(tf.reduce_max(tf.abs(gradient))) == 0.0


@pytest.mark.parametrize("threshold", ["fixed", "flex"])
def test_fit_reports_mask_rate_and_call_is_the_network(threshold):
    algorithm = _algorithm(threshold=threshold, num_unlabeled=40, confidence_threshold=0.4)
    validation = _batch(seed=9)
    history = algorithm.fit(
        _dataset().repeat(),
        epochs=2,
        steps_per_epoch=3,
        validation_data=(validation[0]["labeled"], validation[1]),
        verbose=0,
        shuffle=False,
    )
    for name in ("loss", "labeled_loss", "unlabeled_loss", "mask_rate", "pseudo_label_accuracy"):
        assert np.all(np.isfinite(history.history[name])), name
    assert "val_accuracy" in history.history and "val_mask_rate" not in history.history
    images = validation[0]["labeled"]
    np.testing.assert_allclose(
        algorithm.predict(images, verbose=0), algorithm.model.predict(images, verbose=0)
    )
    if threshold == "flex":
        assert (algorithm.selected_labels.numpy() >= 0).any()


@pytest.mark.parametrize("threshold", ["fixed", "flex"])
def test_config_round_trip(threshold):
    algorithm = FixMatch(
        _tiny_model(),
        confidence_threshold=0.9,
        unlabeled_loss_weight=0.5,
        unlabeled_ratio=3,
        threshold=threshold,
        num_unlabeled=12,
        threshold_warmup=False,
        weak_view="weak_no_flip",
        strong_view="strong_no_flip",
        l2_weight_decay=5e-4,
    )
    restored = check_config_round_trip(algorithm)
    assert restored.threshold == threshold and restored.unlabeled_ratio == 3


def test_keras_file_round_trip_keeps_the_flex_state():
    algorithm = _flex([0, 2, -1, 1, -1])
    restored = check_keras_file_round_trip(algorithm, _batch()[0]["labeled"])
    np.testing.assert_array_equal(restored.selected_labels.numpy(), [0, 2, -1, 1, -1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"confidence_threshold": 0.0}, "tau"),
        ({"confidence_threshold": 1.5}, "tau"),
        ({"unlabeled_ratio": 0}, "mu"),
        ({"unlabeled_ratio": 1.5}, "mu"),
        ({"unlabeled_loss_weight": -1.0}, "lambda_u"),
        ({"threshold": "adaptive"}, "threshold"),
        ({"threshold": "flex"}, "num_unlabeled"),
        ({"weak_view": "strong"}, "differ"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FixMatch(_tiny_model(), **kwargs)


def _one_batch(x, y):
    return tf.data.Dataset.from_tensors((x, y))


def test_batch_without_its_strong_view_is_named():
    algorithm = _algorithm()
    x, y = _batch()
    del x["unlabeled_strong"]
    with pytest.raises(ValueError, match="unlabeled_strong"):
        algorithm.fit(_one_batch(x, y), epochs=1, verbose=0, shuffle=False)


def test_batch_with_another_ratio_than_mu_is_named():
    algorithm = _algorithm(unlabeled_ratio=3)
    with pytest.raises(ValueError, match="unlabeled_ratio"):
        algorithm.fit(_dataset(), epochs=1, verbose=0, shuffle=False)


def test_flex_on_an_unlabeled_set_smaller_than_a_batch_is_named():
    algorithm = _algorithm(threshold="flex", num_unlabeled=5)
    with pytest.raises(ValueError, match="warm-up"):
        algorithm.fit(_dataset(num_unlabeled=5 + 3), epochs=1, verbose=0, shuffle=False)


def test_labels_out_of_range_fail_the_step():
    algorithm = _algorithm()
    x, y = _batch()
    y[0] = NUM_CLASSES
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be class ids <"):
        algorithm.fit(_one_batch(x, y), epochs=1, verbose=0, shuffle=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be class ids >= 0"):
        algorithm.evaluate(x["labeled"], y - NUM_CLASSES, verbose=0)


def test_plain_image_batches_cannot_train():
    algorithm = _algorithm()
    x, y = _batch()
    with pytest.raises(TypeError, match="semi_supervised_dataset"):
        algorithm.fit(x["labeled"], y, epochs=1, verbose=0, shuffle=False)
