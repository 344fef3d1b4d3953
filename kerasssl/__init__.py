"""kerasssl: Keras 3 training of image classifiers when labels are scarce or wrong."""

__version__ = "0.1.0"
