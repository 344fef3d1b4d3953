"""Step time of every algorithm against its FLOP-unit bound, on one network and one batch.

    nice .venv/bin/python tools/bench_algorithms.py --model=wrn_28_2 --batch_size=32 \
        --unlabeled_ratio=3 --steps=4 --rounds=3

The bound of a step is the work its maths needs, counted in images through the network:
`forward_backward` images that need a gradient plus `forward` images that need only a
prediction, the latter at FORWARD_COST (1/3) of a forward + backward (the backward pass costs
about two forwards). One unit is the per-image forward + backward time of the network,
measured in the same run as the supervised step time divided by its batch size. The ratio
`measured step time / (units x per-image time)` is 1 for supervised training by definition;
above 1, the step does more than its maths needs (or runs it less efficiently); below 1, its
larger concatenated batches use the cores better than batch B does.

A second bound, "design", counts the passes the authors' codes make: where they put images
that need no gradient into the trained forward pass (Meta Pseudo Labels' teacher runs labeled,
weak and strong images as one batch, its student labeled and strong ones, so BatchNorm
normalises them together), the backward pass runs over those rows too. The `design ratio`
isolates this implementation's overhead; `ratio / design ratio` is the price of the codes'
shared BatchNorm statistics.

Every algorithm uses the same network (teacher, student and both DivideMix networks), batch B
and, where there is one, unlabeled ratio mu; inputs are fixed random tensors, so only the step
is timed, not the input pipeline. The machine may be shared: the algorithms are timed in
interleaved rounds (each round times every algorithm once) and the table reports medians, so a
burst of load from elsewhere hits all of them alike; `--clock=cpu` (the default) times the
process's CPU seconds rather than wall seconds, which other jobs on the cores disturb far less
(wall seconds are in the JSON too). The first call of each algorithm (graph tracing) is
excluded, as is its first step in every round.

Measured 2026-12-01, WRN-28-2, B 16, mu 3, 32x32, float32, `--steps=3 --rounds=3
--batch_scaling`, CPU seconds, on 2 cores shared with 6-7 other jobs (load 11-16; wall seconds
were useless there: supervised steps took 0.39-1.7 s):

| algorithm | s/step | ratio | design ratio |
|---|---|---|---|
| supervised (the unit, 18.0 ms per image) | 0.287 | 1.00 | 1.00 |
| distillation | 0.357 | 0.93 | 0.93 |
| noisy_student | 1.060 | 0.92 | 0.92 |
| mpl_first_order | 3.101 | 1.25 | 0.95 |
| mpl_exact | 4.578 | 1.04 | 0.87 |
| uda (MetaPseudoLabels, mpl_weight 0) | 2.907 | 1.21 | 0.92 |
| divide_mix | 3.049 | 0.88 | 0.88 |
| supervised at batch 64 / 112 | 1.062 / 1.827 | 0.92 / 0.91 | |

Every step is within 1.15 of the passes it makes (design ratio 0.87-0.95; a supervised step at
batch 64 or 112 costs 0.91-0.92 per image of one at batch 16, which is why ratios below 1
appear). Two are above 1.15 against the maths alone: Meta Pseudo Labels (1.25) and UDA
(1.21). Both run the teacher on labeled, weak and strong images as one batch and the student
on labeled and strong images as one batch, as both authors' codes do, so BatchNorm normalises
them together; the backward pass then runs over the weak rows (mu B) and the student's labeled
rows (B) that need no gradient: 2/3 (mu + 1) B extra units, 181 instead of 139 images here.
Splitting those rows into separate forward passes would change the BatchNorm statistics the
method is specified with, so the cost is kept; the design ratios show nothing else is lost.
"""

import dataclasses
import json
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags

from kerasssl import losses
from kerasssl.algorithms import Distiller, DivideMix, MetaPseudoLabels, NoisyStudent, Supervised
from kerasssl.models import get_model

FORWARD_COST = 1.0 / 3.0

_MODEL = flags.DEFINE_string("model", "wrn_28_2", "Model preset (kerasssl.models.list_models()).")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Labeled batch size B.")
_RATIO = flags.DEFINE_integer("unlabeled_ratio", 3, "Unlabeled images per labeled one (mu).")
_SIZE = flags.DEFINE_integer("image_size", 32, "Square input size.")
_CLASSES = flags.DEFINE_integer("num_classes", 10, "Number of classes.")
_STEPS = flags.DEFINE_integer("steps", 4, "Steps per timed call (the first is not timed).")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Interleaved rounds; the table gives medians.")
_ONLY = flags.DEFINE_list("only", [], "Algorithms to run (default: all).")
_JSON = flags.DEFINE_string("json", "", "Also write the table to this JSON file.")
_CLOCK = flags.DEFINE_enum(
    "clock", "cpu", ["cpu", "wall"], "Time the process's CPU seconds or wall seconds."
)
_SCALING = flags.DEFINE_bool(
    "batch_scaling",
    False,
    "Also time supervised steps at the larger batches the algorithms run, (1 + mu) B and "
    "(1 + 2 mu) B: their ratio is the per-image cost of a larger batch on this machine.",
)


@dataclasses.dataclass
class Case:
    """One algorithm: how to build it with its batch, and its bound in images."""

    name: str
    build: object  # () -> (compiled algorithm, (x, y) batch)
    forward_backward: float  # images that need a gradient, per step
    forward: float  # images that need only a forward pass, per step
    note: str = ""
    # The passes of the authors' design when it does more than the maths needs (else None).
    design: tuple | None = None

    @property
    def units(self):
        return self.forward_backward + FORWARD_COST * self.forward

    @property
    def design_units(self):
        if self.design is None:
            return self.units
        forward_backward, forward = self.design
        return forward_backward + FORWARD_COST * forward


def cases(model_name, batch_size, ratio, image_size=32, num_classes=10):
    """The benchmarked algorithms at one network, batch B and ratio mu, with their bounds."""
    shape = (image_size, image_size, 3)
    rng = np.random.default_rng(0)
    b, mu = batch_size, ratio

    def network(seed):
        keras.utils.set_random_seed(seed)
        return get_model(model_name, num_classes=num_classes, input_shape=shape)

    def images(count):
        return rng.uniform(0, 255, (count, *shape)).astype("float32")

    def labels(count):
        return rng.integers(0, num_classes, count)

    def sgd():
        return keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)

    def supervised(batch=b):
        def build():
            algorithm = Supervised(network(0), l2_weight_decay=5e-4)
            algorithm.compile(optimizer=sgd())
            return algorithm, (images(batch), labels(batch))

        return build

    def distillation():
        algorithm = Distiller(network(1), network(0), l2_weight_decay=5e-4)
        algorithm.compile(optimizer=sgd(), loss=losses.CrossEntropy())
        return algorithm, (images(b), labels(b))

    def noisy_student():
        algorithm = NoisyStudent(network(0), l2_weight_decay=5e-4)
        algorithm.compile(optimizer=sgd())
        targets = rng.dirichlet(np.ones(num_classes), b * mu).astype("float32")
        x = {"labeled": images(b), "pseudo_labeled": images(b * mu), "pseudo_targets": targets}
        return algorithm, (x, labels(b))

    def meta_pseudo_labels(**kwargs):
        def build():
            algorithm = MetaPseudoLabels(network(1), network(0), l2_weight_decay=5e-4, **kwargs)
            algorithm.compile(optimizer=sgd(), student_optimizer=sgd())
            x = {
                "labeled": images(b),
                "unlabeled_weak": images(b * mu),
                "unlabeled_strong": images(b * mu),
                "unlabeled_labels": labels(b * mu),
            }
            return algorithm, (x, labels(b))

        return build

    def divide_mix():
        algorithm = DivideMix(
            network(0), network(1), num_classes, warmup_epochs=0, l2_weight_decay=5e-4
        )
        algorithm.compile(optimizer=sgd())
        algorithm.start_epoch(1, 100)
        x = {}
        for k in (1, 2):
            for view in (1, 2):
                x[f"labeled_{k}_view_{view}"] = images(b)
                x[f"unlabeled_{k}_view_{view}"] = images(b)
            x[f"labels_{k}"] = labels(b)
            x[f"clean_probability_{k}"] = rng.uniform(0.5, 1.0, b).astype("float32")
        return algorithm, (x, labels(b))

    return [
        Case("supervised", supervised(), b, 0, "the unit: B forward + backward"),
        Case("distillation", distillation, b, b, "student B fwd+bwd, teacher B fwd"),
        Case(
            "noisy_student",
            noisy_student,
            b * (1 + mu),
            0,
            "student step: B labeled + mu B pseudo-labeled, one pass",
        ),
        Case(
            "mpl_first_order",
            meta_pseudo_labels(),
            # Teacher: labeled + strong need a gradient, weak is a target; student: strong.
            b * (1 + 2 * mu),
            # Teacher weak view; student labeled loss before and after its step.
            b * (mu + 2),
            "teacher (B + mu B) fwd+bwd + mu B fwd; student mu B fwd+bwd + 2 B fwd",
            # Both codes: teacher on one batch of all three, student on labeled + strong.
            design=(b * (1 + 2 * mu) + b * (1 + mu), b),
        ),
        Case(
            "mpl_exact",
            meta_pseudo_labels(exact=True),
            # Teacher: labeled + strong; the student's inner gradient on mu B and its
            # differentiation (counted as one more fwd+bwd of mu B), the stepped student on
            # B, the real student update on mu B.
            b * (1 + mu) + 3 * b * mu + b,
            # Teacher weak view; the student's labeled loss before the step.
            b * (mu + 1),
            "teacher (B + mu B) fwd+bwd + mu B fwd; student 3 mu B + B fwd+bwd, B fwd",
            design=(b * (1 + 2 * mu) + 2 * b * mu + b + b * (1 + mu), b),
        ),
        Case(
            "uda",
            meta_pseudo_labels(mpl_weight=0.0),
            # MetaPseudoLabels with mpl_weight 0: the UDA teacher and a student on its labels.
            b * (1 + 2 * mu),
            b * (mu + 1),
            "UDA teacher + its student (mpl_weight 0: no after-step feedback)",
            design=(b * (1 + 2 * mu) + b * (1 + mu), 0),
        ),
        Case(
            "divide_mix",
            divide_mix,
            # Per network: the mixed batch of 2 B labeled + 2 B unlabeled views needs a gradient.
            2 * 4 * b,
            # Per network: its own 2 labeled + 2 unlabeled views, the other's 2 unlabeled views.
            2 * 6 * b,
            "per network: 4 B fwd+bwd (mixed), 6 B fwd (co-refine, co-guess); x2 networks",
        ),
        *extra_cases(model_name, batch_size, ratio, shape, num_classes),
    ]


def batch_scaling_cases(model_name, batch_size, ratio, image_size=32, num_classes=10):
    """Supervised steps at (1 + mu) B and (1 + 2 mu) B, the batches of the one-pass steps."""
    result = []
    for multiple in (1 + ratio, 1 + 2 * ratio):
        batch = multiple * batch_size
        supervised = next(
            case
            for case in cases(model_name, batch, ratio, image_size, num_classes)
            if case.name == "supervised"
        )
        result.append(
            Case(
                f"supervised_batch_{batch}",
                supervised.build,
                batch,
                0,
                f"per-image cost at batch {batch} relative to batch {batch_size}",
            )
        )
    return result


def extra_cases(model_name, batch_size, ratio, shape, num_classes):
    """ENTRY POINT for algorithms not benchmarked yet: return more `Case`s here.

    FixMatch (being written by another change): add
    `Case("fixmatch", build, forward_backward=B * (1 + mu), forward=B * mu, note=...)`, where
    `build` returns the compiled algorithm and one `(x, y)` batch of its pipeline's keys
    (labeled B, weak and strong views of mu B unlabeled images). The weak view is a target
    (forward only); the authors' FixMatch code runs all three in one batch (shared BatchNorm
    statistics), so its design is `design=(B * (1 + 2 * mu), 0)`.
    Build its network(s) as `cases` does: `get_model(model_name, num_classes=num_classes,
    input_shape=shape)`, the same preset for every network.
    """
    del model_name, batch_size, ratio, shape, num_classes
    return []


class StepTimer(keras.callbacks.Callback):
    """Wall and CPU seconds from the end of the first step to the end of the last."""

    def on_train_batch_end(self, batch, logs=None):
        now = {"wall": time.perf_counter(), "cpu": time.process_time()}
        if batch == 0:
            self.start = now
        self.end, self.steps = now, batch


def time_step(algorithm, dataset, steps):
    """One measurement: {"wall", "cpu"} seconds per step over the last `steps - 1` steps."""
    timer = StepTimer()
    algorithm.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    return {clock: (timer.end[clock] - timer.start[clock]) / timer.steps for clock in timer.end}


def run(case_list, steps, rounds, clock="cpu"):
    """Builds every case, traces it, then times it in interleaved rounds; returns the table."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (the first step is not timed), got {steps}.")
    prepared = []
    for case in case_list:
        algorithm, batch = case.build()
        dataset = tf.data.Dataset.from_tensors(batch).repeat().prefetch(2)
        time_step(algorithm, dataset, 2)  # traces the train function
        prepared.append((case, algorithm, dataset))
        print(f"traced {case.name}", file=sys.stderr, flush=True)
    measured = {case.name: [] for case in case_list}
    for index in range(rounds):
        for case, algorithm, dataset in prepared:
            measured[case.name].append(time_step(algorithm, dataset, steps))
        print(f"round {index + 1} of {rounds} timed", file=sys.stderr, flush=True)
    seconds = {name: [m[clock] for m in values] for name, values in measured.items()}
    wall = {name: float(np.median([m["wall"] for m in runs])) for name, runs in measured.items()}
    medians = {name: float(np.median(values)) for name, values in seconds.items()}
    if "supervised" not in medians:
        raise ValueError("the table needs the supervised case: it defines the unit.")
    supervised = next(case for case in case_list if case.name == "supervised")
    per_image = medians["supervised"] / supervised.units
    rows = []
    for case in case_list:
        bound = case.units * per_image
        design_bound = case.design_units * per_image
        rows.append(
            {
                "algorithm": case.name,
                "seconds_per_step": round(medians[case.name], 4),
                "clock": clock,
                "wall_seconds_per_step": round(wall[case.name], 4),
                "spread": [round(min(seconds[case.name]), 4), round(max(seconds[case.name]), 4)],
                "forward_backward_images": case.forward_backward,
                "forward_images": case.forward,
                "bound_units": round(case.units, 2),
                "bound_seconds": round(bound, 4),
                "ratio": round(medians[case.name] / bound, 3),
                "design_units": round(case.design_units, 2),
                "design_ratio": round(medians[case.name] / design_bound, 3),
                "note": case.note,
            }
        )
    return rows, per_image


def format_table(rows, per_image):
    lines = [
        f"per-image forward+backward: {per_image * 1e3:.3f} ms (supervised step / B)",
        "| algorithm | s/step (min-max) | bound (images) | bound s | ratio | design (images) "
        "| design ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        low, high = row["spread"]
        lines.append(
            f"| {row['algorithm']} | {row['seconds_per_step']:.3f} ({low:.3f}-{high:.3f}) | "
            f"{row['bound_units']:g} | {row['bound_seconds']:.3f} | {row['ratio']:.2f} | "
            f"{row['design_units']:g} | {row['design_ratio']:.2f} |"
        )
    return "\n".join(lines)


def main(argv):
    del argv
    case_list = cases(_MODEL.value, _BATCH.value, _RATIO.value, _SIZE.value, _CLASSES.value)
    scaling = []
    if _SCALING.value:
        scaling = batch_scaling_cases(
            _MODEL.value, _BATCH.value, _RATIO.value, _SIZE.value, _CLASSES.value
        )
    if _ONLY.value:
        unknown = set(_ONLY.value) - {case.name for case in case_list}
        if unknown:
            raise ValueError(
                f"--only names unknown algorithms {sorted(unknown)}; known: "
                f"{[case.name for case in case_list]}."
            )
        keep = {"supervised", *_ONLY.value}
        case_list = [case for case in case_list if case.name in keep]
    case_list += scaling
    rows, per_image = run(case_list, _STEPS.value, _ROUNDS.value, _CLOCK.value)
    print(
        f"model {_MODEL.value}, B {_BATCH.value}, mu {_RATIO.value}, "
        f"{_SIZE.value}x{_SIZE.value}, forward = {FORWARD_COST:.2f} of forward+backward, "
        f"{_CLOCK.value} seconds"
    )
    print(format_table(rows, per_image))
    if _JSON.value:
        with open(_JSON.value, "w") as stream:
            json.dump({"per_image_seconds": per_image, "rows": rows}, stream, indent=1)


if __name__ == "__main__":
    app.run(main)
