"""`prepare_data`: the checks on a recipe's data section that no single source makes."""

import numpy as np
import pytest

from kerasssl import recipe_defaults
from kerasssl.data.prepare import prepare_data


def _data_config(**noise):
    config = recipe_defaults.base_config().data
    for name, value in noise.items():
        config.noise[name] = value
    return config


@pytest.mark.parametrize("field, value", [("type", "gaussian"), ("rate_convention", "exact")])
def test_an_unknown_noise_setting_is_refused_even_at_rate_zero(field, value):
    with pytest.raises(ValueError, match=rf"config\.data\.noise\.{field} .*'{value}'"):
        prepare_data(_data_config(rate=0.0, **{field: value}), seed=0)


def test_a_noise_mapping_needs_the_asymmetric_type_even_at_rate_zero():
    with pytest.raises(ValueError, match="config.data.noise.mapping"):
        prepare_data(_data_config(rate=0.0, mapping="1:7"), seed=0)


def _npz_config(tmp_path, train_labels, class_names):
    for split, labels in (("train", train_labels), ("test", np.arange(len(class_names)))):
        images = np.zeros([len(labels), 4, 4, 1], np.uint8)
        np.savez(tmp_path / f"{split}.npz", images=images, labels=labels, class_names=class_names)
    config = recipe_defaults.base_config().data
    config.source = "npz"
    config.path = str(tmp_path / "{split}.npz")
    return config


def test_a_class_without_training_images_is_named(tmp_path):
    # The missing class is the last one: a count by the largest label would not see it.
    config = _npz_config(tmp_path, np.array([0, 1, 0, 1, 0, 1]), ["a", "b", "c"])
    config.validation_size = 0
    config.labels_per_class = 1
    with pytest.raises(ValueError, match=r"Classes \['c'\] have no images in the 'train' split"):
        prepare_data(config, seed=0)


def test_a_validation_split_that_takes_a_class_whole_is_named(tmp_path):
    # 6 of 10 go to validation: class "b" (1 image) gets the largest remainder, 0.6.
    config = _npz_config(tmp_path, np.array([0] * 9 + [1]), ["a", "b"])
    config.validation_size = 0.6
    with pytest.raises(ValueError, match=r"\['b'\] have no images in the training split left"):
        prepare_data(config, seed=0)
