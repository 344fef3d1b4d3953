"""kerasssl.experiments.teacher_student: pieces the multi-phase experiments share."""

import pytest

from kerasssl import distribute, files
from kerasssl.experiments import context as shared
from kerasssl.experiments import supervised
from kerasssl.experiments import teacher_student as phases
from kerasssl.testing import smoke_config


def _batch_norm_flags(model):
    return [layer.synchronized for layer in distribute.batch_norm_layers(model)]


def test_a_loaded_initial_model_trains_with_synchronized_batch_norm(tmp_path, monkeypatch):
    """A fine-tuning phase (MPL's, billion-scale's) starts from a model.keras, which loads with
    plain BatchNorm: the phase switches it back on, as build_model does for a fresh network."""
    config = smoke_config("supervised_digits")
    config.model.sync_batch_norm = True
    saved = shared.build_model(config, 10, (8, 8, 1))
    assert all(_batch_norm_flags(saved))
    files.atomic_save_model(saved, tmp_path / "model.keras")
    assert not any(_batch_norm_flags(phases.load_model(tmp_path)))  # what a load gives

    trained = []

    def fake_train(config, data, labeled, folder, callbacks=(), model=None):
        trained.append(model)
        raise RuntimeError("stop before training")

    monkeypatch.setattr(supervised, "train_supervised", fake_train)
    with pytest.raises(RuntimeError, match="stop before training"):
        phases.supervised_phase(
            config,
            None,
            None,
            tmp_path / "phase",
            initial_model=lambda: phases.load_model(tmp_path),
        )
    flags = _batch_norm_flags(trained[0])
    assert flags and all(flags)
