"""The `config.transfer_learning` recipe section."""

import ml_collections


def transfer_learning_section():
    section = ml_collections.ConfigDict()
    # Phase 1: only the new head trains, on the frozen backbone (BatchNorm in inference mode).
    section.frozen_epochs = 5  # "a few epochs", as the Keras guide
    # Phase 2: every layer trains at a lower rate; 0 epochs: config.train.epochs.
    section.fine_tune_epochs = 0
    section.fine_tune_learning_rate = 1e-5  # base learning rate of phase 2 (the guide's 1e-5)
    # Keep BatchNorm frozen (inference mode, ImageNet statistics) while fine-tuning.
    section.keep_batch_norm_frozen = True
    return section
