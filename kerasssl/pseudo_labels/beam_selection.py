"""Noisy Student's and billion-scale's selections as Apache Beam transforms.

Both read a PCollection of probability batches `(ids int64 [n], probabilities float32 [n, C])`
(batches rather than single images: the numpy work per batch is the same as the in-process
selection's, so the float32 comparisons and the tie-breaking are the same too) and write one
`selection.npy` beside a `selection.json`. `read_selection` turns them into the `Selection` that
`select_confident_balanced` / `select_top_k_per_class` return on the same probabilities, row for
row, ties included (tests/pseudo_labels/test_beam_selection.py).

Both are a per-class top-K: `TopScoresPerKey` keeps, per class, the K (score, id) pairs of highest
score, ties to the lower id, in O(K) memory per class and worker (Beam lifts the combiner, so each
worker pre-combines its own batches before the shuffle). Noisy Student's balancing needs only a
class's `images_per_class` most confident images: fewer are cycled, more are truncated.

Needs `pip install 'kerasssl[beam]'`.
"""

import io
import json
import pathlib

import apache_beam as beam
import numpy as np

from kerasssl import files
from kerasssl.pseudo_labels import noisy_student_selection, top_k_per_class
from kerasssl.pseudo_labels.selection import Selection

SELECTION_ARRAY = "selection.npy"
SELECTION_SUMMARY = "selection.json"
# One row of selection.npy: the pool image, the class it was selected for, its score.
SELECTION_DTYPE = np.dtype([("id", "<i8"), ("class", "<i8"), ("confidence", "<f4")])


def _top_rows(scores, ids, k):
    """Positions of the k highest scores, best first, ties to the lower id; k None: all."""
    order = np.lexsort((ids, -scores))
    return order if k is None else order[:k]


class TopScoresCombineFn(beam.CombineFn):
    """Per key: the `k` (score, id) pairs of highest score, ties to the lower id.

    Inputs and output are `(scores float32 [m], ids int64 [m])`; the output is sorted best
    first. The accumulator holds at most 2K pairs (pending inputs are merged beyond that).

    Args:
        k: pairs kept, >= 1; None keeps every pair (the unbalanced Noisy Student selection).
    """

    def __init__(self, k):
        self.k = k

    def create_accumulator(self):
        return [], 0

    def add_input(self, accumulator, element):
        parts, size = accumulator
        parts.append(element)
        size += len(element[0])
        if self.k is not None and size > 2 * self.k:
            return self.compact((parts, size))
        return parts, size

    def merge_accumulators(self, accumulators):
        parts = [part for accumulator_parts, _ in accumulators for part in accumulator_parts]
        return self.compact((parts, sum(len(part[0]) for part in parts)))

    def compact(self, accumulator):
        merged = self.extract_output(accumulator)
        return [merged], len(merged[0])

    def extract_output(self, accumulator):
        parts, _ = accumulator
        scores = np.concatenate([np.zeros(0, np.float32), *(part[0] for part in parts)])
        ids = np.concatenate([np.zeros(0, np.int64), *(part[1] for part in parts)])
        order = _top_rows(scores, ids, self.k)
        return scores[order], ids[order]


def _as_batch(element):
    ids, probabilities = element
    return np.asarray(ids, np.int64), np.asarray(probabilities, np.float32)


def _top_k_candidates(element, k, p, num_classes):
    """(class, (scores, ids)) for each class: the batch's own top K among its candidates."""
    ids, probabilities = _as_batch(element)
    if probabilities.ndim != 2 or probabilities.shape[1] != num_classes:
        raise ValueError(f"probabilities must be [n, {num_classes}], got {probabilities.shape}.")
    top_classes = top_k_per_class.candidate_classes(probabilities, p)
    for class_id in range(num_classes):
        rows = np.flatnonzero(np.any(top_classes == class_id, axis=1))
        if len(rows):
            scores = probabilities[rows, class_id]
            order = _top_rows(scores, ids[rows], k)
            yield class_id, (scores[order], ids[rows][order])


def _confident_candidates(element, confidence_threshold, images_per_class):
    """(class, (confidences, ids)) of the batch's images at or above the threshold."""
    ids, probabilities = _as_batch(element)
    classes, confidences = noisy_student_selection.argmax_confidences(probabilities)
    kept = np.flatnonzero(confidences >= confidence_threshold)
    for class_id in np.unique(classes[kept]).tolist():
        rows = kept[classes[kept] == class_id]
        order = _top_rows(confidences[rows], ids[rows], images_per_class or None)
        yield class_id, (confidences[rows][order], ids[rows][order])


def _pool_statistics(element):
    """(images, highest confidence) of one batch."""
    _, probabilities = _as_batch(element)
    return len(probabilities), float(probabilities.max(initial=-np.inf))


def _add_statistics(statistics):
    statistics = list(statistics)
    return (
        sum(count for count, _ in statistics),
        max((highest for _, highest in statistics), default=-np.inf),
    )


class SelectConfidentBalanced(beam.PTransform):
    """Noisy Student's selection (`select_confident_balanced`) over probability batches.

    Args:
        confidence_threshold: in [0, 1); images whose argmax probability is below are dropped.
        images_per_class: every class brought to this count (its most confident images,
            cycled when it has fewer); 0 keeps every confident image.

    Output: one `(class, (confidences, ids))` per class that has an image, sorted best first
    (ties: the lower id) and balanced; `WriteSelection` writes them. Memory per class and worker:
    O(images_per_class), or the class's confident images when 0 (no balancing).

    Example:
        >>> per_class = batches | SelectConfidentBalanced(0.3, images_per_class=500)
    """

    kind = "confident_balanced"

    def __init__(self, confidence_threshold, images_per_class=0):
        super().__init__()
        noisy_student_selection.check_settings(confidence_threshold, images_per_class)
        self.confidence_threshold = float(confidence_threshold)
        self.images_per_class = int(images_per_class)

    def settings(self):
        return {
            "kind": self.kind,
            "confidence_threshold": self.confidence_threshold,
            "images_per_class": self.images_per_class,
        }

    def expand(self, batches):
        per_class = (
            batches
            | "Confident"
            >> beam.FlatMap(_confident_candidates, self.confidence_threshold, self.images_per_class)
            | "MostConfident"
            >> beam.CombinePerKey(TopScoresCombineFn(self.images_per_class or None))
        )
        if self.images_per_class:
            per_class = per_class | "Balance" >> beam.Map(_balance, self.images_per_class)
        return per_class


def _balance(element, images_per_class):
    class_id, (scores, ids) = element
    rows = np.resize(np.arange(len(ids)), images_per_class)  # truncates or cycles copies
    return class_id, (scores[rows], ids[rows])


class SelectTopKPerClass(beam.PTransform):
    """Billion-scale's selection (`select_top_k_per_class`) over probability batches.

    Args:
        k: images kept per class, >= 1.
        p: classes an image may enter (its P most probable), >= 1.
        num_classes: classes of the probabilities.

    Output: one `(class, (scores, ids))` per class that has a candidate, best first (ties: the
    lower id); memory O(K) per class and worker.

    Example:
        >>> per_class = batches | SelectTopKPerClass(k=16000, p=10, num_classes=1000)
    """

    kind = "top_k_per_class"

    def __init__(self, k, p, num_classes):
        super().__init__()
        top_k_per_class.check_settings(k, p, num_classes)
        self.k, self.p, self.num_classes = int(k), int(p), int(num_classes)

    def settings(self):
        return {"kind": self.kind, "k": self.k, "p": self.p}

    def expand(self, batches):
        return (
            batches
            | "Candidates" >> beam.FlatMap(_top_k_candidates, self.k, self.p, self.num_classes)
            | "TopK" >> beam.CombinePerKey(TopScoresCombineFn(self.k))
        )


class WriteSelection(beam.PTransform):
    """Writes a selection's per-class output to `folder/selection.npy` and `selection.json`.

    Both are written through a temporary file and renamed, from one worker (the selection is
    O(K x classes) rows). `selection.json` records the settings, the pool's image count, its
    highest probability and each class's row count, which `read_selection` checks.
    """

    def __init__(self, selection, folder):
        super().__init__()
        self.settings = selection.settings()
        self.folder = str(folder)

    def expand(self, inputs):
        per_class, batches = inputs
        statistics = (
            batches
            | "Statistics" >> beam.Map(_pool_statistics)
            | "AddStatistics" >> beam.CombineGlobally(_add_statistics)
        )
        return (
            per_class
            | "Gather" >> beam.combiners.ToList()
            | "Write"
            >> beam.Map(
                _write_selection,
                beam.pvalue.AsSingleton(statistics),
                self.settings,
                self.folder,
            )
        )


def _write_selection(per_class, statistics, settings, folder):
    folder = pathlib.Path(folder)
    num_images, highest = statistics
    per_class = dict(per_class)
    rows = []
    for class_id in sorted(per_class):
        scores, ids = per_class[class_id]
        block = np.zeros(len(ids), SELECTION_DTYPE)
        block["id"], block["class"], block["confidence"] = ids, class_id, scores
        rows.append(block)
    array = np.concatenate([np.zeros(0, SELECTION_DTYPE), *rows])
    summary = {
        **settings,
        "num_images": int(num_images),
        "highest_probability": float(highest) if num_images else None,
        "rows_per_class": {str(class_id): len(per_class[class_id][1]) for class_id in per_class},
        "num_rows": len(array),
    }
    files.atomic_write_bytes(folder / SELECTION_ARRAY, _npy_bytes(array))
    files.atomic_write_json(folder / SELECTION_SUMMARY, summary)
    return summary


def _npy_bytes(array):
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=False)
    return stream.getvalue()


def read_selection(folder, num_classes, probabilities_of=None, stacklevel=1):
    """The `Selection` written by `WriteSelection` into `folder`, with the in-process checks.

    Args:
        folder: where `selection.npy` and `selection.json` are.
        num_classes: classes of the teacher (a class without rows is reported by index).
        probabilities_of: for soft targets, a function of ids int64 [m] returning their
            probability rows float32 [m, C]; None gives hard targets (class ids).

    Raises the errors and warns the warnings `select_confident_balanced` and
    `select_top_k_per_class` would on the same probabilities.
    """
    folder = pathlib.Path(folder)
    summary = json.loads((folder / SELECTION_SUMMARY).read_text())
    array = np.load(folder / SELECTION_ARRAY, allow_pickle=False)
    counts = [summary["rows_per_class"].get(str(class_id), 0) for class_id in range(num_classes)]
    if summary["num_images"] == 0:
        raise ValueError("the pool is empty: label a non-empty unlabeled set first.")
    if summary["kind"] == SelectConfidentBalanced.kind:
        threshold = summary["confidence_threshold"]
        if len(array) == 0:
            raise noisy_student_selection.everything_filtered_error(
                threshold, summary["num_images"], summary["highest_probability"]
            )
        empty = [class_id for class_id, count in enumerate(counts) if count == 0]
        if empty:
            noisy_student_selection.warn_empty_classes(empty, threshold, stacklevel + 1)
    else:
        top_k_per_class.warn_about_result(
            summary["num_images"], summary["k"], counts, summary["p"], stacklevel + 1
        )
    indices = array["id"].astype(np.int64)
    if probabilities_of is None:
        targets = array["class"].astype(np.int64)
    else:
        targets = probabilities_of(indices)
        if not hasattr(targets, "gather"):  # by reference (`SoftLabelRows`): kept unread
            targets = np.asarray(targets, np.float32)
    return Selection(indices, targets, array["confidence"].astype(np.float32))


def run_selection(batches, selection, folder, options=None):
    """Runs `selection` over in-memory batches [(ids, probabilities), ...] into `folder`.

    The selection step of the Beam labeler on its own (the labeler feeds it the teacher's
    batches); `read_selection(folder, ...)` reads the result.
    """
    if options is None:
        from apache_beam.options.pipeline_options import PipelineOptions

        options = PipelineOptions(["--runner=FnApiRunner"])  # in-process, as "direct"
    with beam.Pipeline(options=options) as pipeline:
        batches = pipeline | "Batches" >> beam.Create(
            [_as_batch(batch) for batch in batches], reshuffle=True
        )
        per_class = batches | "Select" >> selection
        _ = (per_class, batches) | "WriteSelection" >> WriteSelection(selection, folder)
