"""The labeling job as an Apache Beam pipeline: `kerasssl label --runner=direct|dataflow|...`.

    pool shards (kerasssl.data.shards)
      -> teacher inference: a DoFn that loads the `.keras` teacher once per worker
      -> soft-label shards (kerasssl.pseudo_labels.soft_label_shards), one per pool shard
      -> a selection (kerasssl.pseudo_labels.beam_selection): Noisy Student's threshold and
         balancing, or billion-scale's top-K per class with at most P classes per image

Layout of `output_dir`:
    manifest.json                            written first ("finished": false), then again at
                                             the end: format, num_images, num_classes,
                                             temperature, the teacher's weights hash, the pool
                                             (split, count, hash of its shard manifest), then
                                             the soft-label shards (file, count, first_id,
                                             sha256) and the selection's summary
    soft_labels-00000-of-00008.array_record  the probabilities of pool shard 0's images, ...
    selection.npy, selection.json            the selection (see beam_selection)

Every file is written to a temporary name and renamed, so a killed job leaves whole files only;
a rerun skips the soft-label shards already written (their images are not labeled again) and,
predictions being deterministic, ends with byte-identical files. A rerun with another teacher,
pool, temperature or another kind of labeling job (the in-process `label_images`) in the same
folder is an error, never a silent reuse: label into another folder or pass `overwrite=True`.
A rerun with another selection keeps the soft labels and selects again.

Runners: "direct" runs in this process on `num_workers` threads (one teacher copy they share);
"dataflow", "flink" and "spark" need their runner's options (`pipeline_arguments`, e.g.
`--project=... --region=... --temp_location=gs://...`, or `--flink_master=host:8081`), kerasssl
installed on the workers, and an `output_dir` and pool folder that every worker reads and
writes (a shared file system: the shards are ArrayRecord files opened by path).

Needs `pip install 'kerasssl[beam]'`.
"""

import contextlib
import hashlib
import json
import logging
import pathlib

import apache_beam as beam
import numpy as np
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.utils import shared

from kerasssl import files
from kerasssl.data import shards
from kerasssl.pseudo_labels import beam_selection, labeling_job, soft_label_shards
from kerasssl.pseudo_labels.fingerprints import images_fingerprint, weights_fingerprint

FORMAT = "kerasssl-soft-labels/1"
MANIFEST = "manifest.json"
RUNNERS = {
    # The runner Beam's DirectRunner runs batch pipelines on, named directly: the DirectRunner
    # first tries Prism, a binary it downloads at run time.
    "direct": "FnApiRunner",
    "dataflow": "DataflowRunner",
    "flink": "FlinkRunner",
    "spark": "SparkRunner",
}
# Images decoded at a time: a multiple of the batch size from each shard's start, so a shard's
# batches are the in-process job's (same images per batch: same floats).
BATCHES_PER_CALL = 16


def check_runner(runner):
    if runner not in RUNNERS:
        raise ValueError(
            f"runner must be one of {sorted(RUNNERS)}, got {runner!r}: set --runner (or "
            "config.pseudo_labels.runner; empty runs the in-process labeling job)."
        )


def pipeline_options(runner="direct", num_workers=2, pipeline_arguments=()):
    """Beam `PipelineOptions` for `runner`; "direct" runs `num_workers` threads in-process."""
    check_runner(runner)
    arguments = [f"--runner={RUNNERS[runner]}"]
    if runner == "direct":
        if not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(
                f"num_workers must be an int >= 1, got {num_workers!r}: set "
                "config.pseudo_labels.num_workers."
            )
        # Threads, not processes: a worker process would import TensorFlow again; predict
        # releases the GIL.
        arguments += [
            f"--direct_num_workers={num_workers}",
            "--direct_running_mode=multi_threading",
        ]
    return PipelineOptions([*arguments, *pipeline_arguments])


def pool_fingerprint(pool_manifest):
    """SHA-256 of a shard manifest's split, count, image shape and per-shard file hashes."""
    identity = {key: pool_manifest[key] for key in ("split", "count", "image_shape", "shards")}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


class _Teacher:
    """A loaded teacher and its traced forward pass, shared by a process's worker threads.

    `model(x, training=False)` in one `tf.function` is what `model.predict` runs per batch
    (same ops, same batch shapes: the same floats); one trace serves every thread, and
    concurrent calls of a traced function are safe.
    """

    def __init__(self, path):
        import tensorflow as tf

        self.model = files.load_model(path, compile=False)
        shape = tuple(self.model.inputs[0].shape[1:])
        self.logits = tf.function(
            lambda images: self.model(images, training=False),
            input_signature=[tf.TensorSpec((None, *shape), tf.float32)],
        )

    def predict(self, images, batch_size):
        return np.concatenate(
            [
                self.logits(images[start : start + batch_size]).numpy()
                for start in range(0, len(images), batch_size)
            ]
        )


class _LabelShard(beam.DoFn):
    """Pool shard index -> its soft-label shard on disk, and its (ids, probabilities) batches.

    The teacher is loaded once per worker process (`apache_beam.utils.shared`: the
    DirectRunner's threads share one copy), on the first shard that needs it: a rerun whose
    shards are all written loads no teacher.
    """

    def __init__(self, teacher_path, pool_dir, split, output_dir, batch_size, temperature):
        self.teacher_path, self.pool_dir, self.split = str(teacher_path), str(pool_dir), split
        self.output_dir, self.batch_size, self.temperature = (
            str(output_dir),
            batch_size,
            temperature,
        )
        self._shared_teacher = shared.Shared()

    def setup(self):
        self._teacher = None
        self._reader = None

    def _load(self):
        if self._teacher is None:
            # The tag: another teacher file in the same process is loaded, not reused.
            self._teacher = self._shared_teacher.acquire(
                lambda: _Teacher(self.teacher_path), tag=self.teacher_path
            )
        return self._teacher

    def process(self, shard_index):
        if self._reader is None:
            self._reader = shards.ShardReader(self.pool_dir, self.split)
        entries = self._reader.manifest["shards"]
        path = pathlib.Path(self.output_dir) / soft_label_shards.file_name(
            shard_index, len(entries)
        )
        if path.is_file():  # written whole by an earlier (killed) run of the same job
            yield soft_label_shards.read_shard(path)
            return
        start = sum(entry["count"] for entry in entries[:shard_index])
        count = entries[shard_index]["count"]
        step = self.batch_size * BATCHES_PER_CALL
        id_parts, probability_parts = [], []
        for offset in range(0, count, step):
            positions = np.arange(start + offset, start + min(count, offset + step))
            images, _, ids = self._reader.read(positions)
            logits = self._load().predict(images.astype(np.float32), self.batch_size)
            id_parts.append(ids)
            probability_parts.append(labeling_job.softmax(logits / self.temperature))
        ids, probabilities = np.concatenate(id_parts), np.concatenate(probability_parts)
        soft_label_shards.write_shard(path, ids, probabilities)
        yield ids, probabilities


def label_shards(
    teacher_path,
    pool_dir,
    output_dir,
    *,
    split,
    selection=None,
    runner="direct",
    num_workers=2,
    batch_size=256,
    temperature=1.0,
    pipeline_arguments=(),
    overwrite=False,
    verify_checksums=True,
):
    """Labels the pool shards in `pool_dir` with a `.keras` teacher on Beam; resumable.

    Args:
        teacher_path: the teacher's `.keras` file (images float32 in [0, 255] -> logits).
        pool_dir: a folder of `kerasssl.data.shards` (its manifest and ArrayRecord files).
        output_dir: folder of the soft-label shards, the selection and `manifest.json`.
        split: the pool's split name (its shard files are `<split>-*.array_record`).
        selection: a `beam_selection.SelectConfidentBalanced` or `SelectTopKPerClass`, or None
            (soft labels only).
        runner: "direct" | "dataflow" | "flink" | "spark".
        num_workers: DirectRunner threads.
        batch_size: images per forward pass.
        temperature: > 0; divides the logits.
        pipeline_arguments: extra Beam flags for the runner, e.g. ["--project=p"].
        overwrite: False (default) raises a ValueError when `output_dir` holds another job;
            True deletes that job's files and labels afresh.
        verify_checksums: True checks the pool shards' SHA-256 first (reads them once).

    Returns:
        The final manifest dict. Read the results with `read_selection` / `load_soft_labels`.

    Example:
        >>> transform = beam_selection.SelectTopKPerClass(k=300, p=2, num_classes=10)
        >>> label_shards("runs/t/model.keras", "shards/unlabeled", "runs/t/pseudo_labels",
        ...              split="unlabeled", selection=transform)
        >>> selection = beam_selection.read_selection("runs/t/pseudo_labels", num_classes=10)
    """
    check_runner(runner)
    for name, value in (("batch_size", batch_size), ("num_workers", num_workers)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    pool_manifest = shards.read_manifest(pool_dir, split, verify_checksums=verify_checksums)
    teacher = files.load_model(teacher_path, compile=False)
    num_classes = int(teacher.outputs[0].shape[-1])
    if getattr(selection, "num_classes", num_classes) != num_classes:
        raise ValueError(
            f"the selection is for {selection.num_classes} classes but the teacher "
            f"{teacher_path} predicts {num_classes}: build it with num_classes={num_classes}."
        )
    output_dir = pathlib.Path(output_dir)
    job = {
        "format": FORMAT,
        "num_images": int(pool_manifest["count"]),
        "num_classes": num_classes,
        "num_shards": len(pool_manifest["shards"]),
        "temperature": float(temperature),
        "teacher_weights_sha256": weights_fingerprint(teacher),
        "pool_split": split,
        "pool_sha256": pool_fingerprint(pool_manifest),
    }
    del teacher
    stored = _stored_job(output_dir)
    if stored is not None and stored != job:
        if not overwrite:
            raise labeling_job.different_job_error(output_dir, stored, job)
        _delete_job(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # A killed run's half-written files (never renamed to their names, so never read).
    for temporary in output_dir.glob(".*.tmp"):
        temporary.unlink(missing_ok=True)
    manifest_path = output_dir / MANIFEST
    previous = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    wanted = selection.settings() if selection is not None else None
    if previous.get("finished") and (previous.get("selection") or {}).get("settings") == wanted:
        return previous
    # Written before any shard, so every shard on disk is known to come from this job.
    files.atomic_write_json(manifest_path, {**job, "finished": False})
    options = pipeline_options(runner, num_workers, pipeline_arguments)
    with _quiet_beam_logs(), beam.Pipeline(options=options) as pipeline:
        batches = (
            pipeline
            | "PoolShards" >> beam.Create(list(range(job["num_shards"])), reshuffle=True)
            | "Label"
            >> beam.ParDo(
                _LabelShard(teacher_path, pool_dir, split, output_dir, int(batch_size), temperature)
            )
        )
        if selection is not None:
            per_class = batches | "Select" >> selection
            _ = (per_class, batches) | "WriteSelection" >> beam_selection.WriteSelection(
                selection, output_dir
            )
    summary = None
    if selection is not None:
        summary = json.loads((output_dir / beam_selection.SELECTION_SUMMARY).read_text())
        summary = {"settings": wanted, "file": beam_selection.SELECTION_ARRAY, **summary}
    else:
        for name in (beam_selection.SELECTION_ARRAY, beam_selection.SELECTION_SUMMARY):
            (output_dir / name).unlink(missing_ok=True)  # not this run's
    entries = []
    for index, pool_entry in enumerate(pool_manifest["shards"]):
        name = soft_label_shards.file_name(index, job["num_shards"])
        entries.append(
            {
                "file": name,
                "count": pool_entry["count"],
                "first_id": pool_entry["first_id"],
                "sha256": shards.file_sha256(output_dir / name),
            }
        )
    manifest = {**job, "shards": entries, "selection": summary, "finished": True}
    files.atomic_write_json(manifest_path, manifest)
    return manifest


@contextlib.contextmanager
def _quiet_beam_logs():
    """Beam's per-bundle INFO lines off (unless its logger was given a level of its own)."""
    logger = logging.getLogger("apache_beam")
    unset = logger.level == logging.NOTSET
    if unset:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        if unset:
            logger.setLevel(logging.NOTSET)


def _stored_job(output_dir):
    """The job recorded in `output_dir` (its identity fields only); None for an empty folder."""
    manifest_path = output_dir / MANIFEST
    if manifest_path.is_file():
        stored = json.loads(manifest_path.read_text())
        for field in ("finished", "shards", "selection"):
            stored.pop(field, None)
        return stored
    if output_dir.is_dir() and any(output_dir.glob(f"{soft_label_shards.SPLIT}-*")):
        return {"shards": "present, without a manifest naming their teacher"}
    return None


def _delete_job(output_dir):
    labeling_job.delete_job(output_dir)  # an in-process job's files, if it was one
    names = (beam_selection.SELECTION_ARRAY, beam_selection.SELECTION_SUMMARY)
    for path in output_dir.glob("*"):
        if path.name in names or path.name.lstrip(".").startswith(soft_label_shards.SPLIT):
            path.unlink()


def finished_manifest(output_dir):
    """The manifest of a finished Beam labeling job in `output_dir`; FileNotFoundError if none."""
    path = pathlib.Path(output_dir) / MANIFEST
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    if manifest.get("format") != FORMAT or not manifest.get("finished"):
        raise FileNotFoundError(
            f"{path} does not mark a finished Beam labeling job: rerun label_shards (or "
            "`kerasssl label --runner=...`) to complete it."
        )
    return manifest


def load_soft_labels(output_dir):
    """(int64 ids [N], float32 probabilities [N, C]) of a finished job, in pool-shard order."""
    output_dir = pathlib.Path(output_dir)
    manifest = finished_manifest(output_dir)
    parts = [
        soft_label_shards.read_shard(output_dir / entry["file"]) for entry in manifest["shards"]
    ]
    ids = np.concatenate([part[0] for part in parts])
    probabilities = np.concatenate([part[1] for part in parts]).reshape(
        len(ids), manifest["num_classes"]
    )
    return ids, probabilities


def read_soft_label_shards(output_dir):
    """Yields (int64 ids [n], float32 probabilities [n, C]) of a finished job, shard by shard:
    memory is one shard, whatever the pool size."""
    output_dir = pathlib.Path(output_dir)
    manifest = finished_manifest(output_dir)
    for entry in manifest["shards"]:
        ids, probabilities = soft_label_shards.read_shard(output_dir / entry["file"])
        yield ids, probabilities.reshape(len(ids), manifest["num_classes"])


def gather_soft_labels(output_dir, ids):
    """The probability rows of `ids` (int64 [m], repeats allowed), float32 [m, C], read shard
    by shard: memory O(m x C) for the rows plus one shard, never the pool's [N, C] matrix.

    Raises ValueError naming the ids the job did not label.
    """
    ids = np.asarray(ids, np.int64)
    order = np.argsort(ids, kind="stable")
    wanted = ids[order]
    rows = np.zeros((len(ids), finished_manifest(output_dir)["num_classes"]), np.float32)
    found = np.zeros(len(ids), bool)
    for shard_ids, probabilities in read_soft_label_shards(output_dir):
        if len(shard_ids) == 0:
            continue
        shard_order = np.argsort(shard_ids, kind="stable")
        sorted_ids = shard_ids[shard_order]
        where = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
        hit = sorted_ids[where] == wanted
        rows[order[hit]] = probabilities[shard_order[where[hit]]]
        found[order[hit]] = True
    if not found.all():
        missing = np.unique(ids[~found])
        raise ValueError(
            f"the soft labels in {output_dir} have no row for image ids {missing[:10].tolist()}"
            f"{' ...' if len(missing) > 10 else ''}: label the same pool again (`kerasssl "
            "label --overwrite`)."
        )
    return rows


def _stream(images, chunk_size=4096):
    """The images one at a time, read `chunk_size` at a time (a `ShardImages` view is never
    held in memory whole)."""
    for start in range(0, len(images), chunk_size):
        yield from np.asarray(images[start : start + chunk_size])


def write_pool(images, pool_dir, records_per_shard, split="unlabeled"):
    """Writes a pool as shards (ids = positions 0..N-1) unless already there.

    `images`: uint8 [N, H, W, C], or a `ShardImages` view (a shards source's unlabeled pool,
    streamed: its positions become the ids 0..N-1 that selections index).

    A pool already in `pool_dir` is kept when its pixels hash (recorded beside it) is `images`'s;
    another pool is replaced. Returns the pool's shard manifest.
    """
    pool_dir = pathlib.Path(pool_dir)
    marker = pool_dir / "pixels_sha256.json"
    identity = {
        "pixels_sha256": images_fingerprint(images),
        "records_per_shard": int(records_per_shard),
    }
    if marker.is_file() and json.loads(marker.read_text()) == identity:
        try:
            return shards.read_manifest(pool_dir, split)
        except ValueError:
            pass  # damaged: written again below
    marker.unlink(missing_ok=True)
    manifest = shards.write_shards(
        pool_dir,
        _stream(images),
        split=split,
        classes=["unlabeled"],
        image_shape=tuple(images.shape[1:]),
        records_per_shard=int(records_per_shard),
        overwrite=True,
    )
    files.atomic_write_json(marker, identity)
    return manifest
