"""Model presets by name: `get_model("wrn_28_2", num_classes=10)`, `list_models()`.

Each model module defines `PRESETS`, a dict from preset name to
`{"class": <keras.Model subclass>, "config": {<constructor kwargs>}, "description": str}`;
the config holds the preset's native `num_classes` and `input_shape`. To register a new
family, add its module to `PRESET_MODULES`.
"""

import importlib
import inspect

PRESET_MODULES = (
    "kerasssl.models.res_net",
    "kerasssl.models.pre_act_res_net",
    "kerasssl.models.wide_res_net",
    "kerasssl.models.efficient_net",
    "kerasssl.models.mlp_mixer",
)


def _collect_presets():
    presets = {}
    for module_name in PRESET_MODULES:
        module = importlib.import_module(module_name)
        for name, preset in module.PRESETS.items():
            if name in presets:
                raise RuntimeError(f"Preset {name!r} is defined twice (again in {module_name}).")
            presets[name] = preset
    return presets


_PRESETS = None


def _presets():
    # Collected lazily so registry.py imports no model module until a preset is asked for.
    global _PRESETS
    if _PRESETS is None:
        _PRESETS = _collect_presets()
    return _PRESETS


def list_models():
    """Sorted names of every preset `get_model` accepts."""
    return sorted(_presets())


def describe_model(name):
    """The one-line description of preset `name`."""
    return _lookup(name)["description"]


def get_model(
    name, /, num_classes=None, input_shape=None, weights=None, include_top=True, **overrides
):
    """Builds preset `name`, optionally for another `num_classes`, `input_shape` or options.

    Args:
        name: a name from `list_models()`, e.g. "resnet50", "wrn_28_2", "resnet_tiny".
        num_classes: number of logits; None keeps the preset's (1000 for ImageNet presets,
            10 or 100 for CIFAR ones).
        input_shape: `(height, width, channels)`; None keeps the preset's native resolution.
        weights: None or "" (random initialisation), "imagenet" or the path of a
            keras.applications weight file: EfficientNet B0-B7 and ResNet-50/101/152 variant
            "a" load the weights of their `keras.applications` twin (see
            `kerasssl.models.pretrained.load_pretrained`; "imagenet" downloads through Keras'
            cache and needs internet the first time).
        include_top: with `weights`, also load the 1000-class classifier (True, the
            default) or only the backbone under a new `num_classes` head (False, for
            fine-tuning on other classes). Ignored without weights.
        **overrides: any other constructor argument of the preset's class, e.g.
            `variant="d"` for a ResNet or `dropout_rate=0.3`, and `name` for the Keras model
            name (the preset name is positional-only, so `name=` never clashes with it).

    Returns:
        A new `keras.Model` returning logits, randomly initialised unless `weights` is given.

    Raises:
        ValueError: unknown `name` (the message lists the valid names).
        TypeError: an override that the preset's class does not accept.

    Example:
    ```python
    model = get_model("resnet50", num_classes=10, variant="d")
    tuned = get_model("efficientnet_b0", num_classes=10, weights="imagenet", include_top=False)
    ```
    """
    preset = _lookup(name)
    model_class = preset["class"]
    parameters = inspect.signature(model_class.__init__).parameters
    accepted = [p for p in parameters if p not in ("self", "args", "kwargs")]
    for key in overrides:
        # `name` and the other keras.Model kwargs are accepted through **kwargs.
        if key not in accepted and key not in ("name", "trainable"):
            raise TypeError(
                f"get_model({name!r}) got an unexpected keyword argument {key!r}; "
                f"{model_class.__name__} accepts {accepted}."
            )
    config = dict(preset["config"])
    if num_classes is not None:
        config["num_classes"] = num_classes
    if input_shape is not None:
        config["input_shape"] = input_shape
    config.update(overrides)
    if weights:
        # Imported here: the registry loads no model module until a preset is asked for.
        from kerasssl.models.pretrained import load_pretrained

        return load_pretrained(model_class, config, weights, include_top=include_top)
    return model_class(**config)


def _lookup(name):
    presets = _presets()
    if name not in presets:
        raise ValueError(f"Unknown model {name!r}; valid names: {', '.join(sorted(presets))}.")
    return presets[name]
