"""Which layers train when a pretrained network is adapted: a frozen backbone, then fine-tuning.

The Keras transfer-learning guide's method (https://keras.io/guides/transfer_learning/):
train a new head on the frozen backbone for a few epochs, then unfreeze the backbone and train
everything at a low learning rate, keeping BatchNorm in inference mode throughout so that its
ImageNet statistics are not replaced by those of a few small batches. In Keras 3 a
`BatchNormalization` layer with `trainable=False` runs in inference mode, so freezing a layer
is all it takes; the keras.io EfficientNet fine-tuning example keeps the BatchNorm layers
frozen in the second phase as `unfreeze_backbone` does.
"""

import keras

# The layers `classifier_head` builds that carry weights: the classifier itself.
HEAD_LAYERS = ("predictions",)


def freeze_backbone(model, head_layers=HEAD_LAYERS):
    """Freezes every layer except `head_layers` (BatchNorm thus in inference mode); returns `model`.

    Changes take effect at the next `compile`.
    """
    _check_head(model, head_layers)
    for layer in model.layers:
        layer.trainable = layer.name in head_layers
    return model


def unfreeze_backbone(model, keep_batch_norm_frozen=True):
    """Makes every layer trainable, except BatchNorm when `keep_batch_norm_frozen`; returns `model`.

    Changes take effect at the next `compile`.
    """
    model.trainable = True
    for layer in model.layers:
        frozen = keep_batch_norm_frozen and isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = not frozen
    return model


def _check_head(model, head_layers):
    names = {layer.name for layer in model.layers}
    missing = [name for name in head_layers if name not in names]
    if missing:
        raise ValueError(
            f"the model has no layer {missing}: freeze_backbone keeps `head_layers` "
            f"{list(head_layers)} trainable; kerasssl models name their classifier "
            "'predictions'."
        )
