import keras
import numpy as np
import pytest

from kerasssl import schedules


def test_linear_scaling_rule():
    assert schedules.scale_learning_rate(0.1, 256) == pytest.approx(0.1)
    assert schedules.scale_learning_rate(0.1, 1024) == pytest.approx(0.4)
    assert schedules.scale_learning_rate(0.1, 64) == pytest.approx(0.025)


def test_warmup_rises_linearly_then_cosine_decays_to_final():
    schedule = schedules.warmup_cosine_schedule(1.0, total_steps=110, warmup_steps=10)
    values = np.array([float(schedule(step)) for step in range(111)])
    np.testing.assert_allclose(values[:11], np.linspace(0.0, 1.0, 11), atol=1e-6)
    # Cosine: half-way through the decay the rate is half the peak, at the end it is zero.
    assert values[60] == pytest.approx(0.5, abs=1e-6)
    assert values[110] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(values[10:]) <= 1e-7)


def test_no_warmup_starts_at_peak_and_ends_at_final_fraction():
    schedule = schedules.warmup_cosine_schedule(0.2, total_steps=50, final_fraction=0.1)
    assert float(schedule(0)) == pytest.approx(0.2)
    assert float(schedule(50)) == pytest.approx(0.02)


def test_schedule_serializes():
    schedule = schedules.warmup_cosine_schedule(0.1, total_steps=100, warmup_steps=5)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert float(restored(3)) == pytest.approx(float(schedule(3)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"total_steps": 0}, "total_steps"),
        ({"total_steps": 10, "warmup_steps": 10}, "warmup_steps"),
        ({"total_steps": 10, "final_fraction": 2.0}, "final_fraction"),
    ],
)
def test_bad_schedule_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        schedules.warmup_cosine_schedule(0.1, **kwargs)


def test_bad_scaling_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        schedules.scale_learning_rate(0.1, 0)
    with pytest.raises(ValueError, match="base_learning_rate"):
        schedules.scale_learning_rate(0.0, 128)


def test_phased_schedule_restarts_the_cosine_at_the_boundary_and_round_trips():
    schedule = schedules.phased_warmup_cosine_schedule(0.1, 100, 140, warmup_steps=10)
    values = {step: float(schedule(step)) for step in (0, 5, 10, 99, 100, 120, 139)}
    assert values[0] == pytest.approx(0.0) and values[5] == pytest.approx(0.05)
    assert values[10] == pytest.approx(0.1)
    assert values[99] < 1e-3  # the first phase ends annealed
    assert values[100] == pytest.approx(0.1)  # the second starts again at the peak
    assert values[120] == pytest.approx(0.05, rel=1e-3)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    restored = keras.optimizers.SGD.from_config(optimizer.get_config())
    for step in (5, 99, 100, 120):
        assert float(restored._learning_rate(step)) == pytest.approx(values[step])
    with pytest.raises(ValueError, match="first_steps"):
        schedules.phased_warmup_cosine_schedule(0.1, 140, 140)


def test_delayed_schedule_waits_at_zero_then_runs_the_schedule_from_its_start():
    inner = schedules.warmup_cosine_schedule(0.1, 20, warmup_steps=5)
    delayed = schedules.delayed_schedule(3, inner)
    assert [float(delayed(step)) for step in (0, 2)] == [0.0, 0.0]
    for step in (3, 5, 10, 22):
        assert float(delayed(step)) == pytest.approx(float(inner(step - 3)))
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(delayed))
    assert float(restored(10)) == pytest.approx(float(delayed(10)))
    with pytest.raises(ValueError, match="wait_steps"):
        schedules.delayed_schedule(0, inner)


def test_truncated_cosine_is_fixmatchs_curve_and_round_trips():
    schedule = schedules.TruncatedCosineDecay(0.03, decay_steps=160)
    for step in (0, 40, 80, 160, 400):
        wanted = 0.03 * np.cos(7 * np.pi * min(step, 160) / (16 * 160))
        assert float(schedule(step)) == pytest.approx(wanted, rel=1e-6)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert float(restored(77)) == pytest.approx(float(schedule(77)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"initial_learning_rate": 0.0}, "initial_learning_rate"),
        ({"decay_steps": 0}, "decay_steps"),
        ({"truncation": 0.75}, "truncation"),
    ],
)
def test_bad_truncated_cosine_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        schedules.TruncatedCosineDecay(
            **{"initial_learning_rate": 0.1, "decay_steps": 10, **kwargs}
        )


def test_step_decay_drops_at_each_boundary_and_round_trips():
    # DivideMix: 0.02, divided by 10 from epoch 150 on (`if epoch >= 150: lr /= 10`).
    schedule = schedules.StepDecay(0.02, boundaries=[150, 250], factor=0.1)
    for step, wanted in ((0, 0.02), (149, 0.02), (150, 0.002), (249, 0.002), (250, 0.0002)):
        assert float(schedule(step)) == pytest.approx(wanted, rel=1e-6), step
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert float(restored(200)) == pytest.approx(0.002, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"initial_learning_rate": 0.0}, "initial_learning_rate"),
        ({"boundaries": [20, 10]}, "increasing"),
        ({"boundaries": [0]}, "increasing"),
        ({"factor": 1.5}, "factor"),
    ],
)
def test_bad_step_decay_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        schedules.StepDecay(**{"initial_learning_rate": 0.1, "boundaries": [10], **kwargs})


def test_recipe_step_schedule_converts_epochs_to_steps():
    from kerasssl import recipe_defaults
    from kerasssl.experiments.context import learning_rate_schedule

    train = recipe_defaults.base_config().train
    train.schedule, train.warmup_epochs, train.linear_scaling = "step", 0, False
    train.base_learning_rate, train.step_decay_epochs = 0.02, (150,)
    schedule = learning_rate_schedule(train, total_steps=300 * 4, steps_in_epoch=4)
    assert float(schedule(150 * 4 - 1)) == pytest.approx(0.02)
    assert float(schedule(150 * 4)) == pytest.approx(0.002)
    train.warmup_epochs = 1
    with pytest.raises(ValueError, match="warmup_epochs=0"):
        learning_rate_schedule(train, 1200, 4)
    train.warmup_epochs, train.step_decay_epochs = 0, ()
    with pytest.raises(ValueError, match="step_decay_epochs"):
        learning_rate_schedule(train, 1200, 4)
