"""A kill of a training run at a chosen point, for tests that it resumes as if never stopped."""

import keras


class Interrupt(Exception):
    """What `InterruptFit` raises: a stand-in for a killed run that a test catches."""


class InterruptFit(keras.callbacks.Callback):
    """Raises `Interrupt` in a run's `fit_index`-th fit call (0-based, one per phase or
    DivideMix epoch).

    After epoch `epoch` ends (`BackupAndRestore` has saved it: the kill between two epochs),
    or, with `epoch=None`, after the first batch (nothing saved yet).

    Example:

        with pytest.raises(Interrupt):
            train_and_evaluate(config, workdir, callbacks=[InterruptFit(0, epoch=1)])
        train_and_evaluate(config, workdir)  # resumes at epoch 2
    """

    def __init__(self, fit_index, epoch):
        super().__init__()
        self.fit_index, self.epoch, self.fits = fit_index, epoch, -1

    def on_train_begin(self, logs=None):
        self.fits += 1

    def on_train_batch_end(self, batch, logs=None):
        if self.fits == self.fit_index and self.epoch is None:
            raise Interrupt()

    def on_epoch_end(self, epoch, logs=None):
        if self.fits == self.fit_index and epoch == self.epoch:
            raise Interrupt()
