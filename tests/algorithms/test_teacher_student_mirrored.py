"""NoisyStudent and Distiller under MirroredStrategy over two logical CPUs match one device.

Both override only `compute_loss`, so Keras scales and all-reduces their gradients; what can go
wrong is a loss term divided by the replica count twice (or never), which this catches.
"""

import numpy as np

from kerasssl.testing import run_on_two_cpus

MIRRORED_SCRIPT = """
    import json
    import numpy as np, tensorflow as tf, keras
    from kerasssl import losses
    from kerasssl.algorithms import Distiller, NoisyStudent

    rng = np.random.default_rng(0)
    labeled = rng.normal(size=(32, 4)).astype("float32")
    labels = rng.integers(0, 3, 32)
    pseudo = rng.normal(size=(64, 4)).astype("float32")
    targets = rng.dirichlet(np.ones(3), 64).astype("float32")

    def dense(seed):
        inputs = keras.Input((4,))
        layer = keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(seed))
        return keras.Model(inputs, layer(inputs))

    def student_batch(labeled_part, pseudo_part):
        inputs = {"labeled": labeled_part[0], "pseudo_labeled": pseudo_part[0],
                  "pseudo_targets": pseudo_part[1]}
        return inputs, labeled_part[1]

    def noisy_student(strategy):
        with strategy.scope():
            model = dense(1)
            algorithm = NoisyStudent(model, pseudo_label_weight=0.7, l2_weight_decay=0.05)
            algorithm.compile(optimizer=keras.optimizers.SGD(0.5))
        # 16 labeled + 32 pseudo-labeled per batch, as the student pipeline zips them.
        dataset = tf.data.Dataset.zip(
            (
                tf.data.Dataset.from_tensor_slices((labeled, labels)).batch(16),
                tf.data.Dataset.from_tensor_slices((pseudo, targets)).batch(32),
            )
        ).map(student_batch)
        history = algorithm.fit(dataset, epochs=3, verbose=0, shuffle=False)
        return history.history["loss"], model.get_weights()[0].tolist()

    def distiller(strategy):
        with strategy.scope():
            teacher, student = dense(2), dense(3)
            algorithm = Distiller(teacher, student, temperature=3.0, student_loss_weight=0.4,
                                  l2_weight_decay=0.05)
            algorithm.compile(optimizer=keras.optimizers.SGD(0.5), loss=losses.CrossEntropy())
        dataset = tf.data.Dataset.from_tensor_slices((labeled, labels)).batch(16)
        history = algorithm.fit(dataset, epochs=3, verbose=0, shuffle=False)
        return history.history["loss"], student.get_weights()[0].tolist()

    one, two = tf.distribute.OneDeviceStrategy("/cpu:0"), tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"])
    print(json.dumps({
        "noisy_student": [noisy_student(one), noisy_student(two)],
        "distiller": [distiller(one), distiller(two)],
    }))
    """


def test_mirrored_strategy_matches_one_device():
    values = run_on_two_cpus(MIRRORED_SCRIPT)
    for name in ("noisy_student", "distiller"):
        (one_loss, one_weights), (two_loss, two_weights) = values[name]
        np.testing.assert_allclose(two_loss, one_loss, rtol=1e-4, err_msg=name)
        np.testing.assert_allclose(two_weights, one_weights, rtol=1e-4, atol=1e-6, err_msg=name)
        # Training moved the weights: equal results of two runs that did nothing prove nothing.
        assert one_loss[0] != one_loss[-1], name
