"""The UDA consistency loss and a cross-entropy that can be differentiated twice."""

from keras import ops

from kerasssl.algorithms.sharpen import check_temperature


def soft_cross_entropy(targets, logits):
    """Per-example `-sum(targets * log_softmax(logits))`, written out by hand.

    Keras' fused cross-entropy has no second derivative with respect to its targets: a teacher
    gradient taken through the student's gradient of that loss comes out silently all zero.
    This version is plain ops, so nested `GradientTape`s see the whole path.

    Args:
        targets: float [B, C] probabilities (a one-hot row is a hard label).
        logits: float [B, C].
    """
    log_probabilities = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    return -ops.sum(ops.cast(targets, "float32") * log_probabilities, axis=-1)


MASK_ON = ("sharpened", "plain")


def smoothed_confidence_ceiling(label_smoothing, num_classes, temperature=0.7, mask_on="plain"):
    """The max probability of `mask_on`'s distribution when the model predicts exactly its
    label-smoothed training target, 1 - e + e / C on the true class (e / C elsewhere).

    Cross-entropy against smoothed targets is lowest at that prediction, so a model trained
    with smoothing e aims below this confidence: a UDA threshold above it masks (almost)
    every example, and the UDA term silently never trains. With e = 0.15 and C = 10 the ceiling
    is 0.865 plain and 0.973 sharpened at temperature 0.7.
    """
    top = 1.0 - label_smoothing + label_smoothing / num_classes
    if mask_on == "plain" or label_smoothing == 0.0:
        return top
    rest = label_smoothing / num_classes
    return top ** (1 / temperature) / (
        top ** (1 / temperature) + (num_classes - 1) * rest ** (1 / temperature)
    )


def uda_loss(
    weak_logits, strong_logits, temperature=0.7, confidence_threshold=0.6, mask_on="sharpened"
):
    """UDA: the sharpened, confidence-masked weak-view prediction is the strong view's target.

    Args:
        weak_logits: float [B, C], the model on the weakly augmented view (no gradient flows
            through it: it is the target).
        strong_logits: float [B, C], the same model on the RandAugment view.
        temperature: sharpening temperature of the target, > 0 (< 1 sharpens).
        confidence_threshold: examples whose weak-view max probability is below it are masked.
        mask_on: the distribution whose max probability meets the threshold: "sharpened"
            (`softmax(weak / temperature)`, the target itself), as both Meta Pseudo Labels
            codes (google-research `training_utils.py`: `uda_threshold` 0.6 at `uda_temp`
            0.7 on CIFAR-10; the PyTorch port kekmodel/MPL-pytorch: `--threshold 0.6
            --temperature 0.7` in its CIFAR-10 command), or "plain" (`softmax(weak)`), as the
            UDA paper's own code (google-research/uda). Sharpening with temperature < 1 raises
            the max probability, so one threshold keeps more examples on "sharpened".

    Returns:
        (loss, mask_rate): the batch mean of the masked cross-entropy (masked examples count as
        zeros, as in the reference) and the fraction of examples kept.

    Example:
        >>> loss, mask_rate = uda_loss(weak_logits, strong_logits, 0.7, 0.6, "sharpened")

    Reference: Xie et al., "Unsupervised Data Augmentation for Consistency Training",
    NeurIPS 2020 (https://arxiv.org/abs/1904.12848).
    """
    check_temperature(temperature)
    if mask_on not in MASK_ON:
        raise ValueError(f"mask_on must be one of {MASK_ON}, got {mask_on!r}.")
    weak_logits = ops.stop_gradient(ops.cast(weak_logits, "float32"))
    target = ops.softmax(weak_logits / temperature, axis=-1)
    masked_on = target if mask_on == "sharpened" else ops.softmax(weak_logits, axis=-1)
    confidence = ops.max(masked_on, axis=-1)
    mask = ops.cast(confidence >= confidence_threshold, "float32")
    loss = ops.mean(soft_cross_entropy(target, strong_logits) * mask)
    return loss, ops.mean(mask)
