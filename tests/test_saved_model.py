"""A run folder's saved_model/ serves with TensorFlow alone, and predicts as model.keras does."""

import subprocess
import sys
import textwrap

import keras
import numpy as np

from kerasssl import recipe_defaults, train

SERVE_WITHOUT_KERASSSL = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf

    model = tf.saved_model.load(sys.argv[1])
    logits = model.serve(tf.constant(np.load(sys.argv[2])))
    assert "kerasssl" not in sys.modules
    np.save(sys.argv[3], logits.numpy())
    """
)

# What the README tells users to do with model.keras.
LOAD_WITH_KERASSSL_MODELS = textwrap.dedent(
    """
    import sys
    import keras
    import numpy as np
    import kerasssl.models  # registers kerasssl's network classes with Keras

    model = keras.saving.load_model(sys.argv[1])
    np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
    """
)


def _run(script, *arguments):
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_saved_model_serves_without_kerasssl_and_matches_model_keras(tmp_path):
    config = recipe_defaults.smoke(recipe_defaults.base_config())  # digits, resnet_tiny
    config.train.verbose = "0"
    workdir = tmp_path / "run"
    train.train_and_evaluate(config, workdir)
    assert sorted(path.name for path in workdir.iterdir() if path.name.startswith(".")) == []

    images = np.random.default_rng(0).uniform(0, 255, (5, 8, 8, 1)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    _run(
        SERVE_WITHOUT_KERASSSL,
        workdir / "saved_model",
        tmp_path / "images.npy",
        tmp_path / "served.npy",
    )
    expected = keras.saving.load_model(workdir / "model.keras").predict(images, verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"), expected, rtol=1e-5, atol=1e-5)
    _run(
        LOAD_WITH_KERASSSL_MODELS,
        workdir / "model.keras",
        tmp_path / "images.npy",
        tmp_path / "loaded.npy",
    )
    np.testing.assert_allclose(np.load(tmp_path / "loaded.npy"), expected, rtol=1e-5, atol=1e-5)
