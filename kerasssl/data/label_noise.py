"""Synthetic label noise (symmetric, asymmetric, pair-flip, instance-dependent) with named rates."""

import dataclasses
import numbers

import numpy as np

from kerasssl.data.image_data import check_labels
from kerasssl.data.instance_label_noise import instance_noise_probabilities, sample_labels

CIFAR10_CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
# DivideMix's map, by CIFAR-10 class id: truck->automobile, bird->airplane, deer->horse,
# cat<->dog. Airplane, automobile, frog, horse and ship are never corrupted.
CIFAR10_ASYMMETRIC_MAP = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
NOISE_TYPES = ("symmetric", "asymmetric", "pair_flip", "instance")
RATE_CONVENTIONS = ("flip", "resample")


@dataclasses.dataclass(frozen=True, eq=False)
class LabelNoise:
    """The result of `inject_label_noise`.

    Args:
        noisy_labels: np.int64 [N], the labels to train on.
        true_labels: np.int64 [N], the labels given to `inject_label_noise`.
        is_noisy: bool [N], True where the noisy label differs from the true one.
        transition_matrix: float64 [C, C], the realised P(noisy = j | true = i): row i counts
            the noisy labels of the examples of true class i, divided by their number (rows
            of classes without examples are zero).
        noisy_label_probabilities: instance noise only (else None), float64 [N, C]: the
            distribution each noisy label was drawn from, P(noisy = j | image i).
    """

    noisy_labels: np.ndarray
    true_labels: np.ndarray
    is_noisy: np.ndarray
    transition_matrix: np.ndarray
    noisy_label_probabilities: np.ndarray | None = None

    @property
    def flip_probabilities(self) -> np.ndarray | None:
        """Instance noise: float64 [N], each label's probability of having been changed."""
        if self.noisy_label_probabilities is None:
            return None
        rows = np.arange(len(self.true_labels))
        return 1.0 - self.noisy_label_probabilities[rows, self.true_labels]

    @property
    def realised_rate(self) -> float:
        """Fraction of all labels that really changed."""
        return float(self.is_noisy.mean()) if self.is_noisy.size else 0.0


def inject_label_noise(
    labels,
    num_classes: int,
    noise_rate: float,
    noise_type: str = "symmetric",
    rate_convention: str = "flip",
    seed: int = 0,
    mapping=None,
    class_names=None,
    features=None,
) -> LabelNoise:
    """Corrupts labels the way noisy-label papers do, reporting what really changed.

    Noise types:
    - "symmetric": a corrupted label is drawn uniformly from the classes (see conventions).
    - "asymmetric": class-dependent flips source -> target given by `mapping`; classes absent
      from the map are never corrupted. With `mapping=None` the CIFAR-10 map of DivideMix
      (`CIFAR10_ASYMMETRIC_MAP`: truck->automobile, bird->airplane, deer->horse, cat<->dog)
      is used, but only when `class_names` are the CIFAR-10 names in their usual order;
      any other class set must pass `mapping`.
    - "pair_flip": every class c flips to (c + 1) mod C (Han et al., Co-teaching).
    - "instance": instance-dependent (Xia et al., Algorithm 2; see `instance_label_noise`):
      each example draws its own flip rate around `noise_rate` and flips to a class chosen
      from its `features` through a random projection per class. "flip" convention only:
      `noise_rate` in [0, 1) is the expected fraction of labels that change (random, not made
      exact per class); `LabelNoise.flip_probabilities` keeps each example's rate.

    Rate conventions:
    - "flip": `noise_rate` is the fraction of labels that really change, made exact per class:
      in every corrupted class, round(noise_rate * n_c) examples chosen at random change.
      Symmetric: the new label is uniform over the C - 1 other classes, so the realised rate
      is `noise_rate`. Asymmetric/pair_flip: the chosen examples move to their target class;
      the realised rate within each mapped class is `noise_rate` (overall it is `noise_rate`
      times the share of examples in mapped classes).
    - "resample": DivideMix's code. int(noise_rate * N) examples are chosen at random from the
      whole set. Symmetric: each gets a label drawn uniformly from all C classes, including
      its own, so only about noise_rate * (C - 1) / C really change ("50% symmetric" on
      CIFAR-10 changes 45%). Asymmetric/pair_flip: each chosen example of a mapped class
      moves to its target (targets always differ from the source, so nothing is redrawn to
      itself) and chosen examples of unmapped classes keep their label; per mapped class the
      realised rate is `noise_rate` in expectation rather than exactly.

    Args:
        labels: integer class ids [N] in [0, num_classes).
        num_classes: number of classes C (>= 2).
        noise_rate: in [0, 1], meaning set by `rate_convention`.
        noise_type: "symmetric", "asymmetric" or "pair_flip".
        rate_convention: "flip" or "resample".
        seed: the same seed gives the same noisy labels.
        mapping: asymmetric only, {source: target} by class id, or by class name when
            `class_names` is given.
        class_names: optional class names, to pick the CIFAR-10 map or resolve named mappings.
        features: instance noise only, [N, ...] per-example features: an array, or an
            array-like read a chunk at a time (kerasssl passes `PixelFeatures(images)`, the
            images scaled to [0, 1], which also reads them from shards).

    Returns:
        A `LabelNoise` (noisy labels, true labels, is_noisy mask, realised transition matrix).

    Example:
    ```python
    noise = inject_label_noise(data.labels, 10, 0.4, "asymmetric", class_names=data.class_names)
    noisy_data = dataclasses.replace(data, labels=noise.noisy_labels)
    ```

    Reference:
        Li et al., DivideMix, ICLR 2020 (https://arxiv.org/abs/2002.07394); Han et al.,
        Co-teaching, NeurIPS 2018 (https://arxiv.org/abs/1804.06872); Xia et al.,
        Part-dependent Label Noise, NeurIPS 2020 (https://arxiv.org/abs/2006.07836).
    """
    if not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an int >= 2; got {num_classes!r}.")
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"`labels` must be 1-D integer class ids; got dtype {labels.dtype}, "
            f"shape {labels.shape}."
        )
    check_labels(labels, num_classes)
    if (
        not isinstance(noise_rate, numbers.Real)
        or isinstance(noise_rate, bool)
        or not 0.0 <= noise_rate <= 1.0
    ):
        raise ValueError(
            f"`noise_rate` must be a fraction in [0, 1] (0.4 for 40%); got {noise_rate!r}."
        )
    if noise_type not in NOISE_TYPES:
        raise ValueError(f"`noise_type` must be one of {NOISE_TYPES}; got {noise_type!r}.")
    if rate_convention not in RATE_CONVENTIONS:
        raise ValueError(
            f"`rate_convention` must be one of {RATE_CONVENTIONS}; got {rate_convention!r}."
        )
    if mapping is not None and noise_type != "asymmetric":
        raise ValueError(f"`mapping` is only used by noise_type='asymmetric', not {noise_type!r}.")
    if (features is None) != (noise_type != "instance"):
        raise ValueError(
            "`features` are needed by noise_type='instance' and only by it; got "
            f"noise_type={noise_type!r} with features {'absent' if features is None else 'given'}."
        )
    true_labels = labels.astype(np.int64)
    rng = np.random.default_rng(seed)
    if noise_type == "instance":
        if not noise_rate < 1.0:
            raise ValueError(
                f"instance noise needs `noise_rate` in [0, 1) (every sample draws a flip rate "
                f"around it, truncated to [0, 1]); got {noise_rate}."
            )
        if rate_convention != "flip":
            raise ValueError(
                "noise_type='instance' has only the 'flip' rate convention (the rate is the "
                f"expected fraction of labels that change); got {rate_convention!r}."
            )
        probabilities = instance_noise_probabilities(
            features, true_labels, num_classes, noise_rate, rng
        )
        noisy = sample_labels(probabilities, rng)
        return LabelNoise(
            noisy_labels=noisy,
            true_labels=true_labels,
            is_noisy=noisy != true_labels,
            transition_matrix=transition_matrix(true_labels, noisy, num_classes),
            noisy_label_probabilities=probabilities,
        )
    if noise_type == "symmetric":
        targets = None
    elif noise_type == "pair_flip":
        targets = (np.arange(num_classes) + 1) % num_classes
    else:
        targets = _asymmetric_targets(num_classes, mapping, class_names)

    if rate_convention == "flip":
        noisy = _flip(true_labels, num_classes, noise_rate, targets, rng)
    else:
        noisy = _resample(true_labels, num_classes, noise_rate, targets, rng)
    return LabelNoise(
        noisy_labels=noisy,
        true_labels=true_labels,
        is_noisy=noisy != true_labels,
        transition_matrix=transition_matrix(true_labels, noisy, num_classes),
    )


def transition_matrix(true_labels, noisy_labels, num_classes: int) -> np.ndarray:
    """Realised P(noisy = j | true = i) as a [C, C] float64 array (zero rows for absent classes)."""
    counts = np.zeros((num_classes, num_classes), np.float64)
    np.add.at(counts, (np.asarray(true_labels), np.asarray(noisy_labels)), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _flip(labels, num_classes, noise_rate, targets, rng) -> np.ndarray:
    noisy = labels.copy()
    for label in range(num_classes):
        if targets is not None and targets[label] == label:
            continue  # Unmapped class: never corrupted.
        members = np.flatnonzero(labels == label)
        count = int(np.floor(noise_rate * len(members) + 0.5))
        chosen = rng.choice(members, size=count, replace=False)
        if targets is None:
            # A shift of 1..C-1 is uniform over the other classes.
            noisy[chosen] = (label + rng.integers(1, num_classes, size=count)) % num_classes
        else:
            noisy[chosen] = targets[label]
    return noisy


def _resample(labels, num_classes, noise_rate, targets, rng) -> np.ndarray:
    noisy = labels.copy()
    chosen = rng.permutation(len(labels))[: int(noise_rate * len(labels))]
    if targets is None:
        noisy[chosen] = rng.integers(0, num_classes, size=len(chosen))
    else:
        noisy[chosen] = targets[labels[chosen]]
    return noisy


def _asymmetric_targets(num_classes, mapping, class_names) -> np.ndarray:
    """{source: target} -> an array `targets` with targets[c] = c for unmapped classes."""
    if mapping is None:
        if class_names is None or tuple(class_names) != CIFAR10_CLASS_NAMES:
            raise ValueError(
                "noise_type='asymmetric' needs a class map: pass `mapping={source: target}` "
                "(class ids or names; in a recipe, config.data.noise.mapping='cat:dog,dog:cat'), "
                "or `class_names` equal to the CIFAR-10 names "
                f"{CIFAR10_CLASS_NAMES} to use CIFAR10_ASYMMETRIC_MAP; got class_names="
                f"{None if class_names is None else tuple(class_names)}."
            )
        mapping = CIFAR10_ASYMMETRIC_MAP
    names = list(class_names) if class_names is not None else None
    targets = np.arange(num_classes)
    for source, target in dict(mapping).items():
        source_id = _class_id(source, num_classes, names)
        target_id = _class_id(target, num_classes, names)
        if source_id == target_id:
            raise ValueError(f"`mapping` sends class {source!r} to itself; drop that entry.")
        targets[source_id] = target_id
    return targets


def parse_mapping(text, class_names=None):
    """'source:target,...' -> {source: target} for `inject_label_noise`, or None for ''.

    The recipe form of `mapping` (`config.data.noise.mapping`): a token that is one of
    `class_names` stays a name; any other token made of digits becomes a class id.
    """
    if not text or not text.strip():
        return None
    names = set(class_names or ())

    def resolve(token):
        if token in names or not token.isdigit():
            return token
        return int(token)

    mapping = {}
    for entry in text.split(","):
        parts = [part.strip() for part in entry.split(":")]
        if len(parts) != 2 or not all(parts):
            raise ValueError(
                f"config.data.noise.mapping must look like 'cat:dog,dog:cat' or '2:7,3:8' "
                f"(source:target pairs separated by commas); got entry {entry!r} in {text!r}."
            )
        source, target = (resolve(part) for part in parts)
        if source in mapping:
            raise ValueError(f"config.data.noise.mapping maps {parts[0]!r} twice in {text!r}.")
        mapping[source] = target
    return mapping


def _class_id(value, num_classes, names) -> int:
    if isinstance(value, str):
        if names is None or value not in names:
            raise ValueError(
                f"`mapping` names class {value!r}, which is not in `class_names` {names}; "
                "use class ids or pass the matching class_names."
            )
        return names.index(value)
    if isinstance(value, numbers.Integral) and 0 <= value < num_classes:
        return int(value)
    raise ValueError(
        f"`mapping` entry {value!r} is not a class id in [0, {num_classes}) or a class name."
    )
