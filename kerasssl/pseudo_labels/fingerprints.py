"""Content hashes that tell which teacher and which pool a labeling job was run with."""

import hashlib

import numpy as np

# Images hashed per read: bounds memory for an np.memmap pool larger than RAM.
IMAGES_PER_READ = 1024


def _update(digest, array):
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())


def weights_fingerprint(model):
    """SHA-256 of the values, shapes and dtypes of `model.weights`, in order.

    The same weights give the same hash whatever file they were loaded from (a `.keras` file's
    bytes also hold a timestamp); seed-generator states are not weights and do not count.
    """
    digest = hashlib.sha256()
    for weight in model.weights:
        _update(digest, np.asarray(weight))
    return digest.hexdigest()


def images_fingerprint(images):
    """SHA-256 of every image's pixels, in pool order, with the pool's shape and dtype.

    Reads the pool once, `IMAGES_PER_READ` images at a time (a few hundred MB/s: far less than
    labeling the same images costs). A `ShardImages` pool hashes its shards' checksums and
    its positions instead (`ShardImages.fingerprint`), without reading an image.
    """
    if hasattr(images, "fingerprint"):
        return images.fingerprint()
    digest = hashlib.sha256(f"{len(images)}".encode())
    for start in range(0, len(images), IMAGES_PER_READ):
        _update(digest, np.asarray(images[start : start + IMAGES_PER_READ]))
    return digest.hexdigest()
