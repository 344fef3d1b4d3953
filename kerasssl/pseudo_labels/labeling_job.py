"""The labeling job: a teacher's softmax over an unlabeled pool, written to disk in shards.

Layout of `output_dir`:
    manifest.json              written first, then again with "finished": true at the end:
                               num_images, num_classes, shard_size, num_shards, temperature,
                               the teacher's weights hash and the pool's pixels hash
    shard-00000-of-00012.npy   float32 [shard_size, num_classes] probabilities, in pool order
    ...

Each shard is written to a temporary file and renamed, so a killed job leaves only whole
shards; rerunning it skips them and, predictions being deterministic, ends with byte-identical
files. A rerun with another teacher, pool or job setting is an error, never a silent reuse or a
mix of two teachers' shards: label into another folder, or pass `overwrite=True` to delete the
old job. Images are not augmented (Noisy Student labels clean images).
"""

import json
import os
import pathlib
import tempfile

import keras
import numpy as np

from kerasssl import files
from kerasssl.pseudo_labels.fingerprints import images_fingerprint, weights_fingerprint

MANIFEST = "manifest.json"


def shard_name(index, num_shards):
    return f"shard-{index:05d}-of-{num_shards:05d}.npy"


def _atomic_save_array(path, array):
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, array, allow_pickle=False)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def softmax(logits):
    """float32 softmax of [n, C] logits, computed in float64 (shared with the Beam labeler)."""
    logits = logits.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    exponentials = np.exp(logits)
    return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)


def label_images(
    model,
    images,
    output_dir,
    shard_size=8192,
    batch_size=256,
    verbose=1,
    temperature=1.0,
    overwrite=False,
):
    """Writes `softmax(model(images) / temperature)` to `output_dir` in shards; resumable.

    Args:
        model: a `keras.Model` mapping float32 [B, H, W, C] images in [0, 255] to logits.
        images: np.uint8 [N, H, W, C] (or anything sliceable to such arrays, e.g. np.memmap or
            a `ShardImages` of data shards, so the pool need not fit in memory), N >= 1.
        output_dir: folder of the shards and `manifest.json`.
        shard_size: images per shard (the unit of resumption).
        batch_size: images per forward pass.
        verbose: 1 shows a progress bar over images, 0 is silent.
        temperature: > 0; divides the logits (1 keeps the teacher's own probabilities).
        overwrite: False (default) raises a ValueError when `output_dir` holds a job of another
            teacher (weights hash), pool (pixels hash) or setting; True deletes that job's
            files and labels afresh.

    Returns:
        The manifest dict. The probabilities are read back with `load_probabilities` or,
        streaming, `read_shards` (and `read_rows` for chosen images).

    Example:
        >>> label_images(teacher, data.unlabeled.images, "runs/x/pseudo_labels")
        >>> probabilities = load_probabilities("runs/x/pseudo_labels")
    """
    num_images = len(images)
    if num_images == 0:
        raise ValueError(
            "images is empty: the unlabeled pool has no image; set config.data.labels_per_class "
            "so that part of the training split is left unlabeled, or pass images."
        )
    for name, value in (("shard_size", shard_size), ("batch_size", batch_size)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    output_dir = pathlib.Path(output_dir)
    num_shards = -(-num_images // shard_size)
    job = {
        "num_images": int(num_images),
        "num_classes": int(model.outputs[0].shape[-1]),
        "shard_size": int(shard_size),
        "num_shards": int(num_shards),
        "temperature": float(temperature),
        "teacher_weights_sha256": weights_fingerprint(model),
        "pool_sha256": images_fingerprint(images),
    }
    manifest_path = output_dir / MANIFEST
    stored = _stored_job(output_dir)
    if stored is not None and stored != job:
        if not overwrite:
            raise different_job_error(output_dir, stored, job)
        delete_job(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if manifest_path.is_file() and json.loads(manifest_path.read_text()).get("finished"):
        return finished_manifest(output_dir)
    # Written before any shard, so every shard on disk is known to come from this job.
    files.atomic_write_json(manifest_path, {**job, "finished": False})
    progress = keras.utils.Progbar(num_images, unit_name="image") if verbose else None
    for shard in range(num_shards):
        start, stop = shard * shard_size, min(num_images, (shard + 1) * shard_size)
        path = output_dir / shard_name(shard, num_shards)
        if not path.is_file():
            # One predict call per shard: Keras' compiled predict loop runs the batches, so the
            # job keeps model.predict's throughput.
            logits = model.predict(
                np.asarray(images[start:stop], np.float32), batch_size=batch_size, verbose=0
            )
            _atomic_save_array(path, softmax(np.asarray(logits) / temperature))
        if progress is not None:
            progress.update(stop)
    manifest = {**job, "finished": True}
    files.atomic_write_json(manifest_path, manifest)
    return manifest


def _stored_job(output_dir):
    """The job recorded in `output_dir` without its "finished" flag; None for an empty folder."""
    manifest_path = output_dir / MANIFEST
    if manifest_path.is_file():
        stored = json.loads(manifest_path.read_text())
        stored.pop("finished", None)
        return stored
    if output_dir.is_dir() and any(output_dir.glob("shard-*.npy")):
        return {"shards": "present, without a manifest naming their teacher"}
    return None


def delete_job(output_dir):
    # Only the job's own files: output_dir may be a folder the user keeps other things in.
    for path in output_dir.glob("*"):
        if path.name == MANIFEST or path.name.startswith(("shard-", ".shard-")):
            path.unlink()


def different_job_error(output_dir, stored, job):
    fields = sorted(key for key in {*stored, *job} if stored.get(key) != job.get(key))
    names = {
        "teacher_weights_sha256": "another teacher (its weights differ)",
        "pool_sha256": "another unlabeled pool (its images differ)",
        "format": "another kind of labeling job (the Beam labeler's soft-label shards, "
        "config.pseudo_labels.runner, or the in-process job's .npy shards)",
    }
    if "format" in fields and "shards" not in fields:
        fields = ["format"]  # its other fields are another job's, not an older kerasssl's
    reasons = []
    for field in fields:
        if field == "format":
            reasons.append(names[field])
        elif field not in stored:
            reasons.append(f"it does not record {field} (an older kerasssl wrote it)")
        elif field in names:
            reasons.append(names[field])
        elif field in job:
            reasons.append(f"{field}={stored[field]!r} (this job: {job[field]!r})")
        else:
            reasons.append(f"{field}: {stored[field]}")
    return ValueError(
        f"{output_dir} holds pseudo-labels of a different labeling job: {'; '.join(reasons)}. "
        "Reusing them would return (or mix in) that job's labels. Use another output_dir (with "
        "the `kerasssl` command: a new --workdir), or delete the old job (label_images(..., "
        "overwrite=True), or beam_labeling.label_shards(..., overwrite=True)) to label afresh."
    )


def finished_manifest(output_dir):
    path = pathlib.Path(output_dir) / MANIFEST
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    if not manifest.get("finished"):
        raise FileNotFoundError(
            f"{path} does not mark a finished job: the labeling job in {output_dir} has not "
            "finished; rerun label_images (or `kerasssl label`) to complete it."
        )
    return manifest


def read_shards(output_dir):
    """Yields (first pool index, float32 [n, num_classes] probabilities) shard by shard."""
    manifest = finished_manifest(output_dir)
    for shard in range(manifest["num_shards"]):
        path = pathlib.Path(output_dir) / shard_name(shard, manifest["num_shards"])
        yield shard * manifest["shard_size"], np.load(path)


def read_rows(output_dir, indices):
    """float32 [len(indices), num_classes]: the probabilities of pool images `indices`.

    Repeats and any order are allowed (a balanced selection repeats images). Read one shard at
    a time, and only the shards holding a requested image: memory O(len(indices) x
    num_classes) plus one shard, whatever the pool size. Bit for bit
    `load_probabilities(output_dir)[indices]`.
    """
    manifest = finished_manifest(output_dir)
    indices = np.asarray(indices)
    # An empty list is float64 to numpy: no index is no error.
    if indices.ndim != 1 or (len(indices) and not np.issubdtype(indices.dtype, np.integer)):
        raise ValueError(
            f"indices must be a 1-D array of pool positions, got dtype {indices.dtype} and "
            f"shape {indices.shape}: pass a Selection's indices."
        )
    indices = indices.astype(np.int64)
    num_images, shard_size = manifest["num_images"], manifest["shard_size"]
    if len(indices) and (indices.min() < 0 or indices.max() >= num_images):
        raise ValueError(
            f"indices must be in [0, {num_images}) (the job labeled {num_images} images), got "
            f"{indices.min()} .. {indices.max()}: pass positions in the pool this job labeled."
        )
    rows = np.empty((len(indices), manifest["num_classes"]), np.float32)
    order = np.argsort(indices, kind="stable")
    sorted_indices = indices[order]
    for shard in range(manifest["num_shards"]):
        start = shard * shard_size
        low, high = np.searchsorted(sorted_indices, [start, start + shard_size])
        if high > low:
            path = pathlib.Path(output_dir) / shard_name(shard, manifest["num_shards"])
            rows[order[low:high]] = np.load(path)[sorted_indices[low:high] - start]
    return rows


def load_probabilities(output_dir):
    """All probabilities of a finished job, float32 [num_images, num_classes].

    4 x num_classes bytes per image: for a pool larger than memory, stream it with
    `read_shards` and read selected rows with `read_rows`.
    """
    return np.concatenate([probabilities for _, probabilities in read_shards(output_dir)])
