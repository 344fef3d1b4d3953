import json
import math

import keras
import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from kerasssl import losses
from kerasssl.algorithms.divide_mix import (
    DivideMix,
    co_guess,
    co_refine,
    negative_entropy,
    uniform_prior_penalty,
)
from kerasssl.data import divide_mix_pipeline
from kerasssl.data.image_data import ImageData
from kerasssl.testing import recipe_config, run_on_two_cpus

IMAGE_SHAPE = (8, 8, 3)


def _network(num_classes=3):
    inputs = keras.Input(IMAGE_SHAPE)
    hidden = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    hidden = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(hidden)
    hidden = keras.layers.BatchNormalization()(hidden)
    hidden = keras.layers.GlobalAveragePooling2D(name="pooled_features")(hidden)
    return keras.Model(inputs, keras.layers.Dense(num_classes, dtype="float32")(hidden))


def _algorithm(**kwargs):
    algorithm = DivideMix(_network(), _network(), num_classes=3, warmup_epochs=1, **kwargs)
    algorithm.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
        loss=losses.CrossEntropy(),
        metrics=["accuracy"],
    )
    return algorithm


def _image_data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.integers(0, 256, (n, *IMAGE_SHAPE)).astype(np.uint8)
    images[..., 0] = (labels * 100)[:, None, None]  # learnable signal in channel 0
    return ImageData(images, labels.astype(np.int64), ("a", "b", "c"))


def test_co_refinement_by_hand():
    labels = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    predictions = np.array([[0.2, 0.8], [0.5, 0.5]], np.float32)
    # w = 0.5: [0.6, 0.4] -> sharpened ([0.36, 0.16] / 0.52); w = 1 keeps the label.
    refined = co_refine(labels, np.array([0.5, 1.0]), predictions, 0.5)
    np.testing.assert_allclose(refined, [[0.36 / 0.52, 0.16 / 0.52], [0.0, 1.0]], atol=1e-6)


def test_co_guessing_by_hand():
    guesses = [np.array([[0.8, 0.2]]), np.array([[0.6, 0.4]]), np.array([[0.7, 0.3]])] * 1
    guesses.append(np.array([[0.7, 0.3]]))
    # mean [0.7, 0.3] -> [0.49, 0.09] / 0.58
    np.testing.assert_allclose(co_guess(guesses, 0.5), [[0.49 / 0.58, 0.09 / 0.58]], atol=1e-6)


def test_regularisers_by_hand():
    assert float(uniform_prior_penalty(np.zeros((4, 3)))) == pytest.approx(0.0, abs=1e-6)
    # All mass on class 0: mean prediction ~[1, 0, 0] -> KL(uniform || mean) is large.
    assert float(uniform_prior_penalty(np.array([[20.0, 0.0, 0.0]] * 2))) > 5.0
    assert float(negative_entropy(np.zeros((2, 4)))) == pytest.approx(-np.log(4), rel=1e-6)


def test_call_returns_the_average_of_both_networks():
    algorithm = _algorithm()
    images = np.random.default_rng(0).uniform(0, 255, (5, *IMAGE_SHAPE)).astype("float32")
    expected = (algorithm.network_1(images) + algorithm.network_2(images)) / 2
    np.testing.assert_allclose(algorithm(images), expected, rtol=1e-5)


def test_warmup_and_divide_mix_steps_train_both_networks_with_their_own_optimizers():
    data = _image_data()
    algorithm = _algorithm(lambda_u=25.0, confidence_penalty=True, l2_weight_decay=5e-4)
    assert algorithm.second_optimizer is not algorithm.optimizer
    before = [w.numpy().copy() for w in algorithm.network_1.trainable_weights[:1]]
    before += [w.numpy().copy() for w in algorithm.network_2.trainable_weights[:1]]
    warmup = divide_mix_pipeline.warmup_dataset(data, 8, seed=0)
    history = algorithm.fit(warmup, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert np.isfinite(history.history["warmup_loss"][0])
    algorithm.current_epoch.assign(1.0)
    weights = np.linspace(0.1, 0.9, len(data))
    dataset, sizes = divide_mix_pipeline.divide_mix_dataset(data, [weights, weights[::-1]], 0.5, 8)
    assert sizes["labeled_size_1"] + sizes["unlabeled_size_1"] == len(data)
    history = algorithm.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert history.history["labeled_loss"][0] > 0 and history.history["prior_loss"][0] >= 0
    after = [algorithm.network_1.trainable_weights[0], algorithm.network_2.trainable_weights[0]]
    for old, new in zip(before, after, strict=True):
        assert not np.allclose(old, new.numpy())
    assert int(algorithm.optimizer.iterations) == 4
    assert int(algorithm.second_optimizer.iterations) == 4
    evaluation = algorithm.evaluate(
        tf.data.Dataset.from_tensor_slices((data.images.astype("float32"), data.labels)).batch(8),
        return_dict=True,
        verbose=0,
    )
    assert 0.0 <= evaluation["accuracy"] <= 1.0


def test_fit_and_evaluate_under_an_explicit_strategy():
    # Under a strategy Keras builds the model from its first training batch, calling `call`
    # on the dict of views while the compiled metrics are unbuilt (TrainingBatchBuild).
    data = _image_data()
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        algorithm = _algorithm()
        warmup = divide_mix_pipeline.warmup_dataset(data, 8, seed=0)
        history = algorithm.fit(warmup, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
        evaluation = algorithm.evaluate(
            tf.data.Dataset.from_tensor_slices((data.images.astype("float32"), data.labels)).batch(
                8
            ),
            return_dict=True,
            verbose=0,
        )
    assert np.isfinite(history.history["warmup_loss"][0])
    assert 0.0 <= evaluation["accuracy"] <= 1.0


def test_every_loss_term_has_a_gradient():
    data = _image_data()
    algorithm = _algorithm(lambda_u=25.0)
    algorithm.current_epoch.assign(10.0)
    weights = np.full(len(data), 0.5)
    weights[::2] = 0.2
    dataset, _ = divide_mix_pipeline.divide_mix_dataset(data, [weights, weights], 0.5, 8)
    batch = next(iter(dataset))
    variables = algorithm.network_1.trainable_variables
    for term in range(3):
        with tf.GradientTape() as tape:
            loss = algorithm.divide_mix_terms(algorithm.network_1, algorithm.network_2, batch, 1)
        gradients = tape.gradient(loss[term], variables)
        assert all(g is not None for g in gradients), term
        assert sum(float(tf.reduce_sum(tf.abs(g))) for g in gradients) > 0, term


def test_unlabeled_weight_ramps_per_step_as_the_reference():
    # The reference: lambda_u * clip((epoch + batch_idx / num_iter - warm_up) / rampup, 0, 1).
    algorithm = DivideMix(_network(), _network(), 3, warmup_epochs=2, lambda_u=10, rampup_epochs=4)
    cases = ((1, 5, 0.0), (2, 0, 0.0), (2, 5, 10 * 0.5 / 4), (3, 8, 10 * 1.8 / 4), (6, 0, 10.0))
    for epoch, step, expected in cases:
        algorithm.start_epoch(epoch, steps=10)
        algorithm.step_in_epoch.assign(float(step))
        assert float(algorithm.unlabeled_weight()) == pytest.approx(expected), (epoch, step)


def test_train_steps_advance_the_ramp_within_an_epoch():
    data = _image_data()
    algorithm = _algorithm(lambda_u=8.0, rampup_epochs=2)  # warm-up 1 epoch
    weights = np.linspace(0.1, 0.9, len(data))
    dataset, _ = divide_mix_pipeline.divide_mix_dataset(data, [weights, weights[::-1]], 0.5, 8)
    algorithm.start_epoch(1, steps=4)
    assert float(algorithm.unlabeled_weight()) == 0.0  # the first DivideMix step
    algorithm.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    # After 3 of 4 steps of the first DivideMix epoch: (1 + 3 / 4 - 1) / 2 of lambda_u.
    assert float(algorithm.unlabeled_weight()) == pytest.approx(8.0 * 0.75 / 2)


def test_decay_all_parameters_decays_biases_and_batch_norm_as_the_reference():
    from kerasssl import optimizers as kerasssl_optimizers

    network = _network()
    kernels_only = DivideMix(network, _network(), 3, l2_weight_decay=0.1)
    everything = DivideMix(network, _network(), 3, l2_weight_decay=0.1, decay_all_parameters=True)
    for variable in network.trainable_variables:
        variable.assign(np.full(variable.shape, 0.5, "float32"))
    count = sum(int(np.prod(v.shape)) for v in network.trainable_variables)
    kernels = sum(int(np.prod(v.shape)) for v in network.trainable_variables if len(v.shape) > 1)
    assert kernels < count
    assert float(everything.l2_penalty(network)) == pytest.approx(0.05 * 0.25 * count)
    assert float(kernels_only.l2_penalty(network)) == pytest.approx(
        float(kerasssl_optimizers.model_l2_penalty(network, 0.1))
    )


def test_get_config_round_trip():
    algorithm = DivideMix(
        _network(), _network(), 3, warmup_epochs=3, lambda_u=0.0, temperature=0.4,
        confidence_penalty=True, seed=7,
    )  # fmt: skip
    config = json.loads(json.dumps(algorithm.get_config()))
    restored = DivideMix.from_config(config)
    for name in ("warmup_epochs", "lambda_u", "temperature", "confidence_penalty", "seed"):
        assert getattr(restored, name) == getattr(algorithm, name)
    assert restored.network_1.count_params() == algorithm.network_1.count_params()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0.0}, "temperature"),
        ({"alpha": -1.0}, "alpha"),
        ({"lambda_u": -1.0}, "lambda_u"),
        ({"num_classes": 1}, "num_classes"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    arguments = {"num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        DivideMix(_network(), _network(), **arguments)


def test_the_same_network_twice_is_rejected():
    network = _network()
    with pytest.raises(ValueError, match="two different"):
        DivideMix(network, network, 3)
    with pytest.raises(TypeError, match="network_2"):
        DivideMix(network, "resnet", 3)


def test_divide_mix_dataset_checks_its_input():
    data = _image_data()
    with pytest.raises(ValueError, match="shape"):
        divide_mix_pipeline.divide_mix_dataset(data, [np.ones(3), np.ones(3)], 0.5, 8)
    with pytest.raises(ValueError, match="threshold"):
        divide_mix_pipeline.divide_mix_dataset(data, [np.ones(24)] * 2, 1.5, 8)


def test_noise_rate_outside_zero_one_is_rejected():
    from kerasssl.data.label_noise import inject_label_noise

    with pytest.raises(ValueError, match="noise_rate"):
        inject_label_noise(np.arange(10) % 2, 2, 1.5)


def _experiment_config(workdir_epochs=3):
    config = recipe_config("dividemix_cifar10")
    config.data.source = "digits"
    config.data.noise.type = "symmetric"
    config.data.validation_size = 50
    config.model.name = "resnet_tiny"
    config.train.epochs = workdir_epochs
    return ml_collections.ConfigDict(config.to_dict())


@pytest.mark.long
def test_resume_after_a_kill_between_epochs(tmp_path):
    from kerasssl import train

    config = _experiment_config()

    class StopAfterEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:  # the first DivideMix epoch: its state is saved right after
                raise KeyboardInterrupt

    # Killed after epoch 2's fit, before its state was saved: the rerun redoes epoch 2.
    with pytest.raises(KeyboardInterrupt):
        train.train_and_evaluate(config, tmp_path / "run", callbacks=[StopAfterEpoch()])
    metrics = train.train_and_evaluate(config, tmp_path / "run")
    assert metrics["epochs_run_this_time"] == 2
    assert [record["epoch"] for record in metrics["per_epoch"]] == [1, 2, 3]
    assert "clean_set_size_1" in metrics["per_epoch"][1] and "auc_2" in metrics["per_epoch"][2]
    # A finished run is only evaluated again.
    again = train.train_and_evaluate(config, tmp_path / "run")
    assert again["epochs_run_this_time"] == 0
    assert again["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    uninterrupted = train.train_and_evaluate(config, tmp_path / "fresh")
    assert uninterrupted["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    # Bit for bit: networks, optimizers and the in-step seed state.
    with (
        np.load(tmp_path / "run" / "divide_mix_state.npz") as resumed,
        np.load(tmp_path / "fresh" / "divide_mix_state.npz") as fresh,
    ):
        arrays = [name for name in fresh.files if name != "state"]
        assert arrays and resumed.files == fresh.files
        for name in arrays:
            np.testing.assert_array_equal(resumed[name], fresh[name], err_msg=name)


@pytest.mark.long
def test_divide_mix_epochs_run_their_own_step_count(tmp_path):
    from kerasssl import train

    config = _experiment_config()
    config.dividemix.steps_per_epoch = 3  # warm-up epochs keep config.train.steps_per_epoch=1
    counter = CountSteps()
    metrics = train.train_and_evaluate(config, tmp_path / "run", callbacks=[counter])
    assert counter.steps == [1, 3, 3]
    assert metrics["divide_mix_steps_per_epoch"] == 3
    assert counter.iterations[-1] == [7, 7]


class CountSteps(keras.callbacks.Callback):
    """Steps run per epoch, and both optimizers' iteration counts at the end of each fit."""

    def __init__(self):
        super().__init__()
        self.steps = []
        self.iterations = []

    def on_epoch_begin(self, epoch, logs=None):
        self.steps.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps[-1] += 1

    def on_train_end(self, logs=None):
        optimizers = (self.model.optimizer, self.model.second_optimizer)
        self.iterations.append([int(optimizer.iterations) for optimizer in optimizers])


@pytest.mark.long
def test_warmup_batch_is_twice_the_batch_as_the_reference(tmp_path):
    from kerasssl import train

    config = _experiment_config(workdir_epochs=2)
    config.train.steps_per_epoch = 0  # warm-up epochs: one pass over the noisy set
    config.dividemix.steps_per_epoch = 1
    counter = CountSteps()
    metrics = train.train_and_evaluate(config, tmp_path / "run", callbacks=[counter])
    assert metrics["warmup_batch_size"] == 2 * config.train.batch_size
    assert counter.steps == [math.ceil(metrics["num_labeled"] / 16), 1]


@pytest.mark.long
def test_labeled_pass_epochs_as_the_reference(tmp_path):
    from kerasssl import train
    from kerasssl.experiments.divide_mix import epoch_learning_rate

    config = _experiment_config(workdir_epochs=3)
    config.dividemix.labeled_pass_epochs = True
    counter = CountSteps()
    metrics = train.train_and_evaluate(config, tmp_path / "run", callbacks=[counter])
    for index, record in enumerate(metrics["per_epoch"]):
        # Each epoch at its own rate (the warm-up + cosine over epochs, at the epoch's middle).
        assert record["learning_rate"] == pytest.approx(epoch_learning_rate(config, index))
        if record["phase"] == "divide_mix":
            mean_labeled = (record["labeled_size_1"] + record["labeled_size_2"]) / 2
            assert record["steps"] == counter.steps[index] == math.ceil(mean_labeled / 8)
    rates = [record["learning_rate"] for record in metrics["per_epoch"]]
    assert rates[0] > 0.0 and rates[1] > rates[2]
    config.dividemix.steps_per_epoch = 3
    with pytest.raises(ValueError, match="labeled_pass_epochs"):
        train.train_and_evaluate(config, tmp_path / "again")


def test_decay_all_parameters_needs_coupled_decay(tmp_path):
    from kerasssl import train

    config = _experiment_config()
    config.dividemix.decay_all_parameters = True
    config.train.weight_decay_mode = "decoupled"
    with pytest.raises(ValueError, match="weight_decay_mode='coupled'"):
        train.train_and_evaluate(config, tmp_path / "run")


def test_bad_divide_mix_step_count_is_rejected(tmp_path):
    from kerasssl import train
    from kerasssl.experiments.divide_mix import check_settings

    config = _experiment_config()
    config.dividemix.steps_per_epoch = -1
    with pytest.raises(ValueError, match="config.dividemix.steps_per_epoch"):
        train.train_and_evaluate(config, tmp_path / "run")
    settings = ml_collections.ConfigDict({**config.dividemix.to_dict(), "steps_per_epoch": 2.5})
    with pytest.raises(ValueError, match="config.dividemix.steps_per_epoch"):
        check_settings(settings, epochs=3)


def test_model_file_reloads_with_the_averaged_output(tmp_path):
    algorithm = _algorithm()
    algorithm.build_optimizers()
    path = tmp_path / "model.keras"
    algorithm.save(path)
    restored = keras.saving.load_model(path)
    images = np.random.default_rng(0).uniform(0, 255, (4, *IMAGE_SHAPE)).astype("float32")
    np.testing.assert_allclose(restored(images), algorithm(images), rtol=1e-5)
    assert restored.second_optimizer is not None and restored.second_optimizer.built


MIRRORED_SCRIPT = """
    import json
    import numpy as np, tensorflow as tf, keras
    from kerasssl.algorithms.divide_mix import DivideMix

    def network():
        inputs = keras.Input((4,))
        return keras.Model(inputs, keras.layers.Dense(3)(inputs))

    def run(strategy):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        batch = {
            "images_1": rng.normal(size=(64, 4)).astype("float32"),
            "labels_1": rng.integers(0, 3, 64),
            "images_2": rng.normal(size=(64, 4)).astype("float32"),
            "labels_2": rng.integers(0, 3, 64),
        }
        with strategy.scope():
            algorithm = DivideMix(network(), network(), 3, confidence_penalty=True,
                                  l2_weight_decay=0.05)
            algorithm.compile(optimizer=keras.optimizers.SGD(0.5))
        dataset = tf.data.Dataset.from_tensor_slices(batch).batch(32)
        algorithm.fit(dataset, epochs=3, verbose=0, shuffle=False)
        return [algorithm.network_1.get_weights()[0].tolist(),
                algorithm.network_2.get_weights()[0].tolist()]

    one = run(tf.distribute.OneDeviceStrategy("/cpu:0"))
    two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    print(json.dumps({"one": one, "two": two}))
    """


@pytest.mark.long
def test_mirrored_strategy_warmup_matches_one_device():
    # Checks the replica scaling of the custom train_step (the penalty included).
    values = run_on_two_cpus(MIRRORED_SCRIPT)
    np.testing.assert_allclose(values["two"], values["one"], rtol=1e-4, atol=1e-6)


def test_second_optimizer_keeps_the_decoupled_decay_exclusions():
    from kerasssl import optimizers as kerasssl_optimizers
    from kerasssl.models import get_model

    networks = [get_model("resnet_tiny", num_classes=3, input_shape=(8, 8, 3)) for _ in range(2)]
    optimizer = kerasssl_optimizers.build_optimizer(
        "sgd", 0.1, networks[0], weight_decay=1e-3, weight_decay_mode="decoupled"
    )
    algorithm = DivideMix(*networks, num_classes=3)
    algorithm.compile(optimizer=optimizer)
    decays = [
        [opt._use_weight_decay(v) for v in net.trainable_weights]
        for opt, net in (
            (algorithm.optimizer, networks[0]),
            (algorithm.second_optimizer, networks[1]),
        )
    ]
    assert decays[0] == decays[1]
    assert any(decays[0]) and not all(decays[0])  # kernels decay, biases and BN do not


@pytest.mark.slow
def test_divide_mix_beats_cross_entropy_where_cross_entropy_memorises(tmp_path):
    # The recipe's own figures (50% symmetric noise on digits, 60 epochs): cross-entropy peaks
    # and then memorises the noise, DivideMix does not. About 8 minutes on 2 CPU cores.
    from kerasssl import train

    baseline = train.train_and_evaluate(
        recipe_config("dividemix_digits", "ce_sym50"), tmp_path / "ce"
    )
    divide_mix = train.train_and_evaluate(
        recipe_config("dividemix_digits", "sym50"), tmp_path / "divide_mix"
    )
    assert divide_mix["test_accuracy"] > baseline["test_accuracy"] + 0.08
    assert divide_mix["test_accuracy"] > 0.95
    final_split = divide_mix["per_epoch"][-1]
    assert final_split["auc_1"] > 0.95 and final_split["auc_2"] > 0.95
