import numpy as np
import pytest

pytest.importorskip("apache_beam")  # the `beam` extra

from kerasssl.pseudo_labels import (  # noqa: E402
    beam_selection,
    select_confident_balanced,
    select_top_k_per_class,
)


def _tied_probabilities(num_images=240, num_classes=5, seed=0):
    """Scores on a grid of quarters: ties in the argmax, in confidence and in the top-P."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 5, (num_images, num_classes)) / 4).astype(np.float32)


def _batches(probabilities, sizes):
    """Uneven batches, offered out of pool order (Beam gives no order either)."""
    starts = np.cumsum([0, *sizes])
    starts = starts[starts < len(probabilities)]
    bounds = list(zip(starts, [*starts[1:], len(probabilities)], strict=True))
    return [(np.arange(start, stop), probabilities[start:stop]) for start, stop in bounds[::-1]]


def _assert_same(beam_result, in_process):
    np.testing.assert_array_equal(beam_result.indices, in_process.indices)
    np.testing.assert_array_equal(beam_result.targets, in_process.targets)
    np.testing.assert_array_equal(beam_result.confidences, in_process.confidences)
    assert beam_result.targets.dtype == in_process.targets.dtype


@pytest.mark.parametrize(
    "threshold, images_per_class",
    [(0.5, 30), (0.75, 200), (0.0, 0), (0.5, 1)],
    ids=["truncate-and-cycle", "cycle", "unbalanced", "one-per-class"],
)
def test_confident_balanced_equals_the_in_process_selection(tmp_path, threshold, images_per_class):
    probabilities = _tied_probabilities()
    transform = beam_selection.SelectConfidentBalanced(threshold, images_per_class)
    beam_selection.run_selection(_batches(probabilities, [37, 64, 1, 90]), transform, tmp_path)
    for soft in (False, True):
        expected = select_confident_balanced(probabilities, threshold, images_per_class, soft)
        probabilities_of = (lambda ids: probabilities[ids]) if soft else None
        _assert_same(beam_selection.read_selection(tmp_path, 5, probabilities_of), expected)


@pytest.mark.parametrize("k, p", [(7, 2), (1, 1), (40, 5), (3, 9)])
def test_top_k_per_class_equals_the_in_process_selection(tmp_path, k, p):
    probabilities = _tied_probabilities(seed=1)
    transform = beam_selection.SelectTopKPerClass(k, p, num_classes=5)
    beam_selection.run_selection(_batches(probabilities, [50, 3, 100]), transform, tmp_path)
    expected = select_top_k_per_class(
        [(start, probabilities[start : start + 16]) for start in range(0, 240, 16)], k, p
    )
    _assert_same(beam_selection.read_selection(tmp_path, 5), expected)


def test_the_combiner_merges_in_any_order_to_the_same_top_k():
    rng = np.random.default_rng(2)
    scores = (rng.integers(0, 6, 300) / 5).astype(np.float32)
    ids = rng.permutation(300).astype(np.int64)
    combine = beam_selection.TopScoresCombineFn(k=9)
    accumulators = []
    for part in np.array_split(np.arange(300), 7):
        accumulator = combine.create_accumulator()
        for chunk in np.array_split(part, 3):
            accumulator = combine.add_input(accumulator, (scores[chunk], ids[chunk]))
        accumulators.append(accumulator)
    forward = combine.extract_output(combine.merge_accumulators(accumulators))
    backward = combine.extract_output(combine.merge_accumulators(accumulators[::-1]))
    order = np.lexsort((ids, -scores))[:9]  # best score first, ties to the lower id
    for result in (forward, backward):
        np.testing.assert_array_equal(result[1], ids[order])
        np.testing.assert_array_equal(result[0], scores[order])


def test_bad_input_names_the_field(tmp_path):
    with pytest.raises(ValueError, match="config.billion_scale.p"):
        beam_selection.SelectTopKPerClass(k=3, p=0, num_classes=5)
    with pytest.raises(ValueError, match="config.billion_scale.k"):
        beam_selection.SelectTopKPerClass(k=0, p=1, num_classes=5)
    with pytest.raises(ValueError, match="config.noisy_student.confidence_threshold"):
        beam_selection.SelectConfidentBalanced(1.0)
    with pytest.raises(ValueError, match="config.noisy_student.images_per_class"):
        beam_selection.SelectConfidentBalanced(0.3, images_per_class=-1)
    probabilities = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.6, 0.4, 0.0]], np.float32)
    batches = [(np.arange(3), probabilities)]
    # A pool smaller than K, and a class (2) no image has among its top P.
    beam_selection.run_selection(batches, beam_selection.SelectTopKPerClass(5, 2, 3), tmp_path)
    with pytest.warns(UserWarning, match=r"fewer than k=5 \(config.billion_scale.k\)"):
        with pytest.warns(UserWarning, match=r"classes \[2\].*config.billion_scale.p"):
            beam_selection.read_selection(tmp_path, 3)
    with pytest.warns(UserWarning, match=r"fewer than k=5"):  # the in-process selection alike
        with pytest.warns(UserWarning, match=r"classes \[2\].*config.billion_scale.p"):
            select_top_k_per_class([probabilities], 5, 2)
    beam_selection.run_selection(batches, beam_selection.SelectConfidentBalanced(0.7, 2), tmp_path)
    with pytest.warns(UserWarning, match=r"classes \[1, 2\] receive no pseudo-label"):
        assert len(beam_selection.read_selection(tmp_path, 3)) == 2
    beam_selection.run_selection(batches, beam_selection.SelectConfidentBalanced(0.95), tmp_path)
    with pytest.raises(ValueError, match="highest confidence 0.900.*lower the threshold"):
        beam_selection.read_selection(tmp_path, 3)
