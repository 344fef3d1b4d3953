"""Which `tf.distribute` strategy a run uses (`config.distribute`), and the checks around it.

`config.train.batch_size` is the global batch: Keras' `fit` on a `tf.data` dataset under a
strategy splits each batch over the replicas, so the per-replica batch is
`batch_size // num_replicas_in_sync`, and the linear learning-rate scaling rule sees the global
batch. Everything a recipe builds (networks, optimizers, algorithms) is created inside
`strategy.scope()` by `kerasssl.train`, so the variables are mirrored.

Strategies (`config.distribute.strategy`):
    auto          MirroredStrategy over all visible GPUs when there are two or more, else
                  TensorFlow's default (one device, no scope).
    one_device    OneDeviceStrategy on the first GPU, or the CPU.
    mirrored      MirroredStrategy over all visible GPUs (or the logical CPUs when none).
    multi_worker  MultiWorkerMirroredStrategy; the cluster and this process' task come from
                  the TF_CONFIG environment variable. Only the chief writes the workdir.
    tpu           TPUStrategy through TPUClusterResolver(config.distribute.tpu).
"""

import contextlib
import functools
import json
import os
import pathlib
import shutil
import socket
import tempfile

import keras
import tensorflow as tf

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


def validate(distribute_config):
    """Checks `config.distribute` without touching a device: before any file is written."""
    name = distribute_config.strategy
    if name not in STRATEGIES:
        raise ValueError(
            f"config.distribute.strategy must be one of {STRATEGIES}, got {name!r}; "
            "e.g. --config.distribute.strategy=auto."
        )
    if name == "multi_worker":
        tf_config = _tf_config()
        if not tf_config.get("cluster") or not tf_config.get("task"):
            raise ValueError(
                "config.distribute.strategy='multi_worker' needs the TF_CONFIG environment "
                "variable with the cluster and this process' task, e.g. TF_CONFIG='{\"cluster\": "
                '{"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                "\"index\": 0}}' on the first host; or use strategy='mirrored' on one host."
            )
    if name != "tpu" and distribute_config.tpu:
        raise ValueError(
            f"config.distribute.tpu={distribute_config.tpu!r} is only read with "
            f"strategy='tpu', not {name!r}: set --config.distribute.strategy=tpu or drop it."
        )


def _tf_config():
    text = os.environ.get("TF_CONFIG", "")
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"The TF_CONFIG environment variable is not JSON ({error}): config.distribute."
            "strategy='multi_worker' reads the cluster from it."
        ) from None


def build_strategy(distribute_config):
    """The `tf.distribute.Strategy` that `config.distribute` names (after `validate`).

    One strategy per kind per process, reused by later runs: two MirroredStrategy objects in
    one process can mix up their collective all-reduces, and a MultiWorkerMirroredStrategy
    can only be created once.
    """
    validate(distribute_config)
    return _cached_strategy(distribute_config.strategy, distribute_config.tpu)


@functools.cache
def _cached_strategy(name, tpu):
    # Created before anything lists devices: that would initialize TensorFlow's context,
    # after which multi-worker collectives can no longer be configured.
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return _tpu_strategy(tpu)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if len(gpus) < 2:
            # TensorFlow's default strategy: no scope, so Keras builds each algorithm when its
            # step is first traced. Under an explicit strategy Keras 3.15 builds it from a
            # training batch instead (`_maybe_symbolic_build`), which calls `call()` on it:
            # DivideMix and MPL, whose training batches are not `call()`'s inputs, skip that
            # through `algorithms.training_batch_build.TrainingBatchBuild`.
            return tf.distribute.get_strategy()
        name = "mirrored"
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [device.name for device in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    raise AssertionError(f"unreachable: {name!r} passed validate()")


def _tpu_strategy(address):
    if address.startswith("grpc://"):
        _check_answers(address)
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        shown = repr(address) if address else "'' (the TPU VM's local TPU)"
        raise ValueError(
            f"No TPU answers at config.distribute.tpu={shown} ({type(error).__name__}: "
            f"{error}). Pass the TPU's name or grpc://address with --config.distribute.tpu=..., "
            "or choose another config.distribute.strategy (auto, mirrored)."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def _check_answers(address, timeout_seconds=10.0):
    # TensorFlow waits without a deadline for a TPU worker that does not answer: ask first.
    host, _, port = address.removeprefix("grpc://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_seconds).close()
    except (OSError, ValueError) as error:
        raise ValueError(
            f"No TPU answers at config.distribute.tpu={address!r} ({type(error).__name__}: "
            f"{error}). Pass the TPU's name or its grpc://host:port with "
            "--config.distribute.tpu=..., or choose another config.distribute.strategy "
            "(auto, mirrored)."
        ) from None


def check_global_batch(strategy, train_config):
    """Raises unless the global training batch splits evenly over the strategy's replicas."""
    replicas = strategy.num_replicas_in_sync
    value = train_config.batch_size
    if value % replicas:
        raise ValueError(
            f"config.train.batch_size={value} is the global batch and must divide by the "
            f"{replicas} replicas of config.distribute.strategy; use a multiple of "
            f"{replicas}, e.g. {max(replicas, value // replicas * replicas)}."
        )


def is_chief(strategy):
    """True unless this process is a non-chief worker of a multi-worker strategy."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    # Without a "chief" task, worker 0 is the chief (the TF_CONFIG convention).
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


@contextlib.contextmanager
def process_workdir(strategy, workdir):
    """The folder this process writes: `workdir` on the chief, a deleted-after temp dir elsewhere.

    Every worker of a multi-worker run executes the same callbacks (checkpoints, logs, the
    final save), since they all take part in the collective ops; only the chief's files are
    kept, as Keras' multi-worker `ModelCheckpoint`/`BackupAndRestore` do. When this worker
    sees the chief's `workdir` (shared storage), its temp dir starts as a copy of it, so a
    rerun restores every worker from the chief's checkpoint.
    """
    if is_chief(strategy):
        yield pathlib.Path(workdir)
        return
    scratch = tempfile.mkdtemp(prefix="kerasssl-worker-")
    try:
        run = pathlib.Path(scratch) / "run"
        if pathlib.Path(workdir).is_dir():
            # Not the hidden files: the chief's temporaries of atomic writes (they vanish
            # mid-copy) and its run clock, which are not state to restore from.
            shutil.copytree(workdir, run, ignore=shutil.ignore_patterns(".*"))
        yield run
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def multi_worker_compatibility(strategy):
    """Lets Keras 3's TensorFlow trainer `fit`/`evaluate` under MultiWorkerMirroredStrategy.

    Does nothing under any other strategy. Keras 3.15 (`keras/src/backend/tensorflow/
    trainer.py`, keras-team/keras#20585) fails twice there, and this patches both places for
    the duration of the `with` block, only when `strategy` is a MultiWorkerMirroredStrategy:

    1. `TensorFlowTrainer._maybe_symbolic_build` reads the first batch to build the model and
       passes the whole `(x, y)` structure to `strategy.reduce("MEAN", batch, axis=None)`.
       MirroredStrategy's `_reduce_to` maps over such a structure; MultiWorkerMirrored's
       (`CollectiveAllReduceExtended._reduce_to`) does not, and its collective ops try to
       convert the tuple to one tensor (`ValueError: Attempt to convert a value
       (PerReplica...)`). Under it the build reads
       this worker's first replica's batch instead: the same per-replica shapes, which is all
       the symbolic build uses.
    2. `reduce_per_replica(outputs, strategy, "auto")` reduces each step's logs: "auto" means
       "mean", which under multi-worker is `strategy.reduce("MEAN", value, axis=0)`, invalid
       for the scalar losses and metrics every step returns (`Invalid reduction dimension 0
       for input with 0 dimensions`). Scalars are averaged over the replicas (`axis=None`),
       as MirroredStrategy's `tf.reduce_mean` over its local results does; other values keep
       Keras' reduction.

    Remove it once Keras' TensorFlow trainer runs under MultiWorkerMirroredStrategy
    (`tests/test_multi_worker.py` would still pass without it).
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        yield
        return
    from keras.src.backend.tensorflow import trainer as tensorflow_trainer

    original_reduce = tensorflow_trainer.reduce_per_replica
    original_build = tensorflow_trainer.TensorFlowTrainer._maybe_symbolic_build

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        ):
            return original_reduce(values, strategy, reduction)

        def reduce(value):
            # A PerReplica value (several devices per worker) has no shape: read a replica's.
            if strategy.experimental_local_results(value)[0].shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original_reduce(value, strategy, reduction)

        return keras.tree.map_structure(reduce, values)

    def maybe_symbolic_build(model, iterator=None, data_batch=None):
        strategy = model.distribute_strategy
        if iterator is not None and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            for _, _, batches in iterator:
                data_batch = keras.tree.map_structure(
                    lambda value: strategy.experimental_local_results(value)[0], next(batches)
                )
                break
            iterator = None
        return original_build(model, iterator=iterator, data_batch=data_batch)

    tensorflow_trainer.reduce_per_replica = reduce_per_replica
    tensorflow_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    try:
        yield
    finally:
        tensorflow_trainer.reduce_per_replica = original_reduce
        tensorflow_trainer.TensorFlowTrainer._maybe_symbolic_build = original_build


def synchronize_batch_norm(model):
    """Makes every `BatchNormalization` of `model` (nested ones too) compute synchronized stats.

    Same as building them with `synchronized=True`: under a multi-replica strategy the batch
    mean and variance are all-reduced over the replicas, so a per-replica batch of 8 normalizes
    like the global batch (on one device nothing changes); inference is unaffected. The model
    zoo's classes rebuild their layers from constructor arguments, so a `model.keras` loaded
    later has plain BatchNorm again: call this again before training it on many replicas.
    Returns the number of layers switched.
    """
    switched = 0
    for layer in batch_norm_layers(model):
        layer.synchronized = True
        switched += 1
    return switched


def batch_norm_layers(model):
    """Every `BatchNormalization` layer of `model`, nested ones too, in layer order."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
