"""Sharded on-disk image sets: ArrayRecord files of `tf.train.Example`s plus a `manifest.json`.

Layout of one split's folder (one split per folder; `kerasssl prepare` writes `<out>/<split>/`):
    manifest.json                          written last, atomically
    <split>-00000-of-00008.array_record    ...
    <split>-00007-of-00008.array_record

Each record is a serialized `tf.train.Example` with the features
    image  bytes   the image, PNG-encoded (lossless: decoded pixels equal the written ones)
    label  int64   class id in [0, len(classes)), -1 for an unlabeled image
    id     int64   the image's global index in the data set
The ids of one shard are consecutive: `first_id`, `first_id + 1`, ... (shards must not overlap),
so an id is found from the manifest alone (`ShardReader.positions`).

`manifest.json`:
    {"format": "kerasssl-shards/1", "split": str, "count": int, "classes": [names],
     "image_shape": [h, w, c], "class_counts": [int per class] (labels -1 are not counted),
     "shards": [{"file", "count", "first_id", "sha256"}, ...]}
`class_counts` is an addition to the fields the brief of issue 15 fixed; readers must ignore
fields they do not know.

Why ArrayRecord: it is random-access (a record by its number, `group_size:1` so a read
decodes one record only), which keeps kerasssl's exact resume unchanged: training streams stay a
stateless, seeded index shuffle over a random-access source (`kerasssl.data.batch_stream`), a
pure function of (seed, step), nothing to checkpoint. TFRecord is sequential only: it would need
a shuffle buffer and a checkpointed iterator. The records are `tf.train.Example`s, so
`tf.io.parse_example` (and any TFRecord/ArrayRecord tool, tfds' `ArrayRecordDataSource`, grain)
reads them. Records are stored uncompressed: PNG bytes do not compress further.

Bad input raises a ValueError naming the shard or field and the fix: a shard whose record count
differs from the manifest (truncated), a record that cannot be read or decoded (corrupt), a
checksum mismatch (`verify_checksums=True`), an image whose shape is not `image_shape`. A failed
`write_shards` deletes only its own temporary files: a folder's previous manifest and shards stay
until the new ones are complete.
"""

import collections
import hashlib
import io
import json
import os
import pathlib
import tempfile
import threading

import numpy as np
from PIL import Image

FORMAT = "kerasssl-shards/1"
MANIFEST = "manifest.json"
SUFFIX = ".array_record"
# One record per chunk: a random read decodes that record only. PNG is already compressed.
WRITER_OPTIONS = "group_size:1,uncompressed"
# What array_record advises for random access (no readahead, no reader threads).
READER_OPTIONS = "readahead_buffer_size:0,max_parallelism:0"
DEFAULT_RECORDS_PER_SHARD = 8192
OPEN_READERS_PER_THREAD = 32
_HASH_BLOCK = 1 << 20
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def shard_file_name(split, index, num_shards):
    """`<split>-<index:05d>-of-<num_shards:05d>.array_record`."""
    return f"{split}-{index:05d}-of-{num_shards:05d}{SUFFIX}"


def encode_png(image) -> bytes:
    """PNG bytes of a uint8 [H, W, C] image (C = 1, 3 or 4)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] not in _PIL_MODES:
        raise ValueError(
            f"an image must be uint8 [H, W, C] with C in {sorted(_PIL_MODES)}; got dtype "
            f"{image.dtype}, shape {image.shape}."
        )
    pixels = image[..., 0] if image.shape[-1] == 1 else image
    buffer = io.BytesIO()
    Image.fromarray(pixels, _PIL_MODES[image.shape[-1]]).save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()


def decode_png(data: bytes, channels: int) -> np.ndarray:
    """uint8 [H, W, channels] pixels of PNG bytes."""
    with Image.open(io.BytesIO(data)) as image:
        if image.mode != _PIL_MODES[channels]:
            image = image.convert(_PIL_MODES[channels])
        pixels = np.asarray(image, np.uint8)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def encode_record(image, label=-1, id=0) -> bytes:  # noqa: A002 -- the feature's name
    """A serialized `tf.train.Example` {image: PNG bytes, label: int64, id: int64}."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    feature = example.features.feature
    feature["image"].bytes_list.value.append(encode_png(image))
    feature["label"].int64_list.value.append(int(label))
    feature["id"].int64_list.value.append(int(id))
    # Deterministic: the features map would otherwise be written in a per-process hash order,
    # and a rerun in another process would write other bytes (and checksums) for one image.
    return example.SerializeToString(deterministic=True)


def decode_record(data: bytes, channels=None):
    """(uint8 [H, W, C] image, int label, int id) of a record `encode_record` wrote.

    `channels` None keeps the PNG's own channels (1 for grayscale, 3 for RGB, 4 for RGBA).
    """
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    example.ParseFromString(data)
    feature = example.features.feature
    try:
        png = feature["image"].bytes_list.value[0]
        label = int(feature["label"].int64_list.value[0])
        record_id = int(feature["id"].int64_list.value[0])
    except (IndexError, KeyError):
        raise ValueError(
            f"a record lacks one of the features image/label/id (it has {sorted(feature)}); it "
            "was not written by kerasssl.data.shards.encode_record."
        ) from None
    if channels is None:
        with Image.open(io.BytesIO(png)) as image:
            channels = {"L": 1, "RGB": 3, "RGBA": 4}.get(image.mode, 3)
    return decode_png(png, channels), label, record_id


def write_shards(
    directory,
    images_or_iterator,
    labels=None,
    ids=None,
    *,
    split,
    classes,
    image_shape,
    records_per_shard=DEFAULT_RECORDS_PER_SHARD,
    overwrite=False,
    allow_empty_classes=False,
):
    """Writes one split as ArrayRecord shards plus `manifest.json` into `directory`; atomic.

    Records are streamed: memory holds one record at a time whatever the split's size. Every
    shard goes to a temporary file; only when all are written and checked are they renamed to
    their names (`os.replace`) and the manifest is written (temporary file + `os.replace`).
    A failure before that deletes the temporary files and leaves the folder as it was.

    Args:
        directory: the split's folder (created if absent).
        images_or_iterator: uint8 [N, H, W, C] array, or an iterable of uint8 [H, W, C] images.
        labels: class ids (array or iterable, -1 for unlabeled), or None for all -1.
        ids: int ids (array or iterable), consecutive within each shard, or None for 0, 1, ...
        split: split name, e.g. "train"; names the shard files.
        classes: class names, in class-id order.
        image_shape: (h, w, c) every image must have.
        records_per_shard: records per shard file, >= 1.
        overwrite: True replaces a split already in `directory`; False (default) refuses.
        allow_empty_classes: False (default) refuses a split with labels in which a class has
            no image (it could never be learned); True writes it anyway.

    Returns:
        The manifest dict.

    Example:
    ```python
    write_shards("shards/train", images, labels, split="train", classes=["cat", "dog"],
                 image_shape=(32, 32, 3), records_per_shard=4096)
    images, labels, ids = ShardReader("shards/train", "train").read([0, 5, 7])
    ```
    """
    from array_record.python import array_record_module

    directory = pathlib.Path(directory)
    _check_split_name(split)
    classes = [str(name) for name in classes]
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"`classes` must be distinct class names, at least one; got {classes}.")
    image_shape = _check_image_shape(image_shape)
    if not isinstance(records_per_shard, int | np.integer) or records_per_shard < 1:
        raise ValueError(f"`records_per_shard` must be an int >= 1; got {records_per_shard!r}.")
    manifest_path = directory / MANIFEST
    if manifest_path.is_file():
        previous = json.loads(manifest_path.read_text())
        if previous.get("split") != split:
            raise ValueError(
                f"{directory} holds split {previous.get('split')!r}; a folder holds one split. "
                f"Write split {split!r} into its own folder, e.g. {directory.parent / split}."
            )
        if not overwrite:
            raise ValueError(
                f"{directory} already holds split {split!r} ({previous.get('count')} images); "
                "pass overwrite=True (`kerasssl prepare --overwrite`) to replace it, or write "
                "into another folder."
            )
    directory.mkdir(parents=True, exist_ok=True)
    records = _records(images_or_iterator, labels, ids)
    num_classes = len(classes)
    class_counts = np.zeros(num_classes, np.int64)
    shards, temporaries = [], []
    count = 0
    try:
        writer = None
        for image, label, record_id in records:
            image = np.asarray(image)
            if image.ndim == 2 and image_shape[2] == 1:
                image = image[..., None]
            if tuple(image.shape) != image_shape or image.dtype != np.uint8:
                raise ValueError(
                    f"image {count} (id {record_id}) of split {split!r} is {image.dtype} "
                    f"{list(image.shape)}, not uint8 {list(image_shape)} (field image_shape): "
                    "images of mixed sizes need resizing; pass image_size (`kerasssl prepare "
                    "--config.data.image_size=32`) or resize them first."
                )
            if not -1 <= label < num_classes:
                raise ValueError(
                    f"label {label} of image {count} (id {record_id}) of split {split!r} is "
                    f"outside [-1, {num_classes}) (field labels): pass class ids of `classes` "
                    "or -1 for unlabeled."
                )
            if writer is None or shards[-1]["count"] == records_per_shard:
                if writer is not None:
                    _close_shard(writer, shards[-1], temporaries[-1])
                handle, temporary = tempfile.mkstemp(
                    dir=directory, prefix=f".{split}-{len(shards):05d}.", suffix=".tmp"
                )
                os.close(handle)
                temporaries.append(temporary)
                writer = array_record_module.ArrayRecordWriter(temporary, WRITER_OPTIONS)
                shards.append({"count": 0, "first_id": int(record_id)})
            shard = shards[-1]
            if record_id != shard["first_id"] + shard["count"]:
                raise ValueError(
                    f"id {record_id} of image {count} breaks the consecutive ids of its shard "
                    f"(expected {shard['first_id'] + shard['count']}; field ids): the ids of "
                    "a shard must be first_id, first_id + 1, ... Pass ids=None to number the "
                    "images 0, 1, ..., or consecutive ids."
                )
            writer.write(encode_record(image, label, record_id))
            shard["count"] += 1
            count += 1
            if label >= 0:
                class_counts[label] += 1
        if writer is None:
            raise ValueError(f"split {split!r} has no image: pass at least one image.")
        _close_shard(writer, shards[-1], temporaries[-1])
        _check_ids_disjoint(shards, split)
        labeled = class_counts.sum() > 0
        empty = [name for name, n in zip(classes, class_counts, strict=True) if not n]
        if labeled and empty and not allow_empty_classes:
            raise ValueError(
                f"classes {empty} receive no image in split {split!r} (of classes {classes}); "
                "a class without images can never be learned. Add images of those classes, "
                "remove them from `classes`, or pass allow_empty_classes=True. Nothing was "
                f"written to {directory}."
            )
        names = [shard_file_name(split, index, len(shards)) for index in range(len(shards))]
        for shard, name in zip(shards, names, strict=True):
            shard["file"] = name
        manifest = {
            "format": FORMAT,
            "split": split,
            "count": int(count),
            "classes": classes,
            "image_shape": list(image_shape),
            "class_counts": class_counts.tolist(),
            "shards": [
                {key: shard[key] for key in ("file", "count", "first_id", "sha256")}
                for shard in shards
            ],
        }
        # From here on the old split is replaced: first its manifest goes, so a kill between
        # the renames leaves a folder without a manifest (unreadable), never a manifest
        # describing files that are not its own.
        manifest_path.unlink(missing_ok=True)
        for temporary, name in zip(temporaries, names, strict=True):
            os.replace(temporary, directory / name)
        temporaries = []
    finally:
        for temporary in temporaries:
            pathlib.Path(temporary).unlink(missing_ok=True)
    from kerasssl import files

    files.atomic_write_json(manifest_path, manifest)
    for path in directory.glob(f"{split}-*-of-*{SUFFIX}"):
        if path.name not in names:
            path.unlink()  # a previous version's shard
    return manifest


def _records(images, labels, ids):
    """(image, label, id) triples from arrays or iterables, checked for equal lengths."""
    lengths = {
        name: len(value)
        for name, value in (("images", images), ("labels", labels), ("ids", ids))
        if value is not None and hasattr(value, "__len__")
    }
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"images, labels and ids differ in length ({lengths}); pass one label and one id "
            "per image."
        )
    image_iterator = iter(images)
    label_iterator = iter(labels) if labels is not None else None
    id_iterator = iter(ids) if ids is not None else None
    position = 0
    for image in image_iterator:
        label = -1 if label_iterator is None else next(label_iterator, None)
        record_id = position if id_iterator is None else next(id_iterator, None)
        if label is None or record_id is None:
            raise ValueError(
                f"labels or ids ran out at image {position}; pass one label and one id per image."
            )
        yield image, int(label), int(record_id)
        position += 1


def _close_shard(writer, shard, temporary):
    writer.close()
    shard["sha256"] = file_sha256(temporary)
    # mkstemp makes the file private (0600); shards are data, readable as any written file.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)


def _check_ids_disjoint(shards, split):
    ranges = sorted((shard["first_id"], shard["first_id"] + shard["count"]) for shard in shards)
    for (_, stop), (start, _) in zip(ranges, ranges[1:], strict=False):
        if start < stop:
            raise ValueError(
                f"the ids of split {split!r} repeat (two shards both hold id {start}; field ids): "
                "every image needs its own id."
            )


def file_sha256(path) -> str:
    """Hex SHA-256 of a file's bytes, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory, split, verify_checksums=False) -> dict:
    """The validated manifest of the split in `directory`.

    Checks the format, the fields, that every shard file exists with the manifest's size
    (record count) and, with `verify_checksums=True`, its SHA-256 (reads every byte once).

    Raises:
        ValueError naming the folder, shard or field and the fix.
    """
    directory = pathlib.Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        hint = ""
        if (directory / split / MANIFEST).is_file():
            hint = f" (did you mean {directory / split}? a folder holds one split)"
        raise ValueError(
            f"{path} does not exist{hint}: {directory} is not a shard folder of split {split!r}. "
            "Write one with `kerasssl prepare` or kerasssl.data.shards.write_shards."
        )
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is damaged ({error}); write the split again with `kerasssl prepare`."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ValueError(
            f"{path} has format {found!r}, not {FORMAT!r} (field format): it was not written "
            "by this kerasssl; write the split again with `kerasssl prepare`."
        )
    for field in ("split", "count", "classes", "image_shape", "shards"):
        if field not in manifest:
            raise ValueError(f"{path} lacks the field {field!r}; write the split again.")
    if manifest["split"] != split:
        raise ValueError(
            f"{path} holds split {manifest['split']!r}, not {split!r} (field split): pass the "
            f"folder of split {split!r} (kerasssl prepare writes <out>/{split}/)."
        )
    if sum(shard["count"] for shard in manifest["shards"]) != manifest["count"]:
        raise ValueError(
            f"{path}: the shards' counts do not add up to count={manifest['count']} (field "
            "count); the manifest is damaged, write the split again."
        )
    for shard in manifest["shards"]:
        shard_path = directory / shard["file"]
        if not shard_path.is_file():
            raise ValueError(
                f"shard {shard_path} named in {path} is missing; restore it or write the split "
                "again with `kerasssl prepare --overwrite`."
            )
        if verify_checksums and file_sha256(shard_path) != shard["sha256"]:
            raise ValueError(
                f"shard {shard_path} does not match the sha256 in {path} (field "
                "shards[].sha256): the file is corrupt or was changed after writing. Restore "
                "it or write the split again with `kerasssl prepare --overwrite`."
            )
    return manifest


class ShardReader:
    """Random access to the images of one shard folder, by position 0..len-1 (shard order).

    Readers are opened lazily, one set per thread, so `read` may be called from tf.data's
    parallel map threads. Opening checks that every shard holds the manifest's record count
    (a truncated file holds fewer).

    Args:
        directory: the split's folder (holding `manifest.json`).
        split: the split's name, checked against the manifest.
        verify_checksums: True checks every shard's SHA-256 first (reads every byte once).

    Example:
    ```python
    reader = ShardReader("shards/train", "train")
    images, labels, ids = reader.read(np.arange(8))
    ```
    """

    def __init__(self, directory, split, verify_checksums=False):
        self.directory = pathlib.Path(directory)
        self.split = split
        self.manifest = read_manifest(directory, split, verify_checksums=verify_checksums)
        self.classes = tuple(self.manifest["classes"])
        self.image_shape = tuple(int(size) for size in self.manifest["image_shape"])
        shards = self.manifest["shards"]
        counts = np.array([shard["count"] for shard in shards], np.int64)
        self._starts = np.concatenate([[0], np.cumsum(counts)])
        self._first_ids = np.array([shard["first_id"] for shard in shards], np.int64)
        self._id_order = np.argsort(self._first_ids, kind="stable")
        self._local = threading.local()
        self._labels = None
        self._check_counts()  # now, rather than in a tf.data thread mid-training

    def __len__(self):
        return int(self.manifest["count"])

    @property
    def num_classes(self):
        return len(self.classes)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_local"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    def _open_shard(self, shard):
        from array_record.python import array_record_module

        path = self.directory / self.manifest["shards"][shard]["file"]
        try:
            return array_record_module.ArrayRecordReader(str(path), READER_OPTIONS)
        except (RuntimeError, ValueError) as error:
            raise self._corrupt(path, error) from None

    def _check_counts(self):
        for shard, entry in enumerate(self.manifest["shards"]):
            reader = self._open_shard(shard)
            try:
                num_records = reader.num_records()
                reader.close()
            except RuntimeError:
                num_records = 0  # too short to hold an index: truncated
            if num_records != entry["count"]:
                raise ValueError(
                    f"shard {self.directory / entry['file']} holds {num_records} records but "
                    f"{self.directory / MANIFEST} says {entry['count']} (field shards[].count): "
                    "the file is truncated or corrupt. Restore it or write the split again "
                    "with `kerasssl prepare --overwrite`."
                )

    def _reader(self, shard):
        """This thread's reader of `shard`, opened on first use.

        At most `OPEN_READERS_PER_THREAD` stay open per thread (least recently used closed
        first): a billion-image split has ~10^5 shards, more than a process may open.
        """
        readers = getattr(self._local, "readers", None)
        if readers is None:
            readers = self._local.readers = collections.OrderedDict()
        if shard in readers:
            readers.move_to_end(shard)
        else:
            readers[shard] = self._open_shard(shard)
            if len(readers) > OPEN_READERS_PER_THREAD:
                readers.popitem(last=False)[1].close()
        return readers[shard]

    def _corrupt(self, path, error):
        return ValueError(
            f"shard {path} is corrupt ({str(error).splitlines()[0][:200]}): restore it or write "
            "the split again with `kerasssl prepare --overwrite` (verify_checksums=True, "
            "config.data.verify_checksums, finds such files before training)."
        )

    def read_serialized(self, positions) -> list[bytes]:
        """The serialized records at `positions` (ints in [0, len)), in that order."""
        positions = np.asarray(positions, np.int64).reshape(-1)
        if positions.size and (positions.min() < 0 or positions.max() >= len(self)):
            raise IndexError(
                f"positions must lie in [0, {len(self)}); got {positions.tolist()[:5]}"
            )
        shard_of = np.searchsorted(self._starts, positions, side="right") - 1
        output = [b""] * len(positions)
        for shard in np.unique(shard_of):
            where = np.flatnonzero(shard_of == shard)
            local = (positions[where] - self._starts[shard]).tolist()
            try:
                records = self._reader(int(shard)).read(local)
            except RuntimeError as error:
                path = self.directory / self.manifest["shards"][shard]["file"]
                raise self._corrupt(path, error) from None
            for slot, record in zip(where.tolist(), records, strict=True):
                output[slot] = record
        return output

    def read(self, positions):
        """(uint8 images [n, h, w, c], int64 labels [n], int64 ids [n]) at `positions`."""
        records = self.read_serialized(positions)
        images = np.empty((len(records), *self.image_shape), np.uint8)
        labels = np.empty(len(records), np.int64)
        ids = np.empty(len(records), np.int64)
        for row, record in enumerate(records):
            try:
                image, labels[row], ids[row] = decode_record(record, self.image_shape[2])
            except (OSError, ValueError) as error:
                raise ValueError(
                    f"a record of {self.directory} (split {self.split!r}) cannot be decoded "
                    f"({error}); the shard is corrupt: write the split again."
                ) from None
            if image.shape != self.image_shape:
                raise ValueError(
                    f"a record of {self.directory} holds a {list(image.shape)} image, not "
                    f"{list(self.image_shape)} (field image_shape): the shard is corrupt."
                )
            images[row] = image
        return images, labels, ids

    def ids(self, positions):
        """int64 ids of the images at `positions`, from the manifest alone (no read)."""
        positions = np.asarray(positions, np.int64).reshape(-1)
        shard = np.searchsorted(self._starts, positions, side="right") - 1
        return self._first_ids[shard] + positions - self._starts[shard]

    def positions(self, ids):
        """Positions (for `read`) of the images with these ids; ValueError for an unknown id."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        sorted_first = self._first_ids[self._id_order]
        slot = np.searchsorted(sorted_first, ids, side="right") - 1
        shard = self._id_order[np.clip(slot, 0, None)]
        offset = ids - self._first_ids[shard]
        counts = np.diff(self._starts)
        unknown = (slot < 0) | (offset >= counts[shard])
        if unknown.any():
            raise ValueError(
                f"ids {ids[unknown][:5].tolist()} are not in split {self.split!r} of "
                f"{self.directory}."
            )
        return self._starts[shard] + offset

    def content_fingerprint(self):
        """SHA-256 of every shard's first id, count and checksum (reads no shard)."""
        digest = hashlib.sha256()
        for shard in self.manifest["shards"]:
            digest.update(f"{shard['first_id']}:{shard['count']}:{shard['sha256']};".encode())
        return digest.hexdigest()

    def labels(self, chunk_size=8192):
        """int64 [len] labels of every record, read once in shard order and cached.

        Parses the label feature only (no image decoding), `chunk_size` records at a time.
        """
        if self._labels is None:
            import tensorflow as tf

            features = {"label": tf.io.FixedLenFeature([], tf.int64)}
            parts = []
            for start in range(0, len(self), chunk_size):
                records = self.read_serialized(np.arange(start, min(len(self), start + chunk_size)))
                parsed = tf.io.parse_example(tf.constant(records), features)
                parts.append(parsed["label"].numpy())
            self._labels = np.concatenate(parts)
        return self._labels


def _check_split_name(split):
    if not isinstance(split, str) or not split or "/" in split or os.sep in split:
        raise ValueError(f"`split` must be a non-empty name without '/'; got {split!r}.")


def _check_image_shape(image_shape):
    shape = tuple(int(size) for size in image_shape)
    if len(shape) != 3 or min(shape) < 1 or shape[2] not in _PIL_MODES:
        raise ValueError(
            f"`image_shape` must be (height, width, channels) with channels in "
            f"{sorted(_PIL_MODES)}; got {image_shape!r}."
        )
    return shape
