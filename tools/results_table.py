"""The README's results table, from run folders: anyone can regenerate it from their own runs.

    .venv/bin/python tools/results_table.py runs/compare_cifar10 \
        --baseline=supervised --top=all_labels --chart=runs/compare_cifar10/results.png

Every folder under the given roots that holds a finished run (`config.json` and
`metrics.json`) is one run; folders inside a run (phases, rounds, backups) are not. Runs named
`.../<method>/seed_<s>` are the seeds of one row, `<method>`; any other run is a row of its own,
named by its path below the root. A row shows the mean test accuracy over its seeds (± half the
range), the mean validation accuracy, what the algorithm reports beside it (the teacher of
teacher-student methods, DivideMix's split AUC, the best and last validation epoch of a
single-phase run) and the wall-clock minutes a run cost (`wall_seconds`, summed over resumes),
with a line per machine those minutes were measured on (`wall_machines`).
With `--baseline` and `--top` (row names), "gap closed" is (row - baseline) / (top - baseline),
the fraction of the baseline -> top gap a row closes. `--chart` writes a bar chart (PNG) of the
test accuracies; it is not committed, the table is.
"""

import csv
import json
import math
import pathlib
import re
import statistics
import sys

from absl import app, flags

FLAGS = flags.FLAGS
SEED_FOLDER = re.compile(r"^seed_(\d+)$")
# What each algorithm reports beside test_accuracy, in the order shown.
EXTRA_METRICS = (
    ("teacher_test_accuracy", "teacher"),
    ("pretrain_test_accuracy", "pre-trained"),
    ("mpl_student_test_accuracy", "MPL student"),
    ("pseudo_label_accuracy", "pseudo-labels"),
    ("mask_rate", "mask rate"),
    ("final_mask_rate", "last-epoch mask rate"),  # FixMatch / FlexMatch
    ("final_pseudo_label_accuracy", "last-epoch pseudo-labels"),
)


def define_flags():
    flags.DEFINE_string("baseline", "", "Row of the lower end of the gap (e.g. supervised).")
    flags.DEFINE_string("top", "", "Row of the upper end of the gap (e.g. all_labels).")
    flags.DEFINE_string("chart", "", "Write a bar chart of test accuracy to this PNG path.")


def find_runs(root):
    """Finished run folders under `root` (the root itself included), outermost only."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder: give the folder that holds the run folders.")
    runs, pending = [], [root]
    while pending:
        folder = pending.pop()
        if (folder / "config.json").is_file():
            if (folder / "metrics.json").is_file():
                runs.append(folder)
            continue  # an unfinished run, or a finished one: nothing inside is a run of its own
        pending.extend(sorted(path for path in folder.iterdir() if path.is_dir()))
    return sorted(runs)


def row_name(root, folder):
    relative = folder.relative_to(root)
    if SEED_FOLDER.match(relative.name) and relative.parent != pathlib.Path("."):
        return str(relative.parent)
    return str(relative) if str(relative) != "." else folder.name


def validation_epochs(folder):
    """(best, last) validation accuracy over history.csv's epochs, or None without one."""
    path = folder / "history.csv"
    if not path.is_file():
        return None
    with path.open() as stream:
        values = [
            float(row["val_accuracy"])
            for row in csv.DictReader(stream)
            if row.get("val_accuracy") not in (None, "")
        ]
    return (max(values), values[-1]) if values else None


def wall_seconds(metrics, config):
    if "wall_seconds" in metrics:
        return float(metrics["wall_seconds"])
    # Runs from before `wall_seconds`: their fit time, when one call trained every epoch.
    epochs = config.get("train", {}).get("epochs")
    if "train_seconds_this_run" in metrics and metrics.get("epochs_run_this_time") == epochs:
        return float(metrics["train_seconds_this_run"])
    return math.nan


def read_run(folder):
    metrics = json.loads((folder / "metrics.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    per_epoch = metrics.get("per_epoch") or [{}]
    extras = {name: metrics[name] for name, _ in EXTRA_METRICS if name in metrics}
    aucs = [per_epoch[-1][key] for key in ("auc_1", "auc_2") if key in per_epoch[-1]]
    if aucs:  # DivideMix: the last co-divide of each network, averaged
        extras["split AUC"] = sum(aucs) / len(aucs)
    return {
        "algorithm": config.get("algorithm", "?"),
        "model": config.get("model", {}).get("name", "?"),
        "noise": _noise(config.get("data", {}).get("noise", {})),
        "seed": config.get("seed"),
        "num_labeled": metrics.get("num_labeled"),
        "test_accuracy": float(metrics["test_accuracy"]),
        "validation_accuracy": float(metrics.get("validation_accuracy", math.nan)),
        "validation_epochs": validation_epochs(folder),
        "extras": extras,
        "seconds": wall_seconds(metrics, config),
        "machines": metrics.get("wall_machines") or [],
    }


def _noise(noise):
    rate = noise.get("rate", 0.0) if isinstance(noise, dict) else 0.0
    return f"{noise.get('type', '?')} {rate:g}" if rate else "-"


def build_rows(roots):
    grouped = {}
    for root in roots:
        root = pathlib.Path(root)
        for folder in find_runs(root):
            grouped.setdefault(row_name(root, folder), []).append(read_run(folder))
    if not grouped:
        raise ValueError(f"no finished run (config.json + metrics.json) under {list(roots)}.")
    return [summarize(name, runs) for name, runs in grouped.items()]


def _mean(values):
    values = [value for value in values if not math.isnan(value)]
    return statistics.mean(values) if values else math.nan


def summarize(name, runs):
    tests = [run["test_accuracy"] for run in runs]
    extras = {}
    for key in {key for run in runs for key in run["extras"]}:
        extras[key] = _mean([float(run["extras"][key]) for run in runs if key in run["extras"]])
    epochs = [run["validation_epochs"] for run in runs if run["validation_epochs"]]
    return {
        "name": name,
        "algorithm": runs[0]["algorithm"],
        "model": runs[0]["model"],
        "noise": runs[0]["noise"],
        "labeled": runs[0]["num_labeled"],
        "seeds": sorted(run["seed"] for run in runs),
        "test_accuracy": statistics.mean(tests),
        "spread": (max(tests) - min(tests)) / 2,
        "validation_accuracy": _mean([run["validation_accuracy"] for run in runs]),
        "best_last": (
            (_mean([best for best, _ in epochs]), _mean([last for _, last in epochs]))
            if epochs
            else None
        ),
        "extras": extras,
        "minutes": _mean([run["seconds"] for run in runs]) / 60,
        "machines": sorted({name for run in runs for name in run["machines"]}),
    }


def add_gap_closed(rows, baseline, top):
    by_name = {row["name"]: row for row in rows}
    for wanted in (baseline, top):
        if wanted and wanted not in by_name:
            raise ValueError(f"no row named {wanted!r} (--baseline/--top); rows: {sorted(by_name)}")
    for row in rows:
        row["gap_closed"] = math.nan
    if baseline and top:
        gap = by_name[top]["test_accuracy"] - by_name[baseline]["test_accuracy"]
        if gap:
            for row in rows:
                row["gap_closed"] = (
                    row["test_accuracy"] - by_name[baseline]["test_accuracy"]
                ) / gap


def _format(value, digits=3):
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def format_table(rows):
    lines = [
        "| run | algorithm | model | labels | noise | seeds | test accuracy | validation | "
        "best / last val epoch | also | gap closed | minutes |",
        "|" + "---|" * 12,
    ]
    for row in rows:
        spread = f" ± {row['spread']:.3f}" if len(row["seeds"]) > 1 else ""
        best_last = (
            f"{row['best_last'][0]:.3f} / {row['best_last'][1]:.3f}" if row["best_last"] else ""
        )
        also = ", ".join(
            f"{label} {row['extras'][key]:.3f}"
            for key, label in (*EXTRA_METRICS, ("split AUC", "split AUC"))
            if key in row["extras"]
        )
        lines.append(
            f"| {row['name']} | {row['algorithm']} | {row['model']} | {row['labeled']} | "
            f"{row['noise']} | {','.join(map(str, row['seeds']))} | "
            f"{row['test_accuracy']:.3f}{spread} | {_format(row['validation_accuracy'])} | "
            f"{best_last} | {also} | {_format(row['gap_closed'], 2)} | "
            f"{_format(row['minutes'], 1)} |"
        )
    return "\n".join(lines)


def machines_note(rows):
    """Where the minutes were measured: a line per machine with its rows ("" if unknown).
    Minutes from different machines do not compare (sessions move between CPUs)."""
    rows_of = {}
    for row in rows:
        for name in row["machines"]:
            rows_of.setdefault(name, []).append(row["name"])
    lines = [f"minutes measured on {name}: {', '.join(names)}" for name, names in rows_of.items()]
    return "\n".join(lines)


def write_chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(max(4, 1.2 * len(rows)), 3.5))
    names = [row["name"] for row in rows]
    axes.bar(names, [row["test_accuracy"] for row in rows], yerr=[row["spread"] for row in rows])
    axes.set_ylabel("test accuracy")
    axes.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def main(argv):
    roots = argv[1:]
    if not roots:
        raise app.UsageError("give one or more folders of run folders: results_table.py RUNS")
    try:
        rows = build_rows(roots)
        add_gap_closed(rows, FLAGS.baseline, FLAGS.top)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    print(format_table(rows))
    if machines_note(rows):
        print("\n" + machines_note(rows))
    if FLAGS.chart:
        write_chart(rows, FLAGS.chart)
        print(f"chart: {FLAGS.chart}", file=sys.stderr)


if __name__ == "__main__":
    define_flags()
    app.run(main)
