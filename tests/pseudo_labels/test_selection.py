import numpy as np
import pytest

from kerasssl.pseudo_labels import TopKPerClass, select_confident_balanced, select_top_k_per_class

PROBABILITIES = np.array(
    [
        [0.70, 0.20, 0.10],  # 0
        [0.10, 0.80, 0.10],  # 1
        [0.60, 0.30, 0.10],  # 2
        [0.30, 0.25, 0.45],  # 3
        [0.50, 0.45, 0.05],  # 4
        [0.20, 0.10, 0.70],  # 5
    ],
    np.float32,
)


def test_top_k_per_class_by_hand():
    # K=2, P=2: class 0 candidates 0,2,3,4 -> 0 (.7), 2 (.6); class 1 candidates 0,1,2,4 ->
    # 1 (.8), 4 (.45); class 2 candidates 3,5 (image 3's top-2 are 2 and 0) -> 5, 3.
    selection = select_top_k_per_class([PROBABILITIES[:3], PROBABILITIES[3:]], k=2, p=2)
    np.testing.assert_array_equal(selection.indices, [0, 2, 1, 4, 5, 3])
    np.testing.assert_array_equal(selection.targets, [0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(selection.confidences, [0.7, 0.6, 0.8, 0.45, 0.7, 0.45])
    # P=1: an image only enters its argmax class; image 4 (.45 for class 1) drops out.
    selection = select_top_k_per_class([PROBABILITIES], k=2, p=1)
    np.testing.assert_array_equal(selection.indices, [0, 2, 1, 5, 3])


def test_streaming_matches_one_pass_and_memory_is_k_per_class():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(5), size=3000).astype(np.float32)
    top_k = TopKPerClass(k=7, p=2, num_classes=5)
    for start in range(0, 3000, 64):
        top_k.update(probabilities[start : start + 64], start)
        assert all(len(heap) <= 7 for heap in top_k.heaps)
    streamed = top_k.result()
    one_pass = select_top_k_per_class([probabilities], k=7, p=2)
    np.testing.assert_array_equal(streamed.indices, one_pass.indices)
    # Brute force: per class, the 7 best images among those whose top-2 include the class.
    top_two = np.argsort(-probabilities, axis=1, kind="stable")[:, :2]
    for class_id in range(5):
        candidates = np.flatnonzero((top_two == class_id).any(axis=1))
        best = candidates[np.argsort(-probabilities[candidates, class_id], kind="stable")[:7]]
        np.testing.assert_array_equal(streamed.indices[streamed.targets == class_id], best)


def test_k_or_p_below_one_name_the_fix():
    for k, p in ((0, 1), (1, 0)):
        with pytest.raises(ValueError, match="config.billion_scale"):
            TopKPerClass(k, p, 3)
    with pytest.raises(ValueError, match="empty"):
        select_top_k_per_class([], k=1, p=1)


def test_balancing_truncates_large_classes_and_duplicates_small_ones():
    selection = select_confident_balanced(PROBABILITIES, 0.0, images_per_class=2, soft=False)
    # class 0 has 0,2,4 -> keeps the two most confident; class 1 has only 1 -> duplicated.
    np.testing.assert_array_equal(selection.indices, [0, 2, 1, 1, 5, 3])
    np.testing.assert_array_equal(selection.targets, [0, 0, 1, 1, 2, 2])
    soft = select_confident_balanced(PROBABILITIES, 0.0, images_per_class=3, soft=True)
    assert np.bincount(soft.hard_labels).tolist() == [3, 3, 3]
    np.testing.assert_allclose(soft.targets, PROBABILITIES[soft.indices])


def test_threshold_drops_unconfident_and_warns_for_empty_classes():
    with pytest.warns(UserWarning, match=r"classes \[0, 2\].*continues"):
        selection = select_confident_balanced(PROBABILITIES, 0.75, images_per_class=2)
    np.testing.assert_array_equal(selection.indices, [1, 1])
    unbalanced = select_confident_balanced(PROBABILITIES, 0.6)
    np.testing.assert_array_equal(unbalanced.indices, [0, 2, 1, 5])


def test_threshold_filtering_everything_names_the_fix():
    with pytest.raises(ValueError, match="lower the threshold"):
        select_confident_balanced(PROBABILITIES, 0.9)
    with pytest.raises(ValueError, match="non-empty"):
        select_confident_balanced(np.zeros((0, 3)), 0.1)
