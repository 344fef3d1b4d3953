"""FixMatch under MirroredStrategy over two logical CPUs matches one device; FlexMatch refuses.

FixMatch overrides only `compute_loss`: Keras' Loss objects divide by the replica count and
Keras all-reduces the gradients. A term scaled twice (or never) shows up as a mismatch here.
"""

import numpy as np

from kerasssl.testing import run_on_two_cpus

MIRRORED_SCRIPT = """
    import json
    import numpy as np, tensorflow as tf, keras
    from kerasssl.algorithms import FixMatch

    rng = np.random.default_rng(0)
    labeled = rng.normal(size=(32, 4)).astype("float32")
    labels = rng.integers(0, 3, 32)
    weak = rng.normal(size=(64, 4)).astype("float32")
    strong = (weak + rng.normal(scale=0.3, size=weak.shape)).astype("float32")
    index = np.arange(64)

    def dense(seed):
        inputs = keras.Input((4,))
        layer = keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(seed))
        return keras.Model(inputs, layer(inputs) * 4.0)  # confident enough to pass tau

    def batch(labeled_part, unlabeled_part):
        inputs = {"labeled": labeled_part[0], "unlabeled_weak": unlabeled_part[0],
                  "unlabeled_strong": unlabeled_part[1], "unlabeled_index": unlabeled_part[2]}
        return inputs, labeled_part[1]

    def fix_match(strategy, threshold="fixed"):
        with strategy.scope():
            model = dense(1)
            algorithm = FixMatch(model, confidence_threshold=0.6, unlabeled_ratio=2,
                                 l2_weight_decay=0.05, threshold=threshold, num_unlabeled=64)
            algorithm.compile(optimizer=keras.optimizers.SGD(0.5))
        dataset = tf.data.Dataset.zip(
            (
                tf.data.Dataset.from_tensor_slices((labeled, labels)).batch(16),
                tf.data.Dataset.from_tensor_slices((weak, strong, index)).batch(32),
            )
        ).map(batch)
        history = algorithm.fit(dataset, epochs=3, verbose=0, shuffle=False)
        logs = history.history
        return logs["loss"], logs["mask_rate"], model.get_weights()[0].tolist()

    one, two = tf.distribute.OneDeviceStrategy("/cpu:0"), tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"])
    try:
        fix_match(two, "flex")
        flex_error = ""
    except ValueError as error:
        flex_error = str(error)
    print(json.dumps({"fixed": [fix_match(one), fix_match(two)], "flex_error": flex_error}))
    """


def test_mirrored_strategy_matches_one_device_and_flex_refuses_replicas():
    values = run_on_two_cpus(MIRRORED_SCRIPT)
    (one_loss, one_mask, one_weights), (two_loss, two_mask, two_weights) = values["fixed"]
    np.testing.assert_allclose(two_loss, one_loss, rtol=1e-4)
    np.testing.assert_allclose(two_mask, one_mask, rtol=1e-5)
    np.testing.assert_allclose(two_weights, one_weights, rtol=1e-4, atol=1e-6)
    # The unlabeled term was active and training moved the weights.
    assert 0.0 < one_mask[-1] and one_loss[0] != one_loss[-1]
    assert "tf.distribute" in values["flex_error"]
