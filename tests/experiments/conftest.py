"""Fixtures of the experiments' tests."""

import pytest


@pytest.fixture(scope="session")
def digits_teacher():
    """`digits_teacher()` builds a seeded 10-class teacher of 8x8x1 digits images whose large
    random weights give confident, varied argmaxes, as a trained teacher's."""
    import keras

    def build():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((8, 8, 1))
        hidden = keras.layers.Flatten()(keras.layers.Rescaling(1 / 16)(inputs))
        initializer = keras.initializers.RandomNormal(stddev=0.5)
        logits = keras.layers.Dense(10, kernel_initializer=initializer)(hidden)
        return keras.Model(inputs, logits)

    return build
