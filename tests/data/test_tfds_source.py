"""TFDS source, offline: a tiny builder prepared into a temporary data_dir."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from kerasssl.data import load_dataset, load_tfds


class KerassslTinyShapes(tfds.core.GeneratorBasedBuilder):
    """A 12-example image classification data set generated in memory (no download)."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(6, 6, 3)),
                    "label": tfds.features.ClassLabel(names=["dark", "bright"]),
                }
            ),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        return {"train": self._generate_examples(8), "test": self._generate_examples(4)}

    def _generate_examples(self, count):
        for index in range(count):
            label = index % 2
            image = np.full([6, 6, 3], 40 + 160 * label, np.uint8)
            yield index, {"image": image, "label": label}


@pytest.fixture(scope="module")
def prepared_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    KerassslTinyShapes(data_dir=str(data_dir)).download_and_prepare()
    return str(data_dir)


def test_loads_prepared_data_set(prepared_dir):
    train = load_tfds("kerasssl_tiny_shapes", "train", data_dir=prepared_dir)
    assert train.images.shape == (8, 6, 6, 3) and train.images.dtype == np.uint8
    assert train.class_names == ("dark", "bright")
    np.testing.assert_array_equal(train.class_counts(), [4, 4])
    assert set(train.images[train.labels == 1].ravel().tolist()) == {200}
    test = load_tfds("kerasssl_tiny_shapes", "test", data_dir=prepared_dir, image_size=3)
    assert test.images.shape == (4, 3, 3, 3)


def test_no_local_copy_names_data_set_and_dir(tmp_path):
    with pytest.raises(ValueError, match=rf"'kerasssl_tiny_shapes'.*no local copy.*{tmp_path}"):
        load_tfds("kerasssl_tiny_shapes", "train", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"'mnist'.*no local copy.*download=False"):
        load_tfds("mnist", "train", data_dir=str(tmp_path))


def test_download_prepares_a_missing_data_set(tmp_path):
    # The in-memory builder "downloads" nothing, so this stays offline.
    train = load_tfds("kerasssl_tiny_shapes", "train", data_dir=str(tmp_path), download=True)
    assert len(train) == 8
    # Prepared once: a second read needs no download.
    assert len(load_tfds("kerasssl_tiny_shapes", "test", data_dir=str(tmp_path))) == 4


class KerassslUnreachable(KerassslTinyShapes):
    """KerassslTinyShapes behind a download URL that does not answer, as any real one offline."""

    def _split_generators(self, dl_manager):
        # Fails as a download does offline. Not a real download from a dead address: tfds
        # retries those with back-off for minutes before it gives up.
        del dl_manager
        raise ConnectionError("no network: the download of kerasssl_unreachable failed")


def test_offline_download_error_names_data_dir_and_download_false(tmp_path):
    data_config = {"source": "tfds", "name": "kerasssl_unreachable", "data_dir": str(tmp_path)}
    with pytest.raises(ValueError, match=r"could not download.*data_dir.*download=false"):
        load_dataset({**data_config, "download": True})
    with pytest.raises(ValueError, match=r"no local copy.*download=False"):
        load_dataset(data_config)


def test_unknown_name_and_split(prepared_dir):
    with pytest.raises(ValueError, match="no data set named 'no_such_data_set_xyz'"):
        load_tfds("no_such_data_set_xyz", "train", data_dir=prepared_dir)
    with pytest.raises(ValueError, match=r"no split 'validation'.*\['test', 'train'\]"):
        load_tfds("kerasssl_tiny_shapes", "validation", data_dir=prepared_dir)


@pytest.mark.parametrize("download", [False, True])
def test_manual_download_data_set_names_tfds_build_with_manual_dir(tmp_path, download):
    # ImageNet: tfds cannot fetch it, so even download=True must say how to prepare it.
    with pytest.raises(ValueError, match=r"'imagenet2012'.*manual download.*--manual_dir"):
        load_tfds("imagenet2012", "train", data_dir=str(tmp_path), download=download)
    assert not any(tmp_path.iterdir())


def test_prepare_shards_streams_a_tfds_split_in_its_order(prepared_dir, tmp_path):
    from kerasssl import recipe_defaults
    from kerasssl.data import load_shards, prepare_shards

    config = recipe_defaults.base_config().data
    config.source, config.name, config.data_dir = "tfds", "kerasssl_tiny_shapes", prepared_dir
    config.download = False
    manifests = prepare_shards(config, tmp_path, records_per_shard=3)
    assert manifests["train"]["classes"] == ["dark", "bright"]
    assert manifests["test"]["shards"][0]["first_id"] == 8
    for split in ("train", "test"):
        memory = load_tfds("kerasssl_tiny_shapes", split, data_dir=prepared_dir)
        sharded = load_shards(tmp_path / split, split)
        np.testing.assert_array_equal(sharded.load().images, memory.images)
        np.testing.assert_array_equal(sharded.labels, memory.labels)


def test_streaming_reads_an_array_record_build_batch_by_batch(tmp_path, prepared_dir):
    from kerasssl.data import pipelines
    from kerasssl.data.sharded_image_data import ShardedImageData

    data_dir = str(tmp_path / "array_record")
    builder = KerassslTinyShapes(data_dir=data_dir, file_format="array_record")
    builder.download_and_prepare()
    # tfds has no as_dataset for ArrayRecord builds: in memory, it is read as streaming, whole.
    memory = load_tfds("kerasssl_tiny_shapes", "train", data_dir=data_dir)
    assert not isinstance(memory, ShardedImageData)
    np.testing.assert_array_equal(
        memory.images, load_tfds("kerasssl_tiny_shapes", "train", data_dir=prepared_dir).images
    )
    streamed = load_tfds("kerasssl_tiny_shapes", "train", data_dir=data_dir, streaming=True)
    assert isinstance(streamed, ShardedImageData) and streamed.image_shape == (6, 6, 3)
    np.testing.assert_array_equal(streamed.labels, memory.labels)
    np.testing.assert_array_equal(streamed.load().images, memory.images)
    batches = [
        list(pipelines.supervised_dataset(data, 3, training=True, augment=None).take(4))
        for data in (memory, streamed)
    ]
    for (a, labels_a), (b, labels_b) in zip(*batches, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(labels_a, labels_b)
    small = load_tfds(
        "kerasssl_tiny_shapes", "test", data_dir=data_dir, image_size=3, streaming=True
    )
    assert small.images[0:2].shape == (2, 3, 3, 3)
    with pytest.raises(ValueError, match="--file_format=array_record.*kerasssl prepare"):
        load_tfds("kerasssl_tiny_shapes", "train", data_dir=prepared_dir, streaming=True)
