"""Saves the random state of a model's `keras.random.SeedGenerator`s with its weights."""

SEED_STATE_PREFIX = "seed_generator_state_"


def seed_generator_states(model):
    """The state variables of every `SeedGenerator` in `model`, in a fixed order.

    These are what `model.variables` holds beyond `model.weights`: the seeds of dropout,
    stochastic depth and the algorithm's own in-step draws. A generator shared by two layers
    is listed once.
    """
    weight_ids = {id(weight) for weight in model.weights}
    states, seen = [], set()
    for variable in model.variables:
        if id(variable) not in weight_ids and id(variable) not in seen:
            states.append(variable)
            seen.add(id(variable))
    return states


class SeedGeneratorCheckpointing:
    """Mixin for a `keras.Model`: its weights files also hold every `SeedGenerator`'s state.

    Keras saves a layer's trainable and non-trainable weights but not the state of its
    `SeedGenerator`s, so `BackupAndRestore` restarts dropout, stochastic depth and in-step
    draws at their initial seeds on resume: the resumed epochs replay the first epochs' masks
    and the run drifts away from an uninterrupted one. Listing this class before
    `keras.Model` adds those states to the model's own entry of the weights file (for
    `save_weights` and `.keras` files alike), so a resumed run continues the same random
    sequence. Files without the entries (written before this mixin) still load, with the
    seeds left as built.

    Example:
        >>> class MyAlgorithm(SeedGeneratorCheckpointing, keras.Model):
        ...     ...
    """

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for index, state in enumerate(seed_generator_states(self)):
            store[f"{SEED_STATE_PREFIX}{index}"] = state

    def load_own_variables(self, store):
        keys = list(store.keys())
        seed_keys = [key for key in keys if key.startswith(SEED_STATE_PREFIX)]
        super().load_own_variables(
            {key: store[key] for key in keys if not key.startswith(SEED_STATE_PREFIX)}
        )
        if not seed_keys:
            return
        states = seed_generator_states(self)
        if len(seed_keys) != len(states):
            raise ValueError(
                f"the weights file holds {len(seed_keys)} seed generator states but "
                f"{type(self).__name__} has {len(states)}: it was saved from a different "
                "network (for instance another dropout or stochastic-depth setting)."
            )
        for index, state in enumerate(states):
            state.assign(store[f"{SEED_STATE_PREFIX}{index}"])
