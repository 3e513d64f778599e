"""Static rules: importing this package registers every rule module."""

from reglint.checks import (  # noqa: F401  (imported to register)
    accumulator_off_device,
    coupled_weight_decay,
    decay_on_bias_and_norm,
    double_l2,
    ignored_weight_decay,
    implausible_coefficient,
    l2_with_adaptive_optimizer,
    penalty_after_backward,
    penalty_copies_parameters,
    penalty_includes_bias,
    penalty_not_applied,
    penalty_without_gradient,
    unsquared_l2_norm,
)
from reglint.checks.base import STATIC_RULES, StaticRule

__all__ = ["STATIC_RULES", "StaticRule"]
