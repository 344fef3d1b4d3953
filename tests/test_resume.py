"""Every algorithm and phase, interrupted and resumed, ends with an uninterrupted run's weights.

Each test trains a shrunk recipe twice: straight through, and interrupted in one phase then
rerun. The networks carry dropout and stochastic depth, whose seed-generator states a resume
must restore, and the interruption comes either after an epoch was backed up (the rerun
resumes from backup/) or inside a phase's first epoch (the rerun starts the phase afresh, from
the same initial weights). Weights must match bit for bit (CPU, op determinism on).

Each run costs seconds, but a test holds two or three of them (the uninterrupted run is shared
by the tests of one recipe): the supervised test and the Noisy Student teacher check run by
default, the others (11-34 s of CPU each, the SIGKILL test 68 s; DivideMix on shards against
the in-memory run 56-187 s, its straight in-memory run included) with --run-slow.
`tests/algorithms/test_seed_generator_checkpointing.py` checks the restored seeds themselves.
"""

import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import ml_collections
import numpy as np
import pytest

from kerasssl import train
from kerasssl.experiments.context import completed_epochs
from kerasssl.pseudo_labels import labeling_job
from kerasssl.testing import Interrupt, InterruptFit, recipe_config

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
NOISE = {"dropout_rate": 0.3, "stochastic_depth_rate": 0.3}


def _recipe(name):
    config = recipe_config(name)
    config.train.verbose = "0"
    config.data.validation_size = 0  # one evaluation less per phase
    config.train.max_eval_examples = 32
    return config


def _noised(model_section):
    model_section.kwargs = ml_collections.ConfigDict(NOISE)


def _models(workdir):
    """{relative path: weights} of every model.keras in a run folder."""
    return {
        str(path.relative_to(workdir)): keras.saving.load_model(path).get_weights()
        for path in sorted(pathlib.Path(workdir).rglob("model.keras"))
    }


def assert_same_models(straight, resumed):
    expected, actual = _models(straight), _models(resumed)
    assert expected and sorted(actual) == sorted(expected)
    for name, weights in expected.items():
        assert len(actual[name]) == len(weights), name
        for left, right in zip(weights, actual[name], strict=True):
            np.testing.assert_array_equal(right, left, err_msg=name)


def _interrupt_and_resume(config, workdir, interruption):
    with pytest.raises(Interrupt):
        train.train_and_evaluate(config, workdir, callbacks=[interruption])
    assert not (workdir / "metrics.json").exists()
    train.train_and_evaluate(config, workdir)


@pytest.fixture(scope="module")
def straight_runs(tmp_path_factory):
    """One uninterrupted run per recipe, shared by the interruptions of that recipe."""
    runs = {}

    def run(name, config):
        if name not in runs:
            runs[name] = tmp_path_factory.mktemp(name)
            keras.utils.set_random_seed(1234)  # as every test starts (conftest)
            train.train_and_evaluate(config, runs[name])
        return runs[name]

    return run


def supervised_config():
    config = _recipe("supervised_digits")
    _noised(config.model)
    config.train.epochs = 3
    config.train.steps_per_epoch = 2
    return config


def test_supervised_resumes_bit_for_bit(tmp_path, straight_runs):
    straight = straight_runs("supervised", supervised_config())
    _interrupt_and_resume(supervised_config(), tmp_path, InterruptFit(0, epoch=1))
    assert_same_models(straight, tmp_path)


def _digits_shards(folder):
    """The digits data set as shards, in the order the digits source holds it."""
    from kerasssl import recipe_defaults
    from kerasssl.data.to_shards import prepare_shards

    prepare_shards(recipe_defaults.base_config().data, folder, records_per_shard=300)
    return folder


def test_supervised_on_shards_resumes_to_the_in_memory_weights(tmp_path, straight_runs):
    """Streaming from shards is the same stream as in memory, and resumes exactly."""
    straight = straight_runs("supervised", supervised_config())
    config = supervised_config()
    config.data.source = "shards"
    config.data.root = str(_digits_shards(tmp_path / "shards"))
    _interrupt_and_resume(config, tmp_path / "run", InterruptFit(0, epoch=1))
    assert_same_models(straight, tmp_path / "run")


def distillation_config():
    config = _recipe("distillation_digits")
    config.train.epochs = 3
    _noised(config.distillation.student_model)
    return config


@pytest.mark.parametrize("epoch", [0, None], ids=["after_epoch_0", "in_first_epoch"])
@pytest.mark.slow
def test_distillation_student_resumes_bit_for_bit(epoch, tmp_path, straight_runs):
    straight = straight_runs("distillation", distillation_config())
    _interrupt_and_resume(distillation_config(), tmp_path, InterruptFit(1, epoch))
    assert_same_models(straight, tmp_path)


def noisy_student_config():
    config = _recipe("noisy_student_digits")
    section = config.noisy_student
    section.rounds = 1
    section.round_students = ml_collections.ConfigDict()
    section.student_epochs = 3
    section.unlabeled_ratio = 1
    section.shard_size = 256
    _noised(section.student_model)
    config.train.epochs = 2  # a teacher of two epochs, to interrupt between them
    return config


@pytest.mark.slow
@pytest.mark.parametrize(
    "phase, epoch",
    [("teacher", 0), ("student", 0), ("student", None)],
    ids=["teacher_after_epoch_0", "student_after_epoch_0", "student_in_first_epoch"],
)
def test_noisy_student_resumes_bit_for_bit(phase, epoch, tmp_path, straight_runs):
    straight = straight_runs("noisy_student", noisy_student_config())
    fit_index = {"teacher": 0, "student": 1}[phase]
    _interrupt_and_resume(noisy_student_config(), tmp_path, InterruptFit(fit_index, epoch))
    assert_same_models(straight, tmp_path)


@pytest.mark.slow
def test_noisy_student_labeling_killed_midway_resumes_bit_for_bit(
    tmp_path, straight_runs, monkeypatch
):
    straight = straight_runs("noisy_student", noisy_student_config())
    shards = []
    save = labeling_job._atomic_save_array

    def save_then_interrupt(path, array):
        if len(shards) == 2:
            raise Interrupt()
        shards.append(path)
        save(path, array)

    with monkeypatch.context() as patch:
        patch.setattr(labeling_job, "_atomic_save_array", save_then_interrupt)
        with pytest.raises(Interrupt):
            train.train_and_evaluate(noisy_student_config(), tmp_path)
    assert len(list((tmp_path / "round_1" / "pseudo_labels").glob("shard-*"))) == 2
    train.train_and_evaluate(noisy_student_config(), tmp_path)
    assert_same_models(straight, tmp_path)


def test_a_killed_noisy_student_run_whose_teacher_changed_is_an_error(tmp_path):
    config = noisy_student_config()
    with pytest.raises(Interrupt):
        train.train_and_evaluate(config, tmp_path, callbacks=[InterruptFit(1, epoch=0)])
    assert completed_epochs(tmp_path / "round_1") == 1
    # The teacher on disk is not the one that labeled round 1's pool any more.
    teacher_path = tmp_path / "round_0" / "model.keras"
    teacher = keras.saving.load_model(teacher_path)
    teacher.set_weights([weight + 1.0 for weight in teacher.get_weights()])
    teacher.save(teacher_path)
    with pytest.raises(ValueError, match="another teacher"):
        train.train_and_evaluate(config, tmp_path)


@pytest.mark.slow
def test_noisy_student_on_shards_reads_soft_targets_by_reference(
    tmp_path, straight_runs, monkeypatch
):
    """The selected soft targets are never one array: the student reads them from the
    probability shards a batch at a time, to the in-memory run's weights, and resumes exactly."""
    from kerasssl.experiments import pool_labeling
    from kerasssl.pseudo_labels.probability_rows import ProbabilityRows

    straight = straight_runs("noisy_student", noisy_student_config())
    config = noisy_student_config()
    assert config.noisy_student.soft_targets
    config.data.source = "shards"
    config.data.root = str(_digits_shards(tmp_path / "shards"))

    def no_array(*arguments, **keywords):
        raise AssertionError("the selection's soft targets were read into one array")

    # read_rows materialises the selection's rows; np.asarray / tf.constant of a
    # ProbabilityRows would too.
    monkeypatch.setattr(pool_labeling, "read_rows", no_array)
    monkeypatch.setattr(ProbabilityRows, "__array__", no_array)
    _interrupt_and_resume(config, tmp_path / "run", InterruptFit(1, epoch=0))
    assert_same_models(straight, tmp_path / "run")


def billion_scale_config():
    config = _recipe("billion_scale_cifar10")
    config.data.source = "digits"
    config.data.labels_per_class = 5
    config.train.epochs = 1
    section = config.billion_scale
    section.student_model.name = "resnet_tiny"
    _noised(section.student_model)
    section.pretrain_epochs = 2
    section.finetune_epochs = 2
    return config


@pytest.mark.slow
def test_billion_scale_on_shards_resumes_to_the_in_memory_weights(tmp_path, straight_runs):
    """Labeling, top-K and pre-training on the selection all stream from the shards."""
    straight = straight_runs("billion_scale", billion_scale_config())
    config = billion_scale_config()
    config.data.source = "shards"
    config.data.root = str(_digits_shards(tmp_path / "shards"))
    _interrupt_and_resume(config, tmp_path / "run", InterruptFit(1, epoch=None))
    assert_same_models(straight, tmp_path / "run")


def meta_pseudo_labels_config():
    config = _recipe("mpl_cifar10")
    config.data.source = "digits"
    config.data.labels_per_class = 5
    _noised(config.model)
    # MPL sets both networks' dropout from its section, which must agree with their kwargs.
    section = config.meta_pseudo_labels
    section.teacher_dropout_rate = section.student_dropout_rate = NOISE["dropout_rate"]
    config.train.epochs = 2
    # Sampled pseudo-labels draw from the algorithm's own seed generator every step.
    config.meta_pseudo_labels.pseudo_labels = "sample"
    config.meta_pseudo_labels.finetune_epochs = 2
    return config


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, make_config, fit_index, epoch",
    [
        ("billion_scale", billion_scale_config, 1, None),
        ("billion_scale", billion_scale_config, 2, 0),
        ("meta_pseudo_labels", meta_pseudo_labels_config, 0, 0),
        ("meta_pseudo_labels", meta_pseudo_labels_config, 1, None),
    ],
    ids=[
        "billion_scale_pretrain_in_first_epoch",
        "billion_scale_finetune_after_epoch_0",
        "meta_pseudo_labels_mpl_after_epoch_0",
        "meta_pseudo_labels_finetune_in_first_epoch",
    ],
)
def test_phase_resumes_bit_for_bit(name, make_config, fit_index, epoch, tmp_path, straight_runs):
    # fit_index: the phase's fit call in the run (billion-scale: 1 pretrain, 2 finetune; MPL:
    # 0 MPL, 1 finetune); interrupted after epoch `epoch`, or after the first batch (None).
    straight = straight_runs(name, make_config())
    _interrupt_and_resume(make_config(), tmp_path, InterruptFit(fit_index, epoch))
    assert_same_models(straight, tmp_path)


def divide_mix_config():
    config = _recipe("dividemix_digits")
    _noised(config.model)
    config.train.epochs = 3
    return config


@pytest.mark.slow
def test_divide_mix_resumes_bit_for_bit(tmp_path, straight_runs):
    config = divide_mix_config()
    straight = straight_runs("divide_mix", config)
    # DivideMix fits one epoch per call (fit index = epoch): stop after its first DivideMix
    # epoch, between the fit and the saving of its state.
    first = config.dividemix.warmup_epochs
    with pytest.raises(Interrupt):
        train.train_and_evaluate(config, tmp_path, callbacks=[InterruptFit(first, epoch=first)])
    train.train_and_evaluate(config, tmp_path)
    assert_same_models(straight, tmp_path)


def divide_mix_on_shards_config(root=None):
    """The DivideMix config with instance noise (flips computed from the pixels), in memory
    or, with `root`, on the digits shards there."""
    config = divide_mix_config()
    config.data.noise.type, config.data.noise.rate = "instance", 0.4
    # Several steps per epoch: the streams are compared past their first batch.
    config.train.steps_per_epoch = 3
    if root is not None:
        config.data.source, config.data.root = "shards", str(root)
    return config


def _largest_batch(config):
    settings = config.dividemix
    warmup = settings.warmup_batch_size or 2 * config.train.batch_size
    return max(warmup, config.train.batch_size, config.train.eval_batch_size)


@pytest.mark.slow
def test_divide_mix_on_shards_is_the_in_memory_run(tmp_path, straight_runs, shard_reads):
    """Instance noise, warm-up, co-divide and MixMatch batches all stream from the shards."""
    straight = straight_runs("divide_mix_instance", divide_mix_on_shards_config())
    config = divide_mix_on_shards_config(_digits_shards(tmp_path / "shards"))
    del shard_reads[:]  # writing the shards read nothing, but start from zero
    train.train_and_evaluate(config, tmp_path / "run")
    assert_same_models(straight, tmp_path / "run")
    # No read larger than a batch (instance noise reads chunks of at most 256): the training
    # set never sits in memory.
    assert shard_reads and max(shard_reads) <= max(_largest_batch(config), 256)


@pytest.mark.slow
def test_divide_mix_on_shards_interrupted_mid_phase_resumes_to_the_in_memory_weights(
    tmp_path, straight_runs
):
    straight = straight_runs("divide_mix_instance", divide_mix_on_shards_config())
    config = divide_mix_on_shards_config(_digits_shards(tmp_path / "shards"))
    # Killed after the first batch of the second DivideMix epoch (fit index = epoch): the
    # rerun resumes from the state after the first, its co-divide's loss history included.
    second = config.dividemix.warmup_epochs + 1
    assert second < config.train.epochs
    _interrupt_and_resume(config, tmp_path / "run", InterruptFit(second, epoch=None))
    assert_same_models(straight, tmp_path / "run")


def fix_match_config(threshold):
    config = _recipe("fixmatch_digits")
    _noised(config.model)
    config.fix_match.threshold = threshold
    config.train.epochs = 3
    config.train.steps_per_epoch = 2
    return config


@pytest.mark.slow
@pytest.mark.parametrize("threshold", ["fixed", "flex"])
def test_fix_match_resumes_bit_for_bit(threshold, tmp_path, straight_runs):
    # EMA weights, FlexMatch's per-image labels and the networks' seeds all come back.
    straight = straight_runs(f"fix_match_{threshold}", fix_match_config(threshold))
    _interrupt_and_resume(fix_match_config(threshold), tmp_path, InterruptFit(0, epoch=1))
    assert_same_models(straight, tmp_path)


def _history_rows(path):
    return len(path.read_text().splitlines()) if path.is_file() else 0


@pytest.mark.slow
@pytest.mark.parametrize("source", ["digits", "shards"])
def test_noisy_student_killed_with_sigkill_resumes_bit_for_bit(source, tmp_path):
    """The issue's case: `kill -9` of `kerasssl train` during round 1's student, then a rerun.

    With `source="shards"` every phase streams: the teacher's and the student's batches, the
    labeling of the pool and the selected pseudo-labeled images are read from the shards.
    """
    overrides = [
        "--config=noisy_student_digits:smoke",
        "--config.train.verbose=0",
        "--config.train.epochs=1",
        "--config.noisy_student.student_epochs=8",
        "--config.noisy_student.unlabeled_ratio=1",
        "--config.noisy_student.student_model.kwargs.dropout_rate=0.3",
        "--config.noisy_student.student_model.kwargs.stochastic_depth_rate=0.3",
    ]
    if source == "shards":
        overrides += [
            "--config.data.source=shards",
            f"--config.data.root={_digits_shards(tmp_path / 'shards')}",
        ]
    command = [sys.executable, "-m", "kerasssl.cli", "train", *overrides]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    killed = tmp_path / "killed"
    history = killed / "round_1" / "history.csv"
    log = tmp_path / "killed.log"  # a file, not a pipe: a full pipe would block the run
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*command, f"--workdir={killed}"], cwd=REPO_ROOT, env=env, stdout=output, stderr=output
        )
        deadline = time.monotonic() + 300
        # Header + 2 epochs: the student is mid-phase, with 2 epochs backed up.
        while _history_rows(history) < 3 and process.poll() is None:
            assert time.monotonic() < deadline, "the student never reached its third epoch"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # a no-op if the run already ended
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    assert not (killed / "round_1" / "model.keras").exists(), "killed too late: the phase ended"
    for workdir in (killed, tmp_path / "straight"):
        result = subprocess.run(
            [*command, f"--workdir={workdir}"], cwd=REPO_ROOT, env=env, capture_output=True
        )
        assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert completed_epochs(killed / "round_1") == 8
    assert_same_models(tmp_path / "straight", killed)
