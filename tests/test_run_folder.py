"""The run folder: which stored configs a rerun may resume, overwriting, cleaning up."""

import json

import pytest

from kerasssl import recipe_defaults, run_folder


def _config():
    return recipe_defaults.smoke(recipe_defaults.base_config())


def test_differences_name_each_field_old_and_new_and_ignore_verbosity():
    stored = run_folder.config_as_json(_config())
    changed = _config()
    changed.train.base_learning_rate = 0.01
    changed.model.name = "wrn_28_2"
    changed.model.kwargs.width = 2
    changed.train.verbose = "0"
    changed.data.verify_checksums = True  # checking shards cannot change a result
    assert run_folder.config_differences(stored, run_folder.config_as_json(changed)) == [
        "model.kwargs.width: (absent) -> 2",
        'model.name: "resnet_tiny" -> "wrn_28_2"',
        "train.base_learning_rate: 0.1 -> 0.01",
    ]
    assert run_folder.config_differences(stored, stored) == []
    # A run folder written before the field existed resumes too.
    del stored["data"]["verify_checksums"]
    del stored["pseudo_labels"]  # before the Beam labeler: the in-process job ran
    assert run_folder.config_differences(stored, run_folder.config_as_json(_config())) == []
    on_beam = _config()
    on_beam.pseudo_labels.runner = "direct"
    on_beam.pseudo_labels.num_workers = 8  # threads cannot change a result
    assert run_folder.config_differences(stored, run_folder.config_as_json(on_beam)) == [
        'pseudo_labels.runner: "" -> "direct"'
    ]


def test_a_changed_config_is_refused_before_anything_is_written(tmp_path):
    run_folder.RunFolder(tmp_path, _config()).check().start()
    stored = (tmp_path / "config.json").read_text()
    changed = _config()
    changed.train.epochs = 5
    with pytest.raises(ValueError, match=r"train\.epochs: 2 -> 5.*--overwrite"):
        run_folder.RunFolder(tmp_path, changed).check()
    assert (tmp_path / "config.json").read_text() == stored
    quieter = _config()
    quieter.train.verbose = "0"
    assert run_folder.RunFolder(tmp_path, quieter).check().resuming


def test_overwrite_deletes_only_a_kerasssl_run(tmp_path):
    run = tmp_path / "run"
    run_folder.RunFolder(run, _config()).check().start()
    (run / "backup").mkdir()
    (run / "backup" / "training_metadata.json").write_text('{"epoch": 1}')
    changed = _config()
    changed.seed = 3
    folder = run_folder.RunFolder(run, changed, overwrite=True).check().start()
    assert not folder.resuming
    assert sorted(path.name for path in run.iterdir()) == ["config.json"]
    assert json.loads((run / "config.json").read_text())["seed"] == 3

    not_a_run = tmp_path / "notes"
    not_a_run.mkdir()
    (not_a_run / "thesis.tex").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(ValueError, match="not a kerasssl run folder"):
            run_folder.RunFolder(not_a_run, _config(), overwrite=overwrite).check()
    (not_a_run / "config.json").write_text('{"name": "another tool"}')
    with pytest.raises(ValueError, match="not a kerasssl config"):
        run_folder.RunFolder(not_a_run, _config(), overwrite=True).check()
    assert (not_a_run / "thesis.tex").read_text() == "keep me"


def test_a_failed_start_removes_only_what_it_created(tmp_path):
    # A new folder (and its new parents) go entirely.
    folder = run_folder.RunFolder(tmp_path / "a" / "b", _config()).check().start()
    (tmp_path / "a" / "b" / "tensorboard").mkdir()
    (tmp_path / "a" / "b" / "history.csv").write_text("epoch,loss\n")
    folder.remove_partial_run()
    assert not (tmp_path / "a").exists()
    # An existing empty folder stays, with what the user had in it.
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / ".keep").write_text("")
    folder = run_folder.RunFolder(existing, _config()).check().start()
    folder.remove_partial_run()
    assert sorted(path.name for path in existing.iterdir()) == [".keep"]
    # Saved progress (a checkpoint) is kept for the rerun to resume.
    folder = run_folder.RunFolder(existing, _config()).check().start()
    (existing / "backup").mkdir()
    (existing / "backup" / "training_metadata.json").write_text('{"epoch": 1}')
    folder.remove_partial_run()
    assert (existing / "config.json").is_file()
    # A resumed run never deletes anything.
    (existing / "backup" / "training_metadata.json").unlink()
    folder = run_folder.RunFolder(existing, _config()).check().start()
    assert folder.resuming
    folder.remove_partial_run()
    assert (existing / "config.json").is_file()
