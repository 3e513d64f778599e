"""Codes only `reglint audit` can report: they need the model built and measured."""

from __future__ import annotations

from reglint.model import RuleInfo, Severity
from reglint.registry import register

PENALTY_GRADIENT_MISMATCH = register(
    RuleInfo(
        code="RL301",
        name="penalty-gradient-mismatch",
        severity=Severity.ERROR,
        summary="The penalty's autograd gradient disagrees with finite differences of its value, or with the declared form.",
        origin="audit",
    )
)
NONFINITE_PENALTY_GRADIENT = register(
    RuleInfo(
        code="RL302",
        name="nonfinite-penalty-gradient",
        severity=Severity.ERROR,
        summary="The penalty's gradient is NaN or inf for some parameter (typically at w = 0).",
        origin="audit",
    )
)
LOW_PRECISION_PENALTY = register(
    RuleInfo(
        code="RL303",
        name="low-precision-penalty",
        severity=Severity.WARNING,
        summary="In the model's own dtype the penalty overflows or is off by more than 1% from float64.",
        origin="audit",
    )
)
PENALTY_DEVICE_ERROR = register(
    RuleInfo(
        code="RL304",
        name="penalty-device-error",
        severity=Severity.ERROR,
        summary="The penalty raises or moves data across devices when the model is on the audit device.",
        origin="audit",
    )
)
COEFFICIENT_MISMATCH = register(
    RuleInfo(
        code="RL305",
        name="coefficient-mismatch",
        severity=Severity.WARNING,
        summary="The measured regularization coefficient differs from the declared one.",
        origin="audit",
    )
)
DISTRIBUTED_MISMATCH = register(
    RuleInfo(
        code="RL306",
        name="distributed-mismatch",
        severity=Severity.WARNING,
        summary="Under DDP or FSDP (torchrun) a parameter's decay or penalty gradient differs from what it gets in one process.",
        origin="audit",
    )
)
