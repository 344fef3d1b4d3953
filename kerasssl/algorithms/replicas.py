"""Values every replica of a `tf.distribute` step must agree on: means and gathers.

Both go through `merge_call`, as the optimizers' gradient sums do: a replica-context collective
issued between them can be matched with a different collective on another replica (seen as a
shape mismatch under `MirroredStrategy`). On one device (or outside a strategy) they return
their input unchanged.
"""

import tensorflow as tf


def _replica_context():
    """The replica context of a multi-replica step, else None."""
    context = tf.distribute.get_replica_context()
    if context is None or tf.distribute.get_strategy().num_replicas_in_sync == 1:
        return None
    return context


def mean_over_replicas(value):
    """The mean of `value` over replicas, the same on each (e.g. MPL's feedback h)."""
    context = _replica_context()
    if context is None:
        return value
    return context.merge_call(_mean, args=(value,))


def gather_over_replicas(*values):
    """Each value's per-replica slices concatenated along axis 0, replica 0 first: the global
    batch's rows in its order, the same on every replica (e.g. FlexMatch's state update)."""
    context = _replica_context()
    if context is None:
        return values
    return context.merge_call(_gather, args=values)


def _mean(strategy, value):
    return strategy.extended.reduce_to(tf.distribute.ReduceOp.MEAN, value, destinations=value)


def _gather(strategy, *values):
    return tuple(strategy.gather(value, axis=0) for value in values)
