"""Shared pytest set-up: quiet TensorFlow, seeds, the --run-long / --run-slow flags, ../shared.

Three tiers, so `make test` stays quick on 2 cores while every check still runs in CI:
    default     unit tests and one end-to-end run of each path (`make test`).
    long        end-to-end runs of 15 s or more on 2 cores whose path the default tier
                also runs in a shorter form: every recipe's CLI smoke but one, the
                notebooks' kernel runs, DivideMix's reference-schedule, kill and mirrored
                runs, the pretrained big networks' head swaps and logits, test_train's
                resume and same-seed runs (test_resume checks both bit for bit by default)
                (`--run-long`, `make test-long`; `.ci/run` runs it after `make test`).
    slow        large models and real training (`--run-slow`, `make test-slow`; implies long).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pathlib  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
CIFAR10_SUBSET = SHARED_DATA / "cifar10-subset"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")
    parser.addoption(
        "--run-long", action="store_true", default=False, help="run tests marked long"
    )
    parser.addoption(
        "--only-long",
        action="store_true",
        default=False,
        help="run only the tests marked long (what CI adds after `make test`)",
    )


def pytest_collection_modifyitems(config, items):
    run_slow = config.getoption("--run-slow")
    run_long = run_slow or config.getoption("--run-long") or config.getoption("--only-long")
    if config.getoption("--only-long"):
        selected = [item for item in items if "long" in item.keywords]
        config.hook.pytest_deselected(items=[item for item in items if item not in selected])
        items[:] = selected
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    skip_long = pytest.mark.skip(reason="long: run with --run-long (CI does)")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        elif "long" in item.keywords and not run_long:
            item.add_marker(skip_long)


@pytest.fixture(autouse=True)
def _seed_and_clear():
    # Each test starts from the same random state and a fresh Keras graph/name scope.
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def shard_reads(monkeypatch):
    """The size of every read of images from shards in the test, in order (the labels, which
    `ShardReader.labels` parses in chunks of 8,192 records, are not counted): a test that the
    images stay on disk asserts that no read is larger than a batch."""
    from kerasssl.data.shards import ShardReader

    sizes, reading_labels = [], []
    read_serialized, labels = ShardReader.read_serialized, ShardReader.labels

    def recording(self, positions):
        if not reading_labels:
            sizes.append(int(np.size(positions)))
        return read_serialized(self, positions)

    def labels_unrecorded(self, *args, **kwargs):
        reading_labels.append(True)
        try:
            return labels(self, *args, **kwargs)
        finally:
            reading_labels.pop()

    monkeypatch.setattr(ShardReader, "read_serialized", recording)
    monkeypatch.setattr(ShardReader, "labels", labels_unrecorded)
    return sizes


@pytest.fixture
def cifar10_subset():
    """Path of ../shared/data/cifar10-subset; the test skips cleanly when it is absent."""
    if not CIFAR10_SUBSET.is_dir():
        pytest.skip(f"{CIFAR10_SUBSET} not found (../shared/data is not beside this clone)")
    return CIFAR10_SUBSET
