"""FixMatch and FlexMatch under MirroredStrategy over two logical CPUs match one device.

FixMatch overrides only `compute_loss`: Keras' Loss objects divide by the replica count and
Keras all-reduces the gradients. A term scaled twice (or never) shows up as a mismatch here.
FlexMatch's per-image state is gathered over the replicas: a replica that recorded only its own
slice would keep other labels (and thresholds) than one device.
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
        state = algorithm.selected_labels.numpy().tolist() if threshold == "flex" else []
        return logs["loss"], logs["mask_rate"], model.get_weights()[0].tolist(), state

    one, two = tf.distribute.OneDeviceStrategy("/cpu:0"), tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"])
    print(json.dumps({
        threshold: [fix_match(one, threshold), fix_match(two, threshold)]
        for threshold in ("fixed", "flex")
    }))
    """


def test_mirrored_strategy_matches_one_device():
    values = run_on_two_cpus(MIRRORED_SCRIPT)
    for threshold in ("fixed", "flex"):
        one, two = values[threshold]
        (one_loss, one_mask, one_weights, one_state) = one
        (two_loss, two_mask, two_weights, two_state) = two
        np.testing.assert_allclose(two_loss, one_loss, rtol=1e-4, err_msg=threshold)
        np.testing.assert_allclose(two_mask, one_mask, rtol=1e-5, err_msg=threshold)
        np.testing.assert_allclose(two_weights, one_weights, rtol=1e-4, atol=1e-6)
        assert two_state == one_state
        # The unlabeled term was active and training moved the weights.
        assert 0.0 < one_mask[-1] and one_loss[0] != one_loss[-1]
    # One device recorded images of both replicas' halves of the unlabeled batches (positions
    # 0-15 and 32-47 go to replica 0, 16-31 and 48-63 to replica 1).
    state = np.array(values["flex"][0][3]).reshape(2, 2, 16)
    assert (state[:, 0] >= 0).any() and (state[:, 1] >= 0).any()
