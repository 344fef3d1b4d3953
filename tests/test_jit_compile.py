"""TPU readiness: every algorithm's train and test steps compile with XLA (`jit_compile=True`).

TPUs run only XLA-compiled steps with static shapes. These run each family's `:smoke` recipe
end to end with `config.train.jit_compile = True` on the CPU: a step XLA cannot compile (an op
without an XLA kernel, a dynamic shape, a call back into Python) fails the run.
"""

import numpy as np
import pytest

from kerasssl import testing
from kerasssl.data import pipelines
from kerasssl.data.digits import load_digits
from kerasssl.train import train_and_evaluate


def smoke_recipe(name, variant="smoke"):
    config = testing.smoke_config(name, variant)
    config.train.jit_compile = True
    return config


# Keras falls back to no XLA with only this warning (e.g. while op determinism is on): fail.
NO_FALLBACK = pytest.mark.filterwarnings("error:Model doesn't support `jit_compile=True`")


@NO_FALLBACK
def test_supervised_steps_compile_with_xla(tmp_path):
    metrics = train_and_evaluate(smoke_recipe("supervised_digits"), tmp_path / "run")
    assert np.isfinite(metrics["test_loss"])


# Supervised (teachers, fine-tuning) runs inside each of these too.
@NO_FALLBACK
@pytest.mark.slow
@pytest.mark.parametrize(
    "recipe",
    [
        "distillation_digits",  # Distiller
        "noisy_student_digits",  # NoisyStudent, and the teacher's labeling (predict)
        "billion_scale_cifar10",  # NoisyStudent-style student on top-K selections
        "mpl_cifar10",  # MetaPseudoLabels (two optimizers, UDA term)
        # DivideMix warm-up and mixed steps (two networks); its Beta draw is an inverse-CDF
        # bisection on betainc, since keras.random.beta has no XLA kernel.
        "dividemix_digits",
    ],
)
def test_every_family_compiles_with_xla(recipe, tmp_path):
    metrics = train_and_evaluate(smoke_recipe(recipe), tmp_path / "run")
    assert np.isfinite(metrics["test_accuracy"])


def test_training_batches_have_static_shapes():
    data = load_digits("train")
    dataset = pipelines.supervised_dataset(data, 16, training=True, seed=0)
    images, labels = dataset.element_spec
    # A TPU needs the batch dimension known when the step is traced.
    assert images.shape[0] == 16 and labels.shape[0] == 16
