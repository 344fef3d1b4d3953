import keras

import kerasssl


def test_every_public_name_resolves():
    for name in kerasssl.__all__:
        assert getattr(kerasssl, name) is not None, name
    for package in (kerasssl.algorithms, kerasssl.data, kerasssl.models, kerasssl.augment):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"


def test_algorithms_are_keras_models():
    for algorithm in (
        kerasssl.Supervised,
        kerasssl.Distiller,
        kerasssl.NoisyStudent,
        kerasssl.MetaPseudoLabels,
        kerasssl.DivideMix,
    ):
        assert issubclass(algorithm, keras.Model), algorithm
