"""Equal compute: a baseline run given the wall clock that another method's run cost.

The comparison tools (`tools/compare_ssl.py`, `tools/compare_noisy_labels.py`) answer "at the
same compute, does the method beat plain training?". The baseline's length is chosen from two
timed runs on the same machine: the baseline at its recipe's length (its seconds per epoch,
start-up and evaluation included) and the method. Both figures are `metrics.json`'s
`wall_seconds`, which count every call of a run, killed ones too (`kerasssl.run_clock`), and
must come from one machine (`timed_seconds`).
"""

import json
import pathlib

from kerasssl import files


def recorded_seconds(metrics, name, seed):
    """The run's `wall_seconds`; a ValueError naming the run when it has none."""
    if "wall_seconds" not in metrics:
        # A run from before wall_seconds (kerasssl.run_clock writes none for it): its cost
        # is unknown, and the time of reading it would buy a baseline of one epoch.
        raise ValueError(
            f"--equal_time: the {name} run of seed {seed} has no wall_seconds in its "
            "metrics.json (it predates them): rerun it into a new --workdir."
        )
    return float(metrics["wall_seconds"])


def timed_seconds(runs, seed):
    """{name: wall_seconds} of `runs` ({name: metrics} of one seed), after checking that every
    figure was measured on one machine, the same for all: seconds of two speeds do not compare
    (metrics.json `wall_machines`; runs from before it are taken as they are)."""
    seconds = {name: recorded_seconds(metrics, name, seed) for name, metrics in runs.items()}
    machines = {name: metrics.get("wall_machines") or [] for name, metrics in runs.items()}
    for name, names in machines.items():
        if len(names) > 1:
            raise ValueError(
                f"--equal_time: the {name} run of seed {seed} was timed on {len(names)} "
                f"machines ({'; '.join(names)}): its seconds add figures of different speeds. "
                "Rerun it on one machine, into a new --workdir."
            )
    distinct = {names[0] for names in machines.values() if names}
    if len(distinct) > 1:
        listed = "; ".join(f"{name} on {names[0]}" for name, names in machines.items() if names)
        raise ValueError(
            f"--equal_time: the runs of seed {seed} were timed on different machines ({listed}). "
            "Run the method and its baseline on the same machine."
        )
    return seconds


def equal_time_epochs(method_seconds, baseline_seconds, baseline_epochs):
    """Whole epochs (at least one) of the baseline that take `method_seconds`, at the pace of a
    baseline run that took `baseline_seconds` for `baseline_epochs`."""
    if baseline_seconds <= 0 or baseline_epochs <= 0:
        raise ValueError(
            f"the baseline run took {baseline_seconds} s for {baseline_epochs} epochs: rerun "
            "it to time it (its metrics.json wall_seconds)."
        )
    return max(1, round(method_seconds * baseline_epochs / baseline_seconds))


def budget_path(folder):
    """Where the budget of the equal-time run in `folder` is kept: beside it, not inside (the
    run folder holds only what the run writes)."""
    folder = pathlib.Path(folder)
    return folder.parent / f"{folder.name}.budget.json"


def equal_time_config(baseline_config, baseline_seconds, method_seconds, folder):
    """`baseline_config` trained for the method's wall clock, in whole epochs of its own.

    The epochs are chosen the first time and kept in `budget_path(folder)`: a rerun resumes
    the same run, not one resized by what the method's run reports by then (a killed method
    run that was resumed has counted on).
    """
    path = budget_path(folder)
    per_epoch = baseline_config.train.steps_per_epoch
    if path.exists():
        epochs = json.loads(path.read_text())["epochs"]
    else:
        epochs = equal_time_epochs(method_seconds, baseline_seconds, baseline_config.train.epochs)
        budget = {
            "epochs": epochs,
            "steps": epochs * per_epoch if per_epoch else None,  # None: whole passes
            "method_wall_seconds": method_seconds,
            "baseline_wall_seconds": baseline_seconds,
            "baseline_epochs": baseline_config.train.epochs,
        }
        files.atomic_write_json(path, budget)  # a killed write leaves no half file
    config = baseline_config.copy_and_resolve_references()
    config.train.epochs = epochs
    return config
