import subprocess
import sys

import keras

import kerasssl


def test_every_public_name_resolves():
    for name in kerasssl.__all__:
        assert getattr(kerasssl, name) is not None, name
    for package in (kerasssl.algorithms, kerasssl.data, kerasssl.models, kerasssl.augment):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"


def test_algorithms_are_keras_models():
    for algorithm in (
        kerasssl.Supervised,
        kerasssl.Distiller,
        kerasssl.NoisyStudent,
        kerasssl.MetaPseudoLabels,
        kerasssl.DivideMix,
        kerasssl.FixMatch,
    ):
        assert issubclass(algorithm, keras.Model), algorithm


def test_lazy_names_are_the_real_objects_and_listed_by_dir():
    from kerasssl.algorithms.divide_mix import DivideMix
    from kerasssl.train import train_and_evaluate

    assert kerasssl.DivideMix is DivideMix
    assert kerasssl.train_and_evaluate is train_and_evaluate
    assert set(kerasssl.__all__) <= set(dir(kerasssl))
    assert "__version__" in dir(kerasssl)
    try:
        kerasssl.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("kerasssl.no_such_name did not raise AttributeError")


def _run_python(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_import_and_recipes_do_not_load_tensorflow():
    # `kerasssl --help`, config parsing and `kerasssl recipes` must answer in well under a
    # second; importing TensorFlow alone takes seconds.
    result = _run_python(
        "import sys\n"
        "import kerasssl, kerasssl.recipe_defaults\n"
        "from kerasssl import cli, recipe_catalog\n"
        "assert sorted(dir(kerasssl)) == dir(kerasssl) and 'Supervised' in dir(kerasssl)\n"
        "for recipe in recipe_catalog.describe_recipes():\n"
        "    module = recipe_catalog.load_module(recipe_catalog.find_recipe(recipe.name)[0])\n"
        "    for preset in ['', *recipe.presets]:\n"
        "        module.get_config(preset)\n"
        # config_flags reads the overrides from sys.argv.
        "sys.argv = ['kerasssl', '--config=supervised_digits:smoke', '--config.train.epochs=3']\n"
        "cli.parse_flags(sys.argv)\n"
        "assert cli._CONFIG.value.train.epochs == 3\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not loaded, loaded\n"
    )
    assert result.returncode == 0, result.stderr[-3000:]
