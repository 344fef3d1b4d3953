import numpy as np

from kerasssl.data import divide_mix_pipeline
from kerasssl.data.image_data import ImageData


def _indexed_data(count=40, num_classes=4):
    # Image i is filled with the value i, so a batch tells which images it holds.
    images = np.broadcast_to(
        np.arange(count, dtype=np.uint8)[:, None, None, None], (count, 4, 4, 1)
    )
    labels = np.arange(count) % num_classes
    return ImageData(images.copy(), labels, tuple("abcd"[:num_classes]))


def test_divide_mix_batches_keep_images_labels_and_clean_probabilities_aligned():
    data = _indexed_data()
    rng = np.random.default_rng(0)
    probabilities = [rng.uniform(size=len(data)).astype("float32") for _ in range(2)]
    dataset, sizes = divide_mix_pipeline.divide_mix_dataset(
        data, probabilities, threshold=0.5, batch_size=8, seed=3, epoch=2, augment="identity"
    )
    for batch in dataset.take(6):
        for index in (1, 2):
            clean = probabilities[index - 1] >= 0.5
            ids = batch[f"labeled_{index}_view_1"].numpy()[:, 0, 0, 0].astype(int)
            np.testing.assert_array_equal(ids, batch[f"labeled_{index}_view_2"].numpy()[:, 0, 0, 0])
            assert clean[ids].all()
            np.testing.assert_array_equal(batch[f"labels_{index}"].numpy(), data.labels[ids])
            np.testing.assert_allclose(
                batch[f"clean_probability_{index}"].numpy(), probabilities[index - 1][ids]
            )
            unlabeled_ids = batch[f"unlabeled_{index}_view_1"].numpy()[:, 0, 0, 0].astype(int)
            assert not clean[unlabeled_ids].any()
    assert sizes["labeled_size_1"] == int((probabilities[0] >= 0.5).sum())


def test_warmup_batches_keep_images_and_labels_aligned():
    data = _indexed_data()
    dataset = divide_mix_pipeline.warmup_dataset(data, batch_size=8, seed=1, augment="identity")
    for batch in dataset.take(6):
        for index in (1, 2):
            ids = batch[f"images_{index}"].numpy()[:, 0, 0, 0].astype(int)
            np.testing.assert_array_equal(batch[f"labels_{index}"].numpy(), data.labels[ids])
