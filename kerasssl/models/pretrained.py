"""ImageNet weights of keras.applications in kerasssl's EfficientNet B0-B7 and ResNet-50/101/152.

kerasssl's `EfficientNet` is the `keras.applications.EfficientNetB*` architecture layer for
layer, and `ResNet` variant "a" is `keras.applications.ResNet50/101/152`'s; kerasssl keeps its
own classes for what keras.applications lacks (any compound coefficient, stochastic depth, the
CIFAR stems and Bag-of-Tricks variants, the model table). So loading builds the
keras.applications model, lets Keras load the weights into it (`"imagenet"`: Keras' own
download into its cache, ~/.keras/models; a path: any file Keras' `load_weights` reads), and
copies them into the kerasssl twin by layer name, every shape checked, with exact conversions:

- Input normalization. EfficientNet carries its own (Rescaling, Normalization and, for the
  ImageNet weights, the extra Rescaling keras.applications adds for tensorflow#49930); it
  becomes the twin's `input_mean`/`input_std`. keras.applications' ResNet expects
  `resnet50.preprocess_input` (BGR, minus the ImageNet mean); the twin takes RGB in [0, 255]
  like every kerasssl model, so its stem kernel gets the input channels reversed and
  `input_mean` the RGB mean.
- ResNet conv biases: every conv there is followed by BatchNorm, so a bias b only shifts the
  BN input; it is folded into the moving mean (mean - b). That is exact at inference, and in
  training BN's batch statistics cancel the bias anyway. The BN epsilon (1.001e-5) is set on
  the twin.
"""

import contextlib
import dataclasses
import inspect
import pathlib
import warnings

import keras
import numpy as np

from kerasssl.models.efficient_net import BASELINE_STAGES, EfficientNet, round_repeats
from kerasssl.models.res_net import BLOCK_COUNTS, ResNet

# keras.applications' EfficientNet presets: (width, depth) -> application.
EFFICIENT_NET_APPLICATIONS = {
    (1.0, 1.0): "EfficientNetB0",
    (1.0, 1.1): "EfficientNetB1",
    (1.1, 1.2): "EfficientNetB2",
    (1.2, 1.4): "EfficientNetB3",
    (1.4, 1.8): "EfficientNetB4",
    (1.6, 2.2): "EfficientNetB5",
    (1.8, 2.6): "EfficientNetB6",
    (2.0, 3.1): "EfficientNetB7",
}
RES_NET_APPLICATIONS = {50: "ResNet50", 101: "ResNet101", 152: "ResNet152"}
# The ImageNet EfficientNet files store these standard deviations as the Normalization
# layer's variance (tensorflow#49930); keras.applications corrects it only for "imagenet".
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)
# resnet50.preprocess_input ("caffe"): BGR minus this mean, no scaling. In RGB order:
CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)
RES_NET_BN_EPSILON = 1.001e-5
HEAD = "predictions"


@dataclasses.dataclass(frozen=True)
class Twin:
    """How a kerasssl config maps onto a keras.applications model."""

    application: str  # e.g. "EfficientNetB0"
    source_names: dict  # kerasssl layer name -> keras.applications layer name
    family: str  # "efficient_net" or "res_net"


def load_pretrained(model_class, config, weights, include_top=True):
    """`model_class(**config)` carrying the weights of its keras.applications twin.

    Args:
        model_class: `EfficientNet` or `ResNet`.
        config: the constructor arguments (a preset's config with overrides). They must
            describe a keras.applications architecture: EfficientNet B0-B7's width and depth
            (any resolution, dropout and stochastic depth), or ResNet 50/101/152 variant "a"
            with the ImageNet stem at full width. `input_mean`, `input_std` (and ResNet's
            `bn_epsilon`) are set from the weights.
        weights: "imagenet" (Keras downloads the file once into ~/.keras/models; needs
            internet the first time) or the path of a keras.applications weight file
            (`.h5` as Keras downloads it, or `.weights.h5` / `.keras` saved from the
            keras.applications model).
        include_top: True loads the 1000-class classifier too (`num_classes` must match it);
            False loads the backbone only and leaves a new, randomly initialised head of
            `num_classes` (a file with or without a classifier both work).

    Returns:
        The kerasssl model, whose logits equal the keras.applications model's.

    Raises:
        ValueError: an architecture keras.applications does not have, a file for another
            architecture or class count, normalization arguments that the weights set.
        FileNotFoundError: no file at `weights`.
        OSError: "imagenet" could not be downloaded (e.g. offline).

    Example:
    ```python
    model = get_model("efficientnet_b0", num_classes=10, weights="imagenet", include_top=False)
    ```
    """
    twin = find_twin(model_class, config)
    defaults = inspect.signature(model_class.__init__).parameters
    for argument in ("input_mean", "input_std", "bn_epsilon"):
        if argument in config and config[argument] != defaults[argument].default:
            raise ValueError(
                f"`{argument}` is set by the pretrained weights; drop it from the model "
                f"arguments (got {config[argument]!r})."
            )
    source = _source_model(twin.application, weights, include_top)
    if include_top:
        classes = source.get_layer(HEAD).units
        if config["num_classes"] != classes:
            raise ValueError(
                f"the weights' classifier has {classes} classes but the model is built for "
                f"num_classes={config['num_classes']}: pass include_top=False (in a recipe "
                "config.model.kwargs.include_top=False) to load the backbone and train a new "
                "head."
            )
    if twin.family == "efficient_net":
        mean, std = _efficient_net_normalization(source, weights)
        overrides = {"input_mean": mean, "input_std": std}
    else:
        overrides = {
            "input_mean": list(CAFFE_MEAN_RGB),
            "input_std": 1.0,
            "bn_epsilon": RES_NET_BN_EPSILON,
        }
    model = model_class(**{**config, **overrides})
    _copy_weights(source, model, twin, include_top)
    return model


def find_twin(model_class, config):
    """The keras.applications twin of `model_class(**config)`, or a ValueError saying why not."""
    if model_class is EfficientNet:
        key = (float(config["width_coefficient"]), float(config["depth_coefficient"]))
        application = EFFICIENT_NET_APPLICATIONS.get(key)
        expected = {"se_ratio": 0.25, "depth_divisor": 8, "bn_epsilon": 1e-3}
        mismatched = {k: config[k] for k, v in expected.items() if k in config and config[k] != v}
        if application is None or mismatched:
            raise ValueError(
                "pretrained weights exist for EfficientNet B0-B7 (presets efficientnet_b0 ... "
                f"_b7) only; got width {key[0]}, depth {key[1]}"
                + (f" and {mismatched}" if mismatched else "")
                + "."
            )
        return Twin(application, _efficient_net_names(key[1]), "efficient_net")
    if model_class is ResNet:
        depth = config.get("depth", 50)
        layout = {
            "variant": config.get("variant", "b"),
            "stem": config.get("stem", "imagenet"),
            "width_multiplier": float(config.get("width_multiplier", 1.0)),
            "block_type": config.get("block_type"),
        }
        wanted = {"variant": "a", "stem": "imagenet", "width_multiplier": 1.0, "block_type": None}
        if not isinstance(depth, int) or depth not in RES_NET_APPLICATIONS or layout != wanted:
            raise ValueError(
                "pretrained weights exist for keras.applications.ResNet50/101/152, the original "
                "ResNet (variant 'a': stride on the first 1x1 conv, ImageNet stem, full width): "
                "use the preset 'resnet50_a' (or depth=101/152 with variant='a'); got "
                f"depth={depth!r}, {layout}."
            )
        return Twin(RES_NET_APPLICATIONS[depth], _res_net_names(depth), "res_net")
    raise ValueError(
        f"pretrained weights exist for EfficientNet and ResNet models only, not "
        f"{model_class.__name__}."
    )


def _efficient_net_names(depth_coefficient):
    names = {name: name for name in ("stem_conv", "stem_bn", "top_conv", "top_bn", HEAD)}
    index = 0
    for stage, (_, repeats, *_) in enumerate(BASELINE_STAGES):
        for repeat in range(round_repeats(repeats, depth_coefficient)):
            prefix = f"block{stage + 1}{chr(ord('a') + repeat)}_"
            for ours, theirs in (
                ("expand_conv", "expand_conv"),
                ("expand_bn", "expand_bn"),
                ("dwconv", "dwconv"),
                ("dw_bn", "bn"),
                ("se_reduce", "se_reduce"),
                ("se_expand", "se_expand"),
                ("project_conv", "project_conv"),
                ("project_bn", "project_bn"),
            ):
                names[f"block{index}_{ours}"] = prefix + theirs
            index += 1
    return names


def _res_net_names(depth):
    names = {"stem_conv": "conv1_conv", "stem_bn": "conv1_bn", HEAD: HEAD}
    for stage, count in enumerate(BLOCK_COUNTS[depth]):
        for block in range(count):
            ours, theirs = f"stage{stage + 1}_block{block + 1}", f"conv{stage + 2}_block{block + 1}"
            for our_part, their_part in (("shortcut", "0"), ("1", "1"), ("2", "2"), ("3", "3")):
                for kind in ("conv", "bn"):
                    names[f"{ours}_{our_part}_{kind}"] = f"{theirs}_{their_part}_{kind}"
    return names


def _source_model(application, weights, include_top):
    """The keras.applications model with `weights` loaded by Keras."""
    constructor = getattr(keras.applications, application)
    if weights == "imagenet":
        try:
            with _quiet_loading():
                return constructor(
                    weights="imagenet", include_top=include_top, classifier_activation=None
                )
        except Exception as error:
            raise OSError(
                f"weights='imagenet': keras.applications.{application} could not fetch its "
                f"ImageNet weights into Keras' cache (~/.keras/models; needs internet the "
                f"first time): {error}. Offline, copy the file Keras downloads there (or pass "
                "its path as weights=..., config.model.kwargs.weights=<path>)."
            ) from error
    path = pathlib.Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"weights={str(weights)!r} is neither 'imagenet' nor an existing file; pass the path "
            f"of a keras.applications.{application} weight file (config.model.kwargs.weights)."
        )
    # A file with a classifier also fills a model without one; try the smaller one first.
    errors = []
    for with_top in (True,) if include_top else (False, True):
        source = constructor(weights=None, include_top=with_top, classifier_activation=None)
        try:
            with _quiet_loading():
                source.load_weights(str(path))
            return source
        except Exception as error:
            errors.append(f"{'with' if with_top else 'without'} classifier: {error}")
    raise ValueError(
        f"{path} does not hold keras.applications.{application} weights"
        f"{' with a classifier (include_top=True)' if include_top else ''}; Keras said:\n"
        + "\n".join(error[:400] for error in errors)
    )


@contextlib.contextmanager
def _quiet_loading():
    with warnings.catch_warnings():
        # Keras 3.15 warns once per nested container of a Functional model that it skips
        # while loading; the layers themselves are loaded (the logits tests check it).
        warnings.filterwarnings("ignore", message="Skipping nested container")
        yield


def _efficient_net_normalization(source, weights):
    """The per-channel (mean, std), in pixel units, that the source applies before its stem."""
    preprocessing = keras.Model(source.input, source.get_layer("stem_conv_pad").input)
    height, width, channels = (size or 32 for size in source.input_shape[1:])
    probe = np.stack([np.full((height, width, channels), value, np.float32) for value in (0, 255)])
    low, high = (np.asarray(image[0, 0], np.float64) for image in preprocessing(probe))
    slope, offset = (high - low) / 255.0, low
    std, mean = 1.0 / slope, -offset / slope
    normalization = next(
        layer for layer in source.layers if isinstance(layer, keras.layers.Normalization)
    )
    variance = np.asarray(normalization.variance).reshape(-1)
    if weights != "imagenet" and np.allclose(variance, IMAGENET_STDDEV_RGB, atol=1e-6):
        # A local copy of the ImageNet file: apply keras.applications' "imagenet" correction.
        std = std * np.sqrt(IMAGENET_STDDEV_RGB)
    return [float(value) for value in mean], [float(value) for value in std]


def _copy_weights(source, model, twin, include_top):
    used = set()
    for layer in model.layers:
        if not layer.weights or (layer.name == HEAD and not include_top):
            continue
        source_name = twin.source_names.get(layer.name)
        if source_name is None:
            raise ValueError(f"no keras.applications.{twin.application} layer for {layer.name!r}.")
        values = source.get_layer(source_name).get_weights()
        used.add(source_name)
        if twin.family == "res_net":
            values = _res_net_values(source, layer, source_name, values)
        expected = [tuple(weight.shape) for weight in layer.weights]
        if [tuple(value.shape) for value in values] != expected:
            raise ValueError(
                f"keras.applications.{twin.application} layer {source_name!r} has weights of "
                f"shapes {[value.shape for value in values]}; kerasssl's {layer.name!r} needs "
                f"{expected}: the weights are for another architecture."
            )
        layer.set_weights(values)
    skipped = {HEAD} if not include_top else set()
    for layer in source.layers:
        weighted = layer.weights and not isinstance(layer, keras.layers.Normalization)
        if weighted and layer.name not in used | skipped:
            raise ValueError(
                f"keras.applications.{twin.application} layer {layer.name!r} has no counterpart "
                "in the kerasssl model: the architectures differ."
            )


def _res_net_values(source, layer, source_name, values):
    if isinstance(layer, keras.layers.Conv2D):
        kernel = values[0]
        if source_name == "conv1_conv":
            # The twin takes RGB; keras.applications' ResNet takes BGR.
            kernel = kernel[:, :, ::-1, :]
        return [kernel]  # the bias goes into the BatchNorm that follows
    if isinstance(layer, keras.layers.BatchNormalization):
        gamma, beta, moving_mean, moving_variance = values
        conv_bias = source.get_layer(source_name[: -len("bn")] + "conv").get_weights()[1]
        return [gamma, beta, moving_mean - conv_bias, moving_variance]
    return values
