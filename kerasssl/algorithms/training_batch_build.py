"""Keeps Keras from building an algorithm by calling it on a training batch that `call` rejects."""

import keras


class TrainingBatchBuild:
    """Mixin for a `keras.Model` whose training batches are not `call()`'s inputs.

    Under an explicit `tf.distribute` strategy (`mirrored`, `one_device`, `multi_worker`,
    `tpu`), Keras 3.15's `fit` first builds the model symbolically from its first training
    batch (`TensorFlowTrainer._maybe_symbolic_build`): while the compiled metrics and loss are
    unbuilt, it calls `call(x)` on that batch. An algorithm whose `x` is a dict of views
    (DivideMix's `images_1`/`labels_1`..., MPL's `labeled`/`unlabeled_weak`...) rejects it,
    and `fit` fails before its first step. With this class listed before `keras.Model`, a
    batch whose `x` is a dict builds nothing, as under TensorFlow's default strategy (Keras
    then builds when the step is traced); the networks and optimizers are built by the
    algorithm, and the compiled metrics and loss, which serve `evaluate`, are built from the
    first evaluation batch (images, labels) as before. Other batches are built from one
    replica's slice of the batch (the per-replica shapes, all the build reads).
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return  # No strategy: Keras builds when the step is traced, whatever the batch.
        if iterator is not None:
            # As Keras: the first batch of the epoch iterator, which fit/evaluate then reset.
            for _, _, batches in iterator:
                data_batch = next(batches)
                break
            iterator = None
        strategy = self.distribute_strategy
        data_batch = keras.tree.map_structure(
            lambda value: strategy.experimental_local_results(value)[0], data_batch
        )
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data_batch)
        if isinstance(x, dict):
            return
        super()._maybe_symbolic_build(data_batch=data_batch)
