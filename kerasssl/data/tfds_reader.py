"""`TfdsReader`: random access to a tfds split stored as ArrayRecord, for streaming pipelines."""

import hashlib
import threading

import numpy as np

from kerasssl.data.resize import resize_images


class TfdsReader:
    """Reads images of a prepared tfds split by position, as `ShardReader` reads shards.

    Wraps tfds' random-access data source (`builder.as_data_source`), which exists for data sets
    built with `--file_format=array_record` only; positions follow the split's stored order
    (the order `as_dataset(shuffle_files=False)` iterates). A `ShardImages` view over it streams
    the split through the same stateless index shuffle as shards.

    Args:
        builder: a prepared tfds builder whose `info.file_format` is array_record.
        split: the split, e.g. "train" or "train[:80%]".
        image_key, label_key: the image and label features.
        class_names: the label feature's names.
        image_size: None keeps the stored size (the image feature must then have a fixed
            shape), or (height, width) to resize each image as it is read.

    Example:
    ```python
    data = load_tfds("cifar10", "train", data_dir=DIR, streaming=True)  # a ShardedImageData
    ```
    """

    def __init__(self, builder, split, image_key, label_key, class_names, image_size=None):
        import tensorflow_datasets as tfds

        self.name = builder.info.full_name
        self.split = split
        self.classes = tuple(class_names)
        self.image_key, self.label_key = image_key, label_key
        self.image_size = image_size
        self._source = builder.as_data_source(split=split)
        # Labels without decoding a single image.
        self._label_source = builder.as_data_source(
            split=split, decoders={image_key: tfds.decode.SkipDecoding()}
        )
        self._lock = threading.Lock()  # tfds' data source is not documented as thread-safe
        self._labels = None
        shape = tuple(builder.info.features[image_key].shape)
        if image_size is not None:
            shape = (*image_size, shape[-1])
        if any(size is None for size in shape):
            raise ValueError(
                f"TFDS data set {self.name!r} has images of varying size {shape}: streaming "
                "needs one size; pass image_size (config: data.image_size)."
            )
        self.image_shape = tuple(int(size) for size in shape)

    def __len__(self):
        return len(self._source)

    def read(self, positions):
        """(uint8 images [n, h, w, c], int64 labels [n], int64 ids [n]) at `positions`."""
        positions = np.asarray(positions, np.int64).reshape(-1)
        with self._lock:
            examples = self._source.__getitems__(positions.tolist())
        if not examples:
            return np.zeros((0, *self.image_shape), np.uint8), positions, positions
        labels = np.array([example[self.label_key] for example in examples], np.int64)
        if self.image_size is not None:
            images = np.stack(
                [resize_images(example[self.image_key][None], self.image_size)[0]
                 for example in examples]
            )  # fmt: skip
        else:
            images = np.stack([example[self.image_key] for example in examples])
        return images.astype(np.uint8, copy=False), labels, positions

    def ids(self, positions):
        return np.asarray(positions, np.int64).reshape(-1)

    def labels(self, chunk_size=8192):
        """int64 [len] labels of the split, read once without decoding images, cached."""
        if self._labels is None:
            parts = []
            for start in range(0, len(self), chunk_size):
                with self._lock:
                    examples = self._label_source.__getitems__(
                        list(range(start, min(len(self), start + chunk_size)))
                    )
                parts.append(np.array([example[self.label_key] for example in examples]))
            self._labels = np.concatenate(parts).astype(np.int64)
        return self._labels

    def content_fingerprint(self):
        """A hash of what the reader reads: data set, version, split, size and image size."""
        text = f"tfds:{self.name}:{self.split}:{len(self)}:{self.image_shape}"
        return hashlib.sha256(text.encode()).hexdigest()
