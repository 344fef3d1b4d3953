"""Values every replica of a `tf.distribute` step must agree on: means and gathers.

Both go through `merge_call` where the strategy uses it, as Keras' optimizers do
(`maybe_merge_call`): a replica-context collective issued between the optimizers' merge calls
can be matched with a different collective on another replica (seen as a shape mismatch under
`MirroredStrategy`). Where a strategy runs without merge calls (XLA on GPUs), the same values
come from the replica context's collectives. On one device (or outside a strategy) both return
their input unchanged.
"""

import tensorflow as tf


def _strategy():
    """The strategy of a multi-replica step, else None."""
    if tf.distribute.get_replica_context() is None:
        return None
    strategy = tf.distribute.get_strategy()
    return strategy if strategy.num_replicas_in_sync > 1 else None


def mean_over_replicas(value):
    """The mean of `value` over replicas, the same on each (e.g. MPL's feedback h)."""
    strategy = _strategy()
    if strategy is None:
        return value
    return tf.__internal__.distribute.interim.maybe_merge_call(_mean, strategy, value)


def gather_over_replicas(*values):
    """Each value's per-replica slices concatenated along axis 0, replica 0 first: the global
    batch's rows in its order, the same on every replica (e.g. FlexMatch's state update)."""
    strategy = _strategy()
    if strategy is None:
        return values
    return tf.__internal__.distribute.interim.maybe_merge_call(_gather, strategy, *values)


def _mean(strategy, value):
    if tf.distribute.in_cross_replica_context():
        return strategy.extended.reduce_to(tf.distribute.ReduceOp.MEAN, value, value)
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.MEAN, value)


def _gather(strategy, *values):
    if tf.distribute.in_cross_replica_context():
        return tuple(strategy.gather(value, axis=0) for value in values)
    context = tf.distribute.get_replica_context()
    return tuple(context.all_gather(value, axis=0) for value in values)
