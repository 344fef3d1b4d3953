"""What a run prints between Keras' progress bars: a banner per phase, silent at verbose=0.

Keras prints each fit's epochs; a run made of phases (teacher, labeling, students, warm-up)
also says which phase those epochs belong to, so a user can tell where a long run is.
"""

VERBOSITIES = ("auto", "0", "1", "2")


def fit_verbosity(train_config):
    """`config.train.verbose` as Keras' `fit` takes it: "auto", 0, 1 or 2.

    The command line gives "0" as a string, which `fit` would take as true (not quiet).
    """
    verbose = str(train_config.verbose)
    if verbose not in VERBOSITIES:
        raise ValueError(
            f"config.train.verbose must be one of {VERBOSITIES} (0 is quiet, 2 one line per "
            f"epoch); got {train_config.verbose!r}."
        )
    return verbose if verbose == "auto" else int(verbose)


def is_verbose(train_config):
    """False for `config.train.verbose = 0` (quiet runs), True for "auto", 1 and 2."""
    return fit_verbosity(train_config) != 0


def progress_bar_verbosity(train_config):
    """1 (a progress bar) for verbose "auto" or 1, else 0: for loops outside `fit`."""
    return 1 if fit_verbosity(train_config) in ("auto", 1) else 0


def banner(config, text):
    """Prints `== text` on its own line unless `config.train.verbose` is 0."""
    if is_verbose(config.train):
        print(f"== {text}", flush=True)


def phase_banner(config, title, finished_metrics=None):
    """A phase's banner; a phase finished by an earlier run says so, with its test accuracy."""
    if finished_metrics is None:
        banner(config, title)
    else:
        accuracy = finished_metrics.get("test_accuracy")
        result = f", test accuracy {accuracy:.4f}" if accuracy is not None else ""
        banner(config, f"{title}: finished in an earlier run{result}")


def count(number, noun):
    """`number` and `noun`, plural unless 1: "1 epoch", "2 epochs"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
