"""The billion-scale experiment's pre-training and fine-tuning phase settings."""

import math

import pytest

from kerasssl import recipe_defaults
from kerasssl.experiments import billion_scale
from kerasssl.experiments import context as shared
from kerasssl.experiments.teacher_student_config import billion_scale_section


def _config():
    config = recipe_defaults.base_config()
    config.algorithm = "billion_scale"
    config.train.batch_size = 32
    config.train.steps_per_epoch = 40  # the teacher's
    config.train.warmup_epochs = 1
    config.billion_scale = billion_scale_section()
    return config


def test_zero_pretrain_steps_mean_one_pass_over_the_selected_set():
    config = _config()
    config.billion_scale.pretrain_steps_per_epoch = 0
    train = billion_scale.pretrain_config(config).train
    # 1,000 selected images at batch 32, not the teacher's 40 steps.
    assert shared.steps_per_epoch(train, 1000) == math.ceil(1000 / 32)
    config.billion_scale.pretrain_steps_per_epoch = 7
    assert shared.steps_per_epoch(billion_scale.pretrain_config(config).train, 1000) == 7


def test_fine_tuning_starts_at_its_learning_rate_without_a_second_warm_up():
    config = _config()
    train = billion_scale.finetune_config(config).train
    schedule = shared.learning_rate_schedule(train, total_steps=400, steps_in_epoch=40)
    peak = config.train.base_learning_rate / 10 * 32 / 256
    assert float(schedule(0)) == pytest.approx(peak)
    assert config.train.warmup_epochs == 1  # the teacher's own warm-up is untouched
    config.billion_scale.finetune_warmup_epochs = 2  # asked for: then it warms up
    train = billion_scale.finetune_config(config).train
    schedule = shared.learning_rate_schedule(train, total_steps=400, steps_in_epoch=40)
    assert float(schedule(0)) == 0.0 and float(schedule(80)) == pytest.approx(peak)
