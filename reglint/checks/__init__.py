"""Static rules: importing this package registers every rule module."""

from reglint.checks import (  # noqa: F401  (imported to register)
    coupled_weight_decay,
    decay_on_bias_and_norm,
    double_l2,
    penalty_includes_bias,
    unsquared_l2_norm,
)
from reglint.checks.base import STATIC_RULES, StaticRule

__all__ = ["STATIC_RULES", "StaticRule"]
