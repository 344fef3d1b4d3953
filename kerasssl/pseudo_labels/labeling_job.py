"""The labeling job: a teacher's softmax over an unlabeled pool, written to disk in shards.

Layout of `output_dir`:
    shard-00000-of-00012.npy   float32 [shard_size, num_classes] probabilities, in pool order
    ...
    manifest.json              written last: num_images, num_classes, shard_size, num_shards

Each shard is written to a temporary file and renamed, so a killed job leaves only whole
shards; rerunning it skips them and, predictions being deterministic, ends with byte-identical
files. Images are not augmented (Noisy Student labels clean images).
"""

import json
import os
import pathlib
import tempfile

import keras
import numpy as np

from kerasssl import files

MANIFEST = "manifest.json"


def _shard_name(index, num_shards):
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


def _softmax(logits):
    logits = logits.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    exponentials = np.exp(logits)
    return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)


def label_images(
    model, images, output_dir, shard_size=8192, batch_size=256, verbose=1, temperature=1.0
):
    """Writes `softmax(model(images) / temperature)` to `output_dir` in shards; resumable.

    Args:
        model: a `keras.Model` mapping float32 [B, H, W, C] images in [0, 255] to logits.
        images: np.uint8 [N, H, W, C] (or anything sliceable to such arrays, e.g. np.memmap,
            so the pool need not fit in memory), N >= 1.
        output_dir: folder of the shards and `manifest.json`.
        shard_size: images per shard (the unit of resumption).
        batch_size: images per forward pass.
        verbose: 1 shows a progress bar over images, 0 is silent.
        temperature: > 0; divides the logits (1 keeps the teacher's own probabilities).

    Returns:
        The manifest dict. The probabilities are read back with `load_probabilities` or,
        streaming, `read_shards`.

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
    output_dir.mkdir(parents=True, exist_ok=True)
    num_shards = -(-num_images // shard_size)
    num_classes = int(model.outputs[0].shape[-1])
    expected = {
        "num_images": int(num_images),
        "num_classes": num_classes,
        "shard_size": int(shard_size),
        "num_shards": int(num_shards),
        "temperature": float(temperature),
    }
    manifest_path = output_dir / MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest != expected:
            raise ValueError(
                f"{output_dir} holds a labeling job with {manifest}, not {expected}: use another "
                "output_dir or delete it."
            )
        return manifest
    progress = keras.utils.Progbar(num_images, unit_name="image") if verbose else None
    for shard in range(num_shards):
        start, stop = shard * shard_size, min(num_images, (shard + 1) * shard_size)
        path = output_dir / _shard_name(shard, num_shards)
        if not path.is_file():
            # One predict call per shard: Keras' compiled predict loop runs the batches, so the
            # job keeps model.predict's throughput.
            logits = model.predict(
                np.asarray(images[start:stop], np.float32), batch_size=batch_size, verbose=0
            )
            _atomic_save_array(path, _softmax(np.asarray(logits) / temperature))
        if progress is not None:
            progress.update(stop)
    files.atomic_write_json(manifest_path, expected)
    return expected


def _manifest(output_dir):
    path = pathlib.Path(output_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: the labeling job in {output_dir} has not finished; rerun "
            "label_images (or `kerasssl label`) to complete it."
        )
    return json.loads(path.read_text())


def read_shards(output_dir):
    """Yields (first pool index, float32 [n, num_classes] probabilities) shard by shard."""
    manifest = _manifest(output_dir)
    for shard in range(manifest["num_shards"]):
        path = pathlib.Path(output_dir) / _shard_name(shard, manifest["num_shards"])
        yield shard * manifest["shard_size"], np.load(path)


def load_probabilities(output_dir):
    """All probabilities of a finished job, float32 [num_images, num_classes]."""
    return np.concatenate([probabilities for _, probabilities in read_shards(output_dir)])
