"""kerasssl.algorithms.replicas over two logical CPUs: the merge-call path Mirrored takes on
CPUs, and the replica-context path of strategies that run without merge calls (XLA on GPUs)."""

from kerasssl.algorithms import replicas
from kerasssl.testing import run_on_two_cpus

SCRIPT = """
    import json
    import tensorflow as tf
    from kerasssl.algorithms import replicas

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def step():
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        rows = tf.cast(tf.stack([2 * replica, 2 * replica + 1]), "float32")
        scalar = tf.cast(replica, "float32") * 2.0 + 1.0  # 1 and 3
        (merged,) = replicas.gather_over_replicas(rows)
        (direct,) = replicas._gather(strategy, rows)  # what maybe_merge_call runs without merges
        return (merged, direct, replicas.mean_over_replicas(scalar),
                replicas._mean(strategy, scalar))

    results = tf.function(lambda: strategy.run(step))()
    print(json.dumps([[value.numpy().tolist() for value in strategy.experimental_local_results(
        result)] for result in results]))
    """


def test_both_paths_give_every_replica_the_global_values():
    # Each result as every replica holds it (a merge call may hand all of them one tensor).
    merged, direct, mean, direct_mean = run_on_two_cpus(SCRIPT)
    for gathered in (merged, direct):
        assert gathered and all(
            rows == [0.0, 1.0, 2.0, 3.0] for rows in gathered
        )  # replica 0 first
    for means in (mean, direct_mean):
        assert means and all(value == 2.0 for value in means)


def test_one_device_returns_the_values_unchanged():
    assert replicas.gather_over_replicas(1, 2) == (1, 2)
    assert replicas.mean_over_replicas(3.0) == 3.0
