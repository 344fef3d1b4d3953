import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasssl import testing
from kerasssl.algorithms.supervised import Supervised
from kerasssl.models import get_model


def test_checks_pass_on_a_kerasssl_model_and_algorithm():
    model = get_model("resnet_tiny", num_classes=3, input_shape=(8, 8, 3))
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    testing.check_config_round_trip(Supervised(model, label_smoothing=0.1))
    testing.check_keras_file_round_trip(Supervised(model), images)


def test_nonzero_gradient_check_catches_a_dead_soft_target():
    logits = keras.Variable(np.array([[1.0, 2.0, 0.5]], np.float32))

    def dead():
        # Cross-entropy against its own stop-gradient softmax: gradient softmax - target = 0.
        target = tf.stop_gradient(tf.nn.softmax(logits))
        return tf.reduce_sum(-target * tf.nn.log_softmax(logits))

    def alive():
        return tf.reduce_sum(-tf.constant([[1.0, 0.0, 0.0]]) * tf.nn.log_softmax(logits))

    with pytest.raises(AssertionError, match="zero"):
        testing.check_nonzero_gradient(dead, [logits])
    testing.check_nonzero_gradient(alive, [logits])
