"""Model registry: names, overrides and errors."""

import inspect

import pytest

from kerasssl.models import ResNet, WideResNet, get_model, list_models, registry


def test_list_models_has_the_spine_presets():
    names = list_models()
    assert names == sorted(names)
    expected = {
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "resnet50_a",
        "resnet50_c",
        "resnet50_d",
        "resnet18_cifar",
        "resnet_cifar_small",
        "resnet_tiny",
        "wrn_28_2",
        "wrn_28_8",
        "wrn_28_10",
        "wrn_tiny",
    }
    assert expected <= set(names)


def test_every_preset_config_fits_its_class():
    # Checked without building the large models.
    for name in list_models():
        preset = registry._lookup(name)
        parameters = inspect.signature(preset["class"].__init__).parameters
        assert set(preset["config"]) <= set(parameters), name
        assert {"num_classes", "input_shape"} <= set(preset["config"]), name
        assert registry.describe_model(name)


@pytest.mark.parametrize("name", ["resnet_tiny", "wrn_tiny", "resnet_cifar_small"])
def test_small_presets_build_with_defaults(name):
    model = get_model(name)
    assert model.output.shape == (None, 10)
    assert model.input.shape == (None, 32, 32, 3)


def test_overrides_reach_the_model():
    model = get_model("resnet_tiny", num_classes=4, input_shape=(16, 16, 1), variant="d")
    assert isinstance(model, ResNet)
    assert model.output.shape == (None, 4)
    assert model.input.shape == (None, 16, 16, 1)
    assert model.variant == "d"
    assert get_model("resnet_tiny", name="student").name == "student"
    wrn = get_model("wrn_tiny", dropout_rate=0.2)
    assert isinstance(wrn, WideResNet) and wrn.dropout_rate == 0.2


def test_resnet_cifar_small_takes_digits():
    # The digits recipe feeds 8x8 grayscale images.
    model = get_model("resnet_cifar_small", num_classes=10, input_shape=(8, 8, 1))
    assert model.output.shape == (None, 10)
    assert 500_000 < model.count_params() < 1_000_000


def test_preset_variant_names_match_resnet_variants():
    assert registry._lookup("resnet50")["config"].get("variant", "b") == "b"
    assert registry._lookup("resnet50_d")["config"]["variant"] == "d"


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown model 'resnet51'.*resnet50.*wrn_28_2"):
        get_model("resnet51")


def test_unknown_keyword_names_it():
    with pytest.raises(TypeError, match="'dropout'"):
        get_model("resnet_tiny", dropout=0.1)
    with pytest.raises(TypeError, match="'variant'"):
        get_model("wrn_tiny", variant="d")


def test_bad_values_reach_the_model_checks():
    with pytest.raises(ValueError, match="num_classes"):
        get_model("wrn_tiny", num_classes=0)
    with pytest.raises(ValueError, match="at least 32"):
        get_model("resnet18", input_shape=(16, 16, 3))


def test_duplicate_preset_names_are_refused(monkeypatch):
    module = "kerasssl.models.res_net"
    monkeypatch.setattr(registry, "PRESET_MODULES", (module, module))
    with pytest.raises(RuntimeError, match="defined twice"):
        registry._collect_presets()
