"""Turns a recipe's `config.data` into the splits an algorithm trains on."""

import dataclasses

import numpy as np

from kerasssl.data.image_data import ImageData
from kerasssl.data.instance_label_noise import PixelFeatures
from kerasssl.data.label_noise import (
    NOISE_TYPES,
    RATE_CONVENTIONS,
    LabelNoise,
    inject_label_noise,
    parse_mapping,
)
from kerasssl.data.sources import check_every_class_has_examples, load_dataset
from kerasssl.data.splits import labeled_unlabeled_split, validation_split


@dataclasses.dataclass(frozen=True)
class PreparedData:
    """The splits of one run.

    Attributes:
        labeled: training images whose (possibly noisy) labels the algorithm may use.
        unlabeled: training images whose labels are hidden from the algorithm (their true labels
            stay in `labels` for diagnostics such as pseudo-label accuracy); empty when
            `labels_per_class` is 0.
        validation: carved from train before anything else, clean labels: tune on it.
        test: the source's test split; report on it, never tune on it.
        label_noise: what was injected into `labeled`, or None.
    """

    labeled: ImageData
    unlabeled: ImageData
    validation: ImageData
    test: ImageData
    label_noise: LabelNoise | None

    @property
    def num_classes(self):
        return self.test.num_classes

    @property
    def input_shape(self):
        return tuple(int(size) for size in self.test.image_shape)


def prepare_data(data_config, seed):
    """Loads the source, carves validation, hides labels, injects noise; all seeded."""
    noise = data_config.noise
    # Checked even at rate 0: a misspelt type must not wait for the day the rate is raised.
    _check_choice("config.data.noise.type", noise.type, NOISE_TYPES)
    _check_choice("config.data.noise.rate_convention", noise.rate_convention, RATE_CONVENTIONS)
    if noise.type == "instance" and noise.rate_convention != "flip":
        raise ValueError(
            "config.data.noise.type='instance' has only the 'flip' rate convention; set "
            f"config.data.noise.rate_convention='flip' (got {noise.rate_convention!r})."
        )
    splits = load_dataset(data_config)
    train, test = splits["train"], splits["test"]
    mapping = parse_mapping(noise.get("mapping", ""), train.class_names)
    if mapping is not None and noise.type != "asymmetric":
        raise ValueError(
            "config.data.noise.mapping is only used by config.data.noise.type='asymmetric'; got "
            f"type {noise.type!r}. Clear the mapping or set the type."
        )
    validation_size = data_config.validation_size
    if validation_size:
        train_indices, validation_indices = validation_split(train.labels, validation_size, seed)
        validation = train.subset(validation_indices)
        train = train.subset(train_indices)
        check_every_class_has_examples(
            train, f"the training split left after carving validation_size={validation_size}"
        )
    else:
        validation = train.subset(np.arange(0))
    if data_config.labels_per_class:
        labeled_indices, unlabeled_indices = labeled_unlabeled_split(
            train.labels, data_config.labels_per_class, seed, class_names=train.class_names
        )
        labeled, unlabeled = train.subset(labeled_indices), train.subset(unlabeled_indices)
    else:
        labeled, unlabeled = train, train.subset(np.arange(0))
    label_noise = None
    if noise.rate:
        label_noise = inject_label_noise(
            labeled.labels,
            labeled.num_classes,
            noise_rate=noise.rate,
            noise_type=noise.type,
            rate_convention=noise.rate_convention,
            seed=seed,
            class_names=labeled.class_names,
            mapping=mapping,
            # Instance noise flips each image according to its pixels, read a chunk at a time
            # (from the shards too: the same chunks give the same labels as in memory).
            features=PixelFeatures(labeled.images) if noise.type == "instance" else None,
        )
        labeled = dataclasses.replace(labeled, labels=label_noise.noisy_labels)
    return PreparedData(labeled, unlabeled, validation, test, label_noise)


def _check_choice(field, value, choices):
    if value not in choices:
        raise ValueError(f"{field} must be one of {list(choices)}; got {value!r}.")
