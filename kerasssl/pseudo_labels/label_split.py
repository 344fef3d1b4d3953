"""What `kerasssl label` runs: a saved teacher over a recipe's unlabeled pool."""

import pathlib

from kerasssl import files
from kerasssl.data.prepare import prepare_data
from kerasssl.pseudo_labels.labeling_job import label_images


def label_split(config, workdir, teacher_path=None, shard_size=4096):
    """Labels the unlabeled pool of recipe `config` with a `.keras` teacher; resumable.

    Args:
        config: a recipe ConfigDict (its `data` section and `seed` define the pool).
        workdir: output folder; probabilities go to `workdir/pseudo_labels`.
        teacher_path: a `.keras` file; default `workdir/model.keras` (a finished
            `kerasssl train` run).
        shard_size: images per shard.

    Returns:
        The job's manifest dict, plus the output folder.
    """
    workdir = pathlib.Path(workdir)
    teacher_path = pathlib.Path(teacher_path) if teacher_path else workdir / "model.keras"
    if not teacher_path.is_file():
        raise FileNotFoundError(
            f"no teacher at {teacher_path}: pass --teacher=<model.keras> or train into --workdir "
            "first with `kerasssl train`."
        )
    data = prepare_data(config.data, seed=config.seed)
    if len(data.unlabeled) == 0:
        raise ValueError(
            "the recipe's unlabeled pool is empty: set --config.data.labels_per_class=<n> so "
            "that the rest of the training split is unlabeled."
        )
    teacher = files.load_model(teacher_path, compile=False)
    output_dir = workdir / "pseudo_labels"
    manifest = label_images(
        teacher,
        data.unlabeled.images,
        output_dir,
        shard_size=shard_size,
        batch_size=config.train.eval_batch_size,
    )
    return {**manifest, "output_dir": str(output_dir.resolve())}
