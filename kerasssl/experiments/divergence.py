"""Stops a run whose loss or weights stop being finite, with an error instead of a NaN model."""

import math

import keras
import numpy as np


class TrainingDivergedError(FloatingPointError):
    """Training produced a NaN or infinite loss or weight; the run stopped before saving it."""


class StopOnDivergence(keras.callbacks.Callback):
    """Raises `TrainingDivergedError` at the first non-finite loss, or weight at an epoch's end.

    Keras' `TerminateOnNaN` only sets `stop_training`: fit returns normally, the checkpoint and
    the final model are saved with NaN weights and the command exits 0. Raising instead keeps
    the last good state, but only if this callback runs before the checkpointing ones: put it
    first in fit's callback list (Keras calls them in list order), so the `BackupAndRestore`
    of the diverged epoch is never written.

    Args:
        where: the phase's name in messages, e.g. its folder.
    """

    def __init__(self, where):
        super().__init__()
        self.where = str(where)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check_logs(logs, f"epoch {self._epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        where = f"epoch {epoch + 1}"
        # Validation losses join the logs here.
        self._check_logs(logs, where)
        # A last update can leave non-finite weights behind a finite loss.
        for variable in self.model.weights:
            if not np.all(np.isfinite(keras.ops.convert_to_numpy(variable))):
                self._raise(where, f"weight {variable.path!r} is not finite")

    def _check_logs(self, logs, where):
        for name, value in (logs or {}).items():
            if name.endswith("loss") and isinstance(value, int | float):
                if not math.isfinite(value):
                    self._raise(where, f"{name} is {value}")

    def _raise(self, where, what):
        raise TrainingDivergedError(
            f"training diverged in {self.where} at {where}: {what}. No model was saved; the "
            "checkpoint of the last completed epoch, if any, is kept. Lower the learning rate "
            "(--config.train.base_learning_rate, or the phase's own learning rate) and train "
            "into a new --workdir, or rerun with --overwrite."
        )
