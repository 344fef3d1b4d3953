"""The fields every recipe has, with their defaults; recipes start from `base_config()`.

Keeping one list of fields makes `--config.<field>=...` overrides uniform across recipes and lets
the CLI reject a misspelt field instead of silently ignoring it. Unset strings are "" and unset
counts are 0 (ml_collections cannot override a field whose default is None from the CLI).
"""

import ml_collections

# The `:smoke` entry of every recipe's PRESETS (see kerasssl.recipe_presets).
SMOKE_DESCRIPTION = "a seconds-long run with a tiny model: checks that the recipe runs"


def base_config():
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.algorithm = "supervised"

    config.data = ml_collections.ConfigDict()
    config.data.source = "digits"  # digits | image_folder | tfds | npz | shards
    # image_folder: <root>/<split>/<class>/*.jpg; shards: `kerasssl prepare`'s --output folder.
    config.data.root = ""
    # shards: check every shard's SHA-256 before training (reads them once; cannot change a
    # result: a mismatch is an error, never a different run).
    config.data.verify_checksums = False
    config.data.name = ""  # tfds: data set name
    config.data.data_dir = ""  # tfds: local data_dir ("" = ~/tensorflow_datasets)
    # tfds: download and prepare a data set data_dir lacks (needs internet; false = offline).
    config.data.download = True
    # tfds: stream batches from a data set built with --file_format=array_record instead of
    # loading the split into memory (the same batches; only the labels are loaded).
    config.data.streaming = False
    config.data.path = ""  # npz file
    config.data.image_size = 0  # 0 keeps the source's size
    config.data.train_split = "train"
    config.data.test_split = "test"
    # Carved from train, stratified; tune on it, never on test. Float = fraction, int = count.
    config.data.validation_size = 0.1
    config.data.labels_per_class = 0  # 0: every train image keeps its label
    config.data.augment = "weak"  # a view name: weak | weak_no_flip | identity | strong ...
    config.data.noise = ml_collections.ConfigDict()
    config.data.noise.rate = 0.0
    config.data.noise.type = "symmetric"  # symmetric | asymmetric | pair_flip | instance
    config.data.noise.rate_convention = "flip"  # flip | resample (DivideMix's convention)
    # Asymmetric noise only: "source:target,..." by class name or id ("" = CIFAR-10's map).
    config.data.noise.mapping = ""

    config.model = ml_collections.ConfigDict()
    config.model.name = "resnet_tiny"
    config.model.kwargs = ml_collections.ConfigDict()
    # BatchNormalization(synchronized=True): batch statistics over all replicas, for the small
    # per-replica batches of SSL on many devices. No effect on one device.
    config.model.sync_batch_norm = False

    config.train = ml_collections.ConfigDict()
    config.train.batch_size = 128
    config.train.eval_batch_size = 256
    config.train.epochs = 10
    config.train.steps_per_epoch = 0  # 0: one pass over the labeled training images
    config.train.optimizer = "sgd"  # sgd | adam | adamw | adabound | amsbound
    # AdaBound/AMSBound: the SGD rate its bounds converge to (at the schedule's peak; not
    # linearly scaled) and how fast they converge (Luo et al.'s 0.1 and 1e-3).
    config.train.adabound_final_learning_rate = 0.1
    config.train.adabound_gamma = 1e-3
    config.train.base_learning_rate = 0.1
    config.train.linear_scaling = True  # lr = base_learning_rate * batch_size / 256
    config.train.warmup_epochs = 1
    config.train.final_learning_rate_fraction = 0.0
    # warmup_cosine: Bag of Tricks' linear warm-up then cosine to final_learning_rate_fraction;
    # fixmatch_cosine: FixMatch's lr * cos(7 pi k / (16 K)), no warm-up;
    # step: the rate times step_decay_factor at each epoch of step_decay_epochs (DivideMix's
    # 0.02 -> 0.002 at epoch 150), no warm-up.
    config.train.schedule = "warmup_cosine"
    config.train.step_decay_epochs = ()
    config.train.step_decay_factor = 0.1
    config.train.momentum = 0.9
    config.train.nesterov = True
    config.train.weight_decay = 5e-4
    config.train.weight_decay_mode = "coupled"  # coupled (paper L2) | decoupled (Keras)
    config.train.label_smoothing = 0.0
    # > 0: evaluate and save an exponential moving average of the weights (Keras' optimizer
    # use_ema + SwapEMAWeights), as FixMatch (0.999); supervised, fix_match and
    # meta_pseudo_labels support it (MPL: the student, whose validation during the MPL phase
    # still reads its raw weights). 0: no EMA.
    config.train.ema_momentum = 0.0
    # Bag-of-Tricks batch mixing: none | mixup | cutmix | ricap; alpha 0 keeps the op's default
    # (mixup 0.2, cutmix 1.0, RICAP beta 0.3).
    config.train.batch_mixing = "none"
    config.train.mixing_alpha = 0.0
    config.train.dtype_policy = "float32"  # float32 | mixed_bfloat16
    config.train.steps_per_execution = 1
    # XLA-compiled train/test steps (what TPUs need); off by default: slower on small CPU runs.
    config.train.jit_compile = False
    config.train.max_eval_examples = 0  # 0: evaluate on the whole validation and test sets
    config.train.verbose = "auto"  # Keras fit verbosity: auto | 0 | 1 | 2

    # How noisy_student and billion_scale (and `kerasssl label`) label the unlabeled pool.
    config.pseudo_labels = ml_collections.ConfigDict()
    # "": the in-process job (kerasssl.pseudo_labels.labeling_job); direct | dataflow | flink |
    # spark: an Apache Beam pipeline (kerasssl.pseudo_labels.beam_labeling, `pip install
    # 'kerasssl[beam]'`) over the pool written as shards; both select the same pseudo-labels.
    config.pseudo_labels.runner = ""
    config.pseudo_labels.num_workers = 2  # direct runner: worker threads, each a teacher copy
    # Extra Beam flags, space-separated: "--project=p --region=r --temp_location=gs://b/t".
    config.pseudo_labels.pipeline_arguments = ""

    # See kerasssl/distribute.py. train.batch_size is the global batch over all replicas.
    config.distribute = ml_collections.ConfigDict()
    config.distribute.strategy = "auto"  # auto | one_device | mirrored | multi_worker | tpu
    config.distribute.tpu = ""  # tpu: TPU name or grpc:// address ("" = the TPU VM's own)
    return config


def imagenet_data(data, image_size):
    """The ImageNet presets' data section: a prepared tfds imagenet2012, streamed.

    Read from a prepared copy: tfds cannot download ImageNet, and no host of a cluster should
    try mid-job. It does not fit in memory (193 GB decoded at 224 x 224): it streams a batch at
    a time, so build it with `tfds build imagenet2012 --file_format=array_record`. The papers
    report on ImageNet's 50,000 validation images and nothing is tuned on them here: no split
    is carved from train, and the "test" split is ImageNet's validation set.
    """
    data.source = "tfds"
    data.name = "imagenet2012"
    data.download = False
    data.streaming = True
    data.validation_size = 0
    data.test_split = "validation"
    data.image_size = image_size
    return data


def imagenet_smoke(config):
    """`smoke` for an ImageNet preset: 32 x 32 images of tfds' mock data, read in memory."""
    smoke(config)
    config.data.image_size = 32
    config.data.streaming = False  # tfds' mock data is not an ArrayRecord build
    return config


def smoke(config):
    """Shrinks any recipe to a seconds-long run: tiny model, few examples, 1-2 steps."""
    config.model.name = "resnet_tiny"
    config.model.kwargs = ml_collections.ConfigDict()
    config.train.epochs = 2
    config.train.steps_per_epoch = 1
    config.train.batch_size = 16
    config.train.eval_batch_size = 64
    config.train.warmup_epochs = 0
    config.train.max_eval_examples = 64
    return config
