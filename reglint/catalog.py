"""The static rules' metadata: code, name, severity, summary and fix applicability.

Each rule module (reglint/checks/) holds its matcher, its examples and its messages, and takes its
RuleInfo from here. They live apart because the rule modules import libcst, which takes longer
to import (0.25-0.3 s) than `reglint check` takes to rule out a handful of files on their text:
working out which codes are enabled needs only this table, so a pre-commit run over files that
hold no training code never imports libcst at all. tests/test_catalog.py checks that every rule
module uses its entry and that every entry has a rule.
"""

from __future__ import annotations

from reglint.model import Applicability, RuleInfo, Severity
from reglint.registry import register

# penalty_includes_bias.py
RL101 = register(
    RuleInfo(
        code="RL101",
        name="penalty-includes-bias",
        severity=Severity.WARNING,
        summary="An L1/L2 penalty sums over every parameter, biases and norm gains included.",
    )
)

# unsquared_l2_norm.py
RL102 = register(
    RuleInfo(
        code="RL102",
        name="unsquared-l2-norm",
        severity=Severity.WARNING,
        summary="An L2 penalty uses ‖w‖, not ‖w‖²: its gradient is λ·w/‖w‖, not weight decay.",
        fix=Applicability.UNSAFE,
    )
)

# penalty_without_gradient.py
RL103 = register(
    RuleInfo(
        code="RL103",
        name="penalty-without-gradient",
        severity=Severity.ERROR,
        summary="The penalty is built from values with no gradient (.item(), .data, .detach(), no_grad): it regularizes nothing.",
    )
)

# penalty_after_backward.py
RL104 = register(
    RuleInfo(
        code="RL104",
        name="penalty-after-backward",
        severity=Severity.ERROR,
        summary="The penalty is added to the loss after backward() was called on it: it has no effect on training.",
    )
)

# accumulator_off_device.py
RL105 = register(
    RuleInfo(
        code="RL105",
        name="accumulator-off-device",
        severity=Severity.ERROR,
        summary="The penalty accumulates into a device-less, int, or requires-grad leaf tensor: it fails on a GPU or at the first +=.",
        fix=Applicability.SAFE,
    )
)

# penalty_copies_parameters.py
RL106 = register(
    RuleInfo(
        code="RL106",
        name="penalty-copies-parameters",
        severity=Severity.WARNING,
        summary="The penalty is computed over torch.cat of all parameters: a full copy of the model every step.",
        fix=Applicability.SAFE,
    )
)

# penalty_not_applied.py
RL107 = register(
    RuleInfo(
        code="RL107",
        name="penalty-not-applied",
        severity=Severity.WARNING,
        summary="A penalty is computed in a training step but never reaches the loss that is backpropagated: it regularizes nothing.",
    )
)

# coupled_weight_decay.py
RL201 = register(
    RuleInfo(
        code="RL201",
        name="coupled-weight-decay",
        severity=Severity.WARNING,
        summary="weight_decay on an adaptive optimizer (Adam, RMSprop, ...) is coupled L2, not AdamW's decoupled decay.",
        fix=Applicability.UNSAFE,
    )
)

# decay_on_bias_and_norm.py
RL202 = register(
    RuleInfo(
        code="RL202",
        name="decay-on-bias-and-norm",
        severity=Severity.WARNING,
        summary="The optimizer applies weight_decay to all parameters, biases and norm gains included.",
    )
)

# double_l2.py
RL203 = register(
    RuleInfo(
        code="RL203",
        name="double-l2",
        severity=Severity.WARNING,
        summary="Optimizer weight_decay and an explicit L2 penalty both regularize the same parameters.",
    )
)

# implausible_coefficient.py
RL204 = register(
    RuleInfo(
        code="RL204",
        name="implausible-coefficient",
        severity=Severity.WARNING,
        summary="A weight_decay or penalty coefficient far larger than anyone trains with.",
    )
)

# ignored_weight_decay.py
RL205 = register(
    RuleInfo(
        code="RL205",
        name="ignored-weight-decay",
        severity=Severity.ERROR,
        summary="A weight-decay setting the optimizer ignores or rejects (unknown group key, unsupported argument).",
        fix=Applicability.SAFE,
    )
)

# l2_with_adaptive_optimizer.py
RL206 = register(
    RuleInfo(
        code="RL206",
        name="l2-with-adaptive-optimizer",
        severity=Severity.INFO,
        summary="An explicit L2 penalty with an adaptive optimizer is rescaled per weight: it is not weight decay.",
    )
)

__all__ = ["RL101", "RL102", "RL103", "RL104", "RL105", "RL106", "RL201", "RL202", "RL203", "RL204", "RL205", "RL206"]
