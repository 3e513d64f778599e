"""reglint: find regularization mistakes in PyTorch training code."""

__version__ = "0.1.0"
