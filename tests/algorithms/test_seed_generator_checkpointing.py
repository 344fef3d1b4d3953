import h5py
import keras
import numpy as np
import pytest

import kerasssl
from kerasssl.algorithms import SeedGeneratorCheckpointing, Supervised
from kerasssl.algorithms.seed_generator_checkpointing import seed_generator_states
from kerasssl.models import get_model


def _algorithm(**noise):
    model = get_model("resnet_tiny", num_classes=3, input_shape=(8, 8, 1), **noise)
    algorithm = Supervised(model)
    algorithm.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    return algorithm


def _fit(algorithm, epochs):
    images = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 1)).astype("float32")
    algorithm.fit(images, np.arange(16) % 3, batch_size=8, epochs=epochs, verbose=0)


def _states(algorithm):
    return [np.asarray(state) for state in seed_generator_states(algorithm)]


NOISE = {"dropout_rate": 0.5, "stochastic_depth_rate": 0.5}


def test_every_algorithm_saves_its_seed_generators():
    for algorithm in (
        kerasssl.Supervised,
        kerasssl.Distiller,
        kerasssl.NoisyStudent,
        kerasssl.MetaPseudoLabels,
        kerasssl.DivideMix,
    ):
        assert issubclass(algorithm, SeedGeneratorCheckpointing), algorithm


def test_weights_files_restore_dropout_and_stochastic_depth_seeds(tmp_path):
    trained = _algorithm(**NOISE)
    assert len(seed_generator_states(trained)) == 2  # dropout and stochastic depth
    _fit(trained, epochs=2)
    trained.save_weights(tmp_path / "backup.weights.h5")
    restored = _algorithm(**NOISE)
    before = _states(restored)
    # As BackupAndRestore does: the optimizer's slots must exist to be restored.
    restored.optimizer.build(restored.trainable_variables)
    restored.load_weights(tmp_path / "backup.weights.h5")
    for saved, loaded, built in zip(_states(trained), _states(restored), before, strict=True):
        assert saved[1] == 4 and built[1] == 0  # 2 epochs x 2 steps drew 4 masks
        np.testing.assert_array_equal(loaded, saved)
    # Both continue with the same masks, hence the same weights.
    _fit(trained, epochs=1)
    _fit(restored, epochs=1)
    for left, right in zip(trained.get_weights(), restored.get_weights(), strict=True):
        np.testing.assert_array_equal(right, left)


def test_a_keras_file_keeps_the_seeds_and_a_file_without_them_still_loads(tmp_path):
    trained = _algorithm(**NOISE)
    _fit(trained, epochs=1)
    trained.save(tmp_path / "algorithm.keras")
    loaded = keras.saving.load_model(tmp_path / "algorithm.keras")
    for saved, restored in zip(_states(trained), _states(loaded), strict=True):
        np.testing.assert_array_equal(restored, saved)
    # A weights file written before the seeds were saved: the seeds stay as built.
    trained.save_weights(tmp_path / "old.weights.h5")
    with h5py.File(tmp_path / "old.weights.h5", "r+") as stored:
        for name in [name for name in stored["vars"] if name.startswith("seed_generator")]:
            del stored["vars"][name]
    old = _algorithm(**NOISE)
    built = _states(old)
    old.optimizer.build(old.trainable_variables)
    old.load_weights(tmp_path / "old.weights.h5")
    for state, before in zip(_states(old), built, strict=True):
        np.testing.assert_array_equal(state, before)


def test_another_number_of_seed_generators_is_an_error(tmp_path):
    trained = _algorithm(**NOISE)
    trained.save_weights(tmp_path / "noised.weights.h5")
    with pytest.raises(ValueError, match="seed generator states"):
        _algorithm(dropout_rate=0.5).load_weights(tmp_path / "noised.weights.h5")
