"""What `kerasssl label` runs: a saved teacher over a recipe's unlabeled pool (or pool shards),
in-process or, with a runner, as an Apache Beam pipeline."""

import json
import pathlib
import shlex

from kerasssl import files
from kerasssl.data.prepare import prepare_data
from kerasssl.pseudo_labels.labeling_job import label_images


def label_split(config, workdir, teacher_path=None, shard_size=4096, runner=None, pool=None):
    """Labels the unlabeled pool of recipe `config` with a `.keras` teacher; resumable.

    Args:
        config: a recipe ConfigDict (its `data` section and `seed` define the pool; its
            `pseudo_labels` section the runner; a noisy_student or billion_scale recipe's
            section the selection the Beam labeler makes).
        workdir: output folder; probabilities go to `workdir/pseudo_labels`.
        teacher_path: a `.keras` file; default `workdir/model.keras` (a finished
            `kerasssl train` run).
        shard_size: images per shard.
        runner: None or "": `config.pseudo_labels.runner` (empty there too: the in-process
            job); "direct" | "dataflow" | "flink" | "spark": the Beam labeler.
        pool: a folder of image shards (`kerasssl.data.shards`) to label instead of the
            recipe's pool; Beam only.

    Returns:
        A summary of the job's manifest, plus the output folder.
    """
    workdir = pathlib.Path(workdir)
    teacher_path = pathlib.Path(teacher_path) if teacher_path else workdir / "model.keras"
    if not teacher_path.is_file():
        raise FileNotFoundError(
            f"no teacher at {teacher_path}: pass --teacher=<model.keras> or train into --workdir "
            "first with `kerasssl train`."
        )
    runner = runner or config.get("pseudo_labels", {}).get("runner", "")
    output_dir = workdir / "pseudo_labels"
    if runner:
        return _label_on_beam(config, workdir, teacher_path, shard_size, runner, pool)
    if pool:
        raise ValueError(
            "--pool labels image shards, which the Beam labeler reads: pass --runner=direct "
            "(or another runner), or leave --pool out to label the recipe's pool in-process."
        )
    data = _unlabeled_data(config)
    teacher = files.load_model(teacher_path, compile=False)
    manifest = label_images(
        teacher,
        data.unlabeled.images,
        output_dir,
        shard_size=shard_size,
        batch_size=config.train.eval_batch_size,
    )
    return {**manifest, "output_dir": str(output_dir.resolve())}


def _unlabeled_data(config):
    data = prepare_data(config.data, seed=config.seed)
    if len(data.unlabeled) == 0:
        raise ValueError(
            "the recipe's unlabeled pool is empty: set --config.data.labels_per_class=<n> so "
            "that the rest of the training split is unlabeled."
        )
    return data


def _selection(config, num_classes):
    """The Beam selection of the recipe's algorithm, or None (soft labels only)."""
    from kerasssl.pseudo_labels import beam_selection

    if config.algorithm == "noisy_student" and "noisy_student" in config:
        section = config.noisy_student
        return beam_selection.SelectConfidentBalanced(
            section.confidence_threshold, section.images_per_class
        )
    if config.algorithm == "billion_scale" and "billion_scale" in config:
        section = config.billion_scale
        return beam_selection.SelectTopKPerClass(section.k, section.p, num_classes)
    return None


def _label_on_beam(config, workdir, teacher_path, shard_size, runner, pool):
    from kerasssl.experiments.pool_labeling import POOL_FOLDER, beam_modules

    beam_labeling, _ = beam_modules(runner)
    beam_labeling.check_runner(runner)
    if pool:
        pool_dir = pathlib.Path(pool)
        manifest_path = pool_dir / "manifest.json"
        if not manifest_path.is_file():
            raise ValueError(
                f"--pool={pool}: {manifest_path} does not exist; pass a folder of image shards "
                "(`kerasssl prepare` writes <out>/<split>/)."
            )
        split = json.loads(manifest_path.read_text()).get("split", "")
    else:
        data = _unlabeled_data(config)
        pool_dir, split = workdir / POOL_FOLDER, "unlabeled"
        beam_labeling.write_pool(data.unlabeled.images, pool_dir, shard_size, split)
    teacher = files.load_model(teacher_path, compile=False)
    selection = _selection(config, int(teacher.outputs[0].shape[-1]))
    del teacher
    section = config.get("pseudo_labels") or {}
    output_dir = workdir / "pseudo_labels"
    manifest = beam_labeling.label_shards(
        teacher_path,
        pool_dir,
        output_dir,
        split=split,
        selection=selection,
        runner=runner,
        num_workers=section.get("num_workers", 2),
        batch_size=config.train.eval_batch_size,
        pipeline_arguments=shlex.split(section.get("pipeline_arguments", "")),
    )
    summary = {
        key: manifest[key]
        for key in ("num_images", "num_classes", "num_shards", "teacher_weights_sha256")
    }
    summary["pool_sha256"] = manifest["pool_sha256"]
    summary["runner"] = runner
    if manifest["selection"]:
        summary["selection"] = manifest["selection"]["kind"]
        summary["num_selected"] = manifest["selection"]["num_rows"]
    return {**summary, "output_dir": str(output_dir.resolve())}
