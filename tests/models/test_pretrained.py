"""keras.applications weights in kerasssl's EfficientNet and ResNet: same logits, clear errors.

Nothing is downloaded: the keras.applications models are built with `weights=None`, given
random BatchNorm statistics, biases and input normalization (so that a wrong mapping shows in
the logits), saved to a temporary file and loaded from there.
"""

import keras
import numpy as np
import pytest
from keras.src.utils import file_utils

from kerasssl.models import get_model
from kerasssl.models.pretrained import IMAGENET_STDDEV_RGB

SIZE = 64  # any input size works: the weights do not depend on it


def _randomize(model, seed=0):
    """Random values in every weight that a plain initialisation leaves at 0 or 1.

    BatchNorm scales stay below 1: with scales up to 1.5 the activations of B6 and B7 grow to
    1e4 and the random network turns chaotic, float32 rounding alone then moving the logits
    by 60% (the error grows smoothly block by block from 3e-7; no layer is mapped wrongly).
    """
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = layer.get_weights()
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = values[0].shape
            values = [
                rng.uniform(0.3, 0.7, shape),
                rng.normal(0.0, 0.2, shape),
                rng.normal(0.0, 0.2, shape),
                rng.uniform(0.5, 1.5, shape),
            ]
        elif isinstance(layer, keras.layers.Normalization):
            values = [rng.uniform(0.3, 0.6, 3), rng.uniform(0.04, 0.09, 3), values[2]]
        elif isinstance(layer, keras.layers.Dense):
            kernel = rng.normal(0.0, 1.0 / np.sqrt(values[0].shape[0]), values[0].shape)
            values = [kernel, rng.normal(0.0, 0.2, values[1].shape)]
        elif isinstance(layer, keras.layers.Conv2D) and len(values) == 2:
            values = [values[0], rng.normal(0.0, 0.2, values[1].shape)]
        layer.set_weights([np.asarray(value, np.float32) for value in values])


@pytest.fixture(scope="module")
def b0_file(tmp_path_factory):
    """EfficientNetB0 weights with a classifier, shared by the tests that only read them."""
    return _weight_file(tmp_path_factory.mktemp("b0"), "EfficientNetB0")


def _weight_file(tmp_path, application, include_top=True, name="source.weights.h5", edit=None):
    source = getattr(keras.applications, application)(
        weights=None, include_top=include_top, input_shape=(SIZE, SIZE, 3)
    )
    _randomize(source)
    if edit is not None:
        edit(source)
    path = tmp_path / name
    source.save_weights(path)
    return path


def _reference(application, path, images, include_top=True, **kwargs):
    """Logits (or pooled features) of a fresh keras.applications model loaded from `path`."""
    model = getattr(keras.applications, application)(
        weights=None,
        include_top=include_top,
        input_shape=(SIZE, SIZE, 3),
        classifier_activation=None,
        **kwargs,
    )
    model.load_weights(path)
    return np.asarray(model(images))


def _images(seed=1):
    return np.random.default_rng(seed).uniform(0, 255, (3, SIZE, SIZE, 3)).astype(np.float32)


def _assert_close(actual, expected):
    expected = np.asarray(expected)
    assert expected.std() > 1e-2  # informative outputs, not a collapsed network
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_efficient_net_b0_gives_the_keras_applications_logits(b0_file):
    path = b0_file
    images = _images()
    model = get_model("efficientnet_b0", input_shape=(SIZE, SIZE, 3), weights=str(path))
    _assert_close(model(images), _reference("EfficientNetB0", path, images))
    # The normalization came from the file's Normalization layer.
    assert model.input_std != 127.5


@pytest.mark.long
def test_backbone_only_gets_a_new_head_and_the_same_features(tmp_path):
    path = _weight_file(tmp_path, "EfficientNetB0", include_top=False, name="notop.weights.h5")
    images = _images()
    model = get_model(
        "efficientnet_b0",
        num_classes=7,
        input_shape=(SIZE, SIZE, 3),
        weights=str(path),
        include_top=False,
    )
    assert model.output.shape[-1] == 7
    features = keras.Model(model.input, model.get_layer("pooled_features").output)
    _assert_close(
        features(images),
        _reference("EfficientNetB0", path, images, include_top=False, pooling="avg"),
    )


@pytest.mark.long
def test_backbone_only_from_a_file_with_a_classifier(b0_file):
    path = b0_file
    images = _images()
    model = get_model(
        "efficientnet_b0",
        num_classes=5,
        input_shape=(SIZE, SIZE, 3),
        weights=path,
        include_top=False,
    )
    features = keras.Model(model.input, model.get_layer("pooled_features").output)
    reference = keras.applications.EfficientNetB0(
        weights=None, input_shape=(SIZE, SIZE, 3), classifier_activation=None
    )
    reference.load_weights(path)
    pooled = keras.Model(reference.input, reference.get_layer("avg_pool").output)
    _assert_close(features(images), pooled(images))


@pytest.mark.long
def test_resnet50_gives_the_keras_applications_logits_on_raw_rgb_images(tmp_path):
    path = _weight_file(tmp_path, "ResNet50")
    images = _images()
    model = get_model("resnet50_a", input_shape=(SIZE, SIZE, 3), weights=str(path))
    # keras.applications' ResNet takes preprocess_input's BGR, mean-subtracted images.
    preprocessed = keras.applications.resnet50.preprocess_input(images.copy())
    _assert_close(model(images), _reference("ResNet50", path, preprocessed))
    assert model.bn_epsilon == 1.001e-5


def _set_imagenet_normalization(source):
    layer = next(lay for lay in source.layers if isinstance(lay, keras.layers.Normalization))
    count = layer.get_weights()[2]
    # What the ImageNet files hold: the standard deviations stored as the variance.
    layer.set_weights([np.array([0.485, 0.456, 0.406]), np.array(IMAGENET_STDDEV_RGB), count])


def test_imagenet_download_goes_through_keras_and_keeps_its_correction(tmp_path, monkeypatch):
    path = _weight_file(tmp_path, "EfficientNetB0", edit=_set_imagenet_normalization)

    def cached_file(fname, origin, **kwargs):
        assert fname == "efficientnetb0.h5" and "storage.googleapis.com" in origin
        return str(path)  # as if Keras had it in ~/.keras/models

    monkeypatch.setattr(file_utils, "get_file", cached_file)
    # With its classifier, keras.applications takes "imagenet" at the native 224 x 224 only.
    images = np.random.default_rng(2).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    model = get_model("efficientnet_b0", weights="imagenet")
    expected = keras.applications.EfficientNetB0(weights="imagenet", classifier_activation=None)(
        images
    )
    _assert_close(model(images), expected)
    # (x / 255 - mean) / std with ImageNet's mean and standard deviation.
    np.testing.assert_allclose(model.input_std, np.multiply(IMAGENET_STDDEV_RGB, 255), rtol=1e-5)


@pytest.mark.long
def test_a_local_copy_of_the_imagenet_file_gets_the_same_correction(tmp_path):
    path = _weight_file(tmp_path, "EfficientNetB0", edit=_set_imagenet_normalization)
    images = _images()
    model = get_model("efficientnet_b0", input_shape=(SIZE, SIZE, 3), weights=str(path))
    # keras.applications applies the correction only for weights="imagenet": feed its
    # path-loaded model the images that the correction would have produced.
    mean = np.array([0.485, 0.456, 0.406])
    corrected = 255 * (mean + (images / 255 - mean) / np.sqrt(IMAGENET_STDDEV_RGB))
    _assert_close(model(images), _reference("EfficientNetB0", path, corrected.astype(np.float32)))


def test_imagenet_offline_is_a_clear_error(monkeypatch):
    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] name resolution")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(OSError, match="needs internet.*pass its path"):
        get_model("efficientnet_b0", num_classes=10, weights="imagenet", include_top=False)


def test_missing_weight_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.model.kwargs.weights"):
        get_model("efficientnet_b0", weights=str(tmp_path / "absent.weights.h5"))


def test_weights_of_another_architecture_are_a_clear_error(tmp_path):
    path = _weight_file(tmp_path, "EfficientNetB1")
    with pytest.raises(ValueError, match="does not hold keras.applications.EfficientNetB0"):
        get_model("efficientnet_b0", input_shape=(SIZE, SIZE, 3), weights=str(path))


def test_classifier_of_another_class_count_is_a_clear_error(b0_file):
    path = b0_file
    with pytest.raises(ValueError, match="1000 classes.*include_top=False"):
        get_model("efficientnet_b0", num_classes=10, weights=str(path))


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("resnet50", {}, "resnet50_a"),
        ("resnet18", {}, "ResNet50/101/152"),
        ("resnet_tiny", {}, "ResNet50/101/152"),
        ("efficientnet_tiny", {}, "B0-B7"),
        ("efficientnet_b0", {"se_ratio": 0.5}, "se_ratio"),
        ("wrn_28_2", {}, "EfficientNet and ResNet"),
        ("efficientnet_b0", {"input_mean": 0.0}, "set by the pretrained weights"),
    ],
)
def test_architectures_without_keras_applications_weights(tmp_path, name, overrides, message):
    with pytest.raises(ValueError, match=message):
        get_model(name, weights=str(tmp_path / "unused.weights.h5"), **overrides)


def test_loaded_model_keeps_its_normalization_through_get_config(b0_file):
    path = b0_file
    model = get_model("efficientnet_b0", input_shape=(SIZE, SIZE, 3), weights=str(path))
    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    images = _images()
    np.testing.assert_allclose(clone(images), model(images), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(1, 8))
def test_efficient_net_b1_to_b7(tmp_path, index):
    """Each about 10-40 s (three models built)."""
    application = f"EfficientNetB{index}"
    path = _weight_file(tmp_path, application)
    images = _images()
    model = get_model(f"efficientnet_b{index}", input_shape=(SIZE, SIZE, 3), weights=str(path))
    _assert_close(model(images), _reference(application, path, images))


@pytest.mark.slow
@pytest.mark.parametrize("depth", [101, 152])
def test_resnet101_and_152(tmp_path, depth):
    application = f"ResNet{depth}"
    path = _weight_file(tmp_path, application)
    images = _images()
    model = get_model("resnet50_a", depth=depth, input_shape=(SIZE, SIZE, 3), weights=str(path))
    preprocessed = keras.applications.resnet.preprocess_input(images.copy())
    _assert_close(model(images), _reference(application, path, preprocessed))
