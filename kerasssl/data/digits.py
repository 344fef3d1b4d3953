"""scikit-learn's handwritten digits: the built-in data set that needs no download."""

import numpy as np

from kerasssl.data.image_data import ImageData

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SIZES = {"train": 1437, "test": 360}


def load_digits(split: str, seed: int = 0) -> ImageData:
    """Loads the 1,797 8x8 grayscale digits bundled with scikit-learn as an `ImageData`.

    scikit-learn ships the UCI optical digits (values 0..16) without a train/test split, so
    this takes a fixed stratified one: 20% test. With any seed the sizes are train 1,437 and
    test 360 (about 144 and 36 per class); `seed` only changes which images go where, and the
    same seed always gives the same split. Pixels are scaled to 0..255 (x * 255 / 16, rounded)
    so the images follow the package's uint8 convention; shape [N, 8, 8, 1], classes "0".."9".

    Args:
        split: "train" or "test".
        seed: seed of the train/test split; use the same one for both splits.

    Returns:
        An `ImageData` with 1,437 (train) or 360 (test) images.
    """
    if split not in DIGITS_SPLIT_SIZES:
        raise ValueError(
            f"`split` must be one of {sorted(DIGITS_SPLIT_SIZES)} for the digits data set; "
            f"got {split!r}."
        )
    # Imported here: scikit-learn adds ~1 s to `import kerasssl.data`.
    import sklearn.datasets
    import sklearn.model_selection

    digits = sklearn.datasets.load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    train_indices, test_indices = sklearn.model_selection.train_test_split(
        np.arange(len(labels)),
        test_size=DIGITS_TEST_FRACTION,
        stratify=labels,
        random_state=seed,
    )
    indices = np.sort(train_indices if split == "train" else test_indices)
    class_names = tuple(str(name) for name in digits.target_names)
    return ImageData(images[indices], labels[indices], class_names)
