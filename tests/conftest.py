"""Shared pytest set-up: quiet TensorFlow, seeds, the --run-slow flag and ../shared data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pathlib  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
CIFAR10_SUBSET = SHARED_DATA / "cifar10-subset"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _seed_and_clear():
    # Each test starts from the same random state and a fresh Keras graph/name scope.
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def cifar10_subset():
    """Path of ../shared/data/cifar10-subset; the test skips cleanly when it is absent."""
    if not CIFAR10_SUBSET.is_dir():
        pytest.skip(f"{CIFAR10_SUBSET} not found (../shared/data is not beside this clone)")
    return CIFAR10_SUBSET
