"""tools/compare_noisy_labels.py: DivideMix and cross-entropy on one set of noisy labels."""

import json

import pytest


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("compare_noisy_labels")


def test_both_methods_share_the_noisy_labels_and_take_the_budget(tool):
    assert tool.settings_of("cifar10")[:4] == ("sym20", "sym50", "sym80", "asym40")
    assert tool.settings_of("digits") == ("sym50", "pair40")
    configs = {
        method: tool.method_config(
            "cifar10", "asym40", method, seed=1, root="/data", epochs=30, warmup_epochs=12
        )
        for method in tool.METHODS
    }
    assert configs["dividemix"].algorithm == "divide_mix"
    assert configs["cross_entropy"].algorithm == "supervised"
    for config in configs.values():
        assert config.seed == 1 and config.data.root == "/data" and config.train.epochs == 30
        assert config.data.noise.type == "asymmetric" and config.data.noise.rate == 0.4
    assert configs["dividemix"].dividemix.warmup_epochs == 12
    assert configs["dividemix"].data.to_dict() == configs["cross_entropy"].data.to_dict()


def test_bad_arguments_are_named(tool, tmp_path):
    with pytest.raises(ValueError, match="--settings: 'sym90' is not a noise setting"):
        tool.compare("cifar10", tmp_path, settings=("sym90",), root="/data")
    with pytest.raises(ValueError, match="--root"):
        tool.compare("cifar10", tmp_path)
    with pytest.raises(ValueError, match=r"--warmup_epochs \(10\) must be below --epochs \(8\)"):
        tool.compare("cifar10", tmp_path, root="/data", epochs=8)
    with pytest.raises(ValueError, match="--dataset"):
        tool.compare("mnist", tmp_path)
    assert not any(tmp_path.iterdir())  # nothing trained or written


def test_equal_time_cross_entropy_gets_dividemix_wall_clock(tool, tmp_path, monkeypatch):
    calls = []

    def fake_run(config, folder):
        calls.append((folder.relative_to(tmp_path).as_posix(), config.train.epochs))
        seconds = {"dividemix": 600.0, "cross_entropy": 100.0}.get(folder.parent.name, 1.0)
        return {"test_accuracy": 0.5, "wall_seconds": seconds}

    monkeypatch.setattr(tool, "run_one", fake_run)
    tool.compare("digits", tmp_path / "plain", settings=("pair40",))
    assert [name for name, _ in calls] == [
        "plain/pair40/dividemix/seed_0",
        "plain/pair40/cross_entropy/seed_0",
    ]
    calls.clear()
    tool.compare("digits", tmp_path, settings=("pair40",), seeds=(0, 1), equal_time=True)
    # 60 cross-entropy epochs took 100 s: DivideMix's 600 s buy 360.
    assert calls == [
        ("pair40/dividemix/seed_0", 60),
        ("pair40/cross_entropy/seed_0", 60),
        ("pair40/cross_entropy_time_of_dividemix/seed_0", 360),
        ("pair40/dividemix/seed_1", 60),
        ("pair40/cross_entropy/seed_1", 60),
        ("pair40/cross_entropy_time_of_dividemix/seed_1", 360),
    ]
    budget = tmp_path / "pair40" / "cross_entropy_time_of_dividemix" / "seed_0.budget.json"
    assert json.loads(budget.read_text())["epochs"] == 360


@pytest.mark.long  # three smoke runs on digits
def test_smoke_comparison_prints_the_results_table(tool, tmp_path):
    results = tool.compare("digits", tmp_path, smoke=True, equal_time=True)
    assert set(results) == {
        ("smoke", method, 0) for method in (*tool.METHODS, tool.EQUAL_TIME_NAME)
    }
    table = tool.table(tmp_path).splitlines()
    assert len(table) == 2 + 3 + 2  # header, 3 rows, a blank line and the machine
    assert table[-1].startswith("minutes measured on ")
    assert any(line.startswith("| smoke/dividemix | divide_mix |") for line in table)
    assert "split AUC" in next(line for line in table if "smoke/dividemix" in line)
