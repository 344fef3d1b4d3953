"""kerasssl.models: image classifiers that take [0, 255] images and return logits."""

from kerasssl.models.efficient_net import EfficientNet, compound_scaling, efficient_net_from_phi
from kerasssl.models.fine_tuning import freeze_backbone, unfreeze_backbone
from kerasssl.models.mlp_mixer import MLPMixer
from kerasssl.models.pre_act_res_net import PreActResNet
from kerasssl.models.pretrained import load_pretrained
from kerasssl.models.registry import describe_model, get_model, list_models
from kerasssl.models.res_net import ResNet
from kerasssl.models.stochastic_depth import StochasticDepth
from kerasssl.models.wide_res_net import WideResNet

__all__ = [
    "EfficientNet",
    "MLPMixer",
    "PreActResNet",
    "ResNet",
    "StochasticDepth",
    "WideResNet",
    "compound_scaling",
    "describe_model",
    "efficient_net_from_phi",
    "freeze_backbone",
    "get_model",
    "list_models",
    "load_pretrained",
    "unfreeze_backbone",
]
