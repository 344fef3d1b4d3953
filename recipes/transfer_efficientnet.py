"""Fine-tune ImageNet EfficientNet-B0 on an image folder: a new head, then the whole network.

Command:
    kerasssl train --config=recipes/transfer_efficientnet.py \
        --config.data.root=<folder with train/<class>/*.jpg and test/<class>/*.jpg> \
        --workdir=runs/transfer_efficientnet
    # offline: --config.model.kwargs.weights=<path of efficientnetb0_notop.h5>
The Keras transfer-learning guide's method (https://keras.io/guides/transfer_learning/):
`keras.applications.EfficientNetB0`'s ImageNet weights (Keras downloads them once into
~/.keras/models) without the classifier, a new head for the folder's classes trained for 5
epochs on the frozen backbone (BatchNorm in inference mode), then every layer but BatchNorm
trained for 10 epochs at base learning rate 1e-5 (Adam, as the guide). Images are resized to
B0's native 224 x 224.
Runtime and accuracy: NOT measured. The development machine has no internet, so the ImageNet
weights could not be fetched; the loading itself is tested offline against
keras.applications (tests/models/test_pretrained.py: same logits to 1e-5). On 2 CPU cores a
224-pixel B0 trains at a few tens of images per second: budget accordingly, or shrink with
--config.data.image_size=96 (ImageNet features degrade below ~128 pixels).
Variants: `:smoke` (a random B0 at 32 x 32, one step per phase; tests pass a weight file).
"""

import ml_collections

from kerasssl import recipe_defaults, recipe_presets
from kerasssl.experiments.transfer_learning_config import transfer_learning_section

PRESETS = {
    "smoke": "a random EfficientNet-B0 at 32 x 32, one step per phase (tests pass a weight file)",
}


def get_config(arg=None):
    preset = recipe_presets.parse_preset(arg, PRESETS)
    config = recipe_defaults.base_config()
    config.algorithm = "transfer_learning"
    config.data.source = "image_folder"
    config.data.root = ""  # required: --config.data.root=<folder with train/ and test/>
    config.data.image_size = 224  # EfficientNet-B0's native resolution
    config.data.validation_size = 0.1
    config.model.name = "efficientnet_b0"
    # The backbone's ImageNet weights; the 1000-class classifier is replaced.
    config.model.kwargs = ml_collections.ConfigDict({"weights": "imagenet", "include_top": False})
    config.train.optimizer = "adam"
    config.train.batch_size = 64
    config.train.base_learning_rate = 1e-3  # phase 1, the head (the guide's Adam default)
    config.train.linear_scaling = False  # the guide's rates are absolute
    config.train.warmup_epochs = 0
    config.train.weight_decay = 0.0  # the guide uses none
    config.train.epochs = 10  # phase 2 (fine_tune_epochs 0 takes this)
    config.transfer_learning = transfer_learning_section()
    config.transfer_learning.frozen_epochs = 5
    config.transfer_learning.fine_tune_learning_rate = 1e-5
    if preset == "smoke":
        recipe_defaults.smoke(config)
        config.model.name = "efficientnet_b0"
        config.model.kwargs = ml_collections.ConfigDict({"weights": "", "include_top": False})
        config.data.image_size = 32
        config.train.epochs = 1
        config.transfer_learning.frozen_epochs = 1
    return config
