import pytest

from kerasssl import recipe_catalog, testing


def test_a_recipe_by_name_or_path_at_a_preset_or_none():
    path = recipe_catalog.find_recipe("fixmatch_cifar10")[0]
    module = recipe_catalog.load_module(path)
    for preset in ("smoke", "paper"):
        expected = module.get_config(preset).to_json(sort_keys=True)
        assert testing.recipe_config("fixmatch_cifar10", preset).to_json(sort_keys=True) == expected
        assert testing.recipe_config(path, preset).to_json(sort_keys=True) == expected
    for preset in ("", None):
        config = testing.recipe_config("fixmatch_cifar10", preset)
        assert config.to_json(sort_keys=True) == module.get_config().to_json(sort_keys=True)
    with pytest.raises(ValueError, match="unknown recipe argument 'flexmatch'"):
        testing.recipe_config("fixmatch_cifar10", "flexmatch")


def test_smoke_config_runs_on_the_built_in_digits_quietly():
    config = testing.smoke_config("fixmatch_cifar10")
    assert config.data.source == "digits" and config.train.verbose == "0"
    assert config.train.steps_per_epoch == 1
