"""Shared pytest set-up: quiet TensorFlow, seeds, the --run-long / --run-slow flags, ../shared.

Three tiers, so `make test` stays quick on 2 cores while every check still runs in CI:
    default     unit tests and one end-to-end run of each path (`make test`).
    long        end-to-end runs of 15 s or more on 2 cores whose path the default tier
                also runs in a shorter form: every recipe's CLI smoke (the default tier
                runs the command once, in test_cli's overrides test), the notebooks' kernel
                runs, DivideMix's reference-schedule, kill and mirrored runs, Noisy
                Student's two-round resume, FlexMatch's resumed state, the pretrained big
                networks' head swaps and logits, test_train's resume and same-seed runs
                (test_resume checks both bit for bit by default), XLA's Beta draw, the
                comparison tool's smoke (`--run-long`, `make test-long`; `.ci/run` runs it
                after `make test`).
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
    parser.addoption("--run-long", action="store_true", default=False, help="run tests marked long")
    parser.addoption(
        "--only-long",
        action="store_true",
        default=False,
        help="run only the tests marked long (what CI adds after `make test`)",
    )


# The default tier's heaviest files, heaviest first (measured with --durations=0 on 2 cores).
# pytest-xdist (`--dist loadfile --no-loadscope-reorder`, the Makefile's) hands files out in
# collection order to whichever worker is free: starting with the longest ones keeps the two
# workers finishing together instead of one running a long file alone at the end. Scheduling
# order only: a file missing here runs after these, in pytest's order.
HEAVIEST_FILES = (
    "tests/test_train.py",
    "tests/experiments/test_divide_mix_run.py",
    "tests/test_cli.py",
    "tests/test_resume.py",
    "tests/models/test_pretrained.py",
    "tests/experiments/test_progress.py",
    "tests/algorithms/test_meta_pseudo_labels.py",
    "tests/tools/test_bench_algorithms.py",
    "tests/test_saved_model.py",
    "tests/algorithms/test_fix_match_experiment.py",
    "tests/algorithms/test_divide_mix.py",
    "tests/algorithms/test_teacher_student_mirrored.py",
    "tests/algorithms/test_seed_generator_checkpointing.py",
    "tests/test_paper_presets.py",
)


def _heaviest_first(items):
    rank = {name: index for index, name in enumerate(HEAVIEST_FILES)}
    position = {id(item): index for index, item in enumerate(items)}

    def key(item):
        path = pathlib.Path(str(item.path)).relative_to(REPO_ROOT).as_posix()
        return (rank.get(path, len(rank)), position[id(item)])

    items.sort(key=key)


def pytest_collection_modifyitems(config, items):
    _heaviest_first(items)
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


@pytest.fixture(scope="session")
def load_tool():
    """`load_tool(name)` imports tools/<name>.py as a module (the tools are scripts, not a
    package; importing one defines no absl flags)."""
    from kerasssl import recipe_catalog

    def load(name):
        return recipe_catalog.load_module(REPO_ROOT / "tools" / f"{name}.py")

    return load


@pytest.fixture
def cifar10_subset():
    """Path of ../shared/data/cifar10-subset; the test skips cleanly when it is absent."""
    if not CIFAR10_SUBSET.is_dir():
        pytest.skip(f"{CIFAR10_SUBSET} not found (../shared/data is not beside this clone)")
    return CIFAR10_SUBSET
