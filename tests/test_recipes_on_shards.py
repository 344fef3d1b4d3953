"""Every recipe's smoke run reads its data from shards (`config.data.source="shards"`)."""

import importlib.util
import json
import pathlib

import pytest

from kerasssl import recipe_defaults, train
from kerasssl.data.sharded_image_data import ShardedImageData
from kerasssl.data.to_shards import prepare_shards

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
RECIPES = sorted(
    path.stem for path in (REPO_ROOT / "recipes").glob("*.py") if not path.name.startswith("_")
)


@pytest.fixture(scope="module")
def digits_shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits_shards")
    prepare_shards(recipe_defaults.base_config().data, folder, records_per_shard=500)
    return folder


def _smoke(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config("smoke")


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_smoke_runs_on_shards(recipe, digits_shards, tmp_path, monkeypatch):
    config = _smoke(recipe)
    root = digits_shards
    if config.model.name.startswith("efficientnet"):
        # EfficientNet needs 32 pixels (its total stride): digits prepared at that size.
        digits = recipe_defaults.base_config().data
        digits.image_size = 32
        root = tmp_path / "digits_32"
        prepare_shards(digits, root, records_per_shard=500)
    config.data.source, config.data.root, config.data.image_size = "shards", str(root), 0
    config.train.verbose = "0"
    if not config.data.labels_per_class and config.algorithm not in ("supervised", "divide_mix"):
        config.data.labels_per_class = 5
    loaded = []
    prepare = train.prepare_data if hasattr(train, "prepare_data") else None
    if prepare is not None:

        def recording(*args, **kwargs):
            data = prepare(*args, **kwargs)
            loaded.append(data)
            return data

        monkeypatch.setattr(train, "prepare_data", recording)
    metrics = train.train_and_evaluate(config, tmp_path / "run")
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] >= 0.0
    if loaded:
        assert isinstance(loaded[0].test, ShardedImageData)
