"""DivideMix on CIFAR-100 with synthetic label noise at the paper's scale, from tfds.

Command (a GPU run; prepare the data once, on a machine with internet):
    tfds build cifar100 --data_dir=$HOME/tensorflow_datasets
    kerasssl train --config=recipes/dividemix_cifar100.py:paper_sym50 \\
        --config.data.data_dir=$HOME/tensorflow_datasets --workdir=runs/dividemix_cifar100
Presets: `:paper_sym20`, `:paper_sym50` (also the run without argument), `:paper_sym80`,
`:paper_sym90`: the DivideMix paper's CIFAR-100 runs, every value the paper's or the authors'
code's (`kerasssl.experiments.divide_mix_config.paper_config` names the source of each): all
50,000 images, PreActResNet-18 with 100 classes, 300 epochs of batch 64, SGD 0.02 divided by
10 at epoch 150, 30 warm-up epochs, tau 0.5 (0.6 at 90%), T 0.5, alpha 4, lambda_u 25 / 150 /
150 / 150. `:smoke` shrinks the `paper_sym50` run to seconds (tiny model, one-step epochs).
Runtime: NOT run here (no GPU); the paper times CIFAR-10 (Table 8: 5.2 hours on one V100),
and CIFAR-100 has the same images and network, 20 more warm-up epochs.
The paper's test accuracy (Table 1, best epoch / last epoch): sym20 77.3 / 76.9, sym50 75.4 /
74.2, sym80 60.2 / 59.6, sym90 31.5 / 31.0. At 90% noise the GMM sees each
image's loss averaged over the last 5 epochs, as the code.
Offline without a prepared copy in data_dir the run stops before writing anything, naming
`tfds build` and --config.data.data_dir.
"""

from kerasssl import recipe_defaults, recipe_presets
from kerasssl.experiments import divide_mix_config

DEFAULT = "paper_sym50"
PRESETS = {
    **divide_mix_config.paper_presets("cifar100"),
    "smoke": f"{recipe_defaults.SMOKE_DESCRIPTION}, on the `{DEFAULT}` labels",
}


def get_config(arg=None):
    preset = recipe_presets.parse_preset(arg, PRESETS) or DEFAULT
    config = divide_mix_config.paper_config("cifar100", DEFAULT if preset == "smoke" else preset)
    if preset == "smoke":
        divide_mix_config.paper_smoke(config)
    return config
