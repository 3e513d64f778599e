"""RL102 unsquared-l2-norm: an "L2" penalty built from a norm that is not squared.

d/dw λ‖w‖ = λ·w/‖w‖: a pull of constant size λ toward 0, whatever ‖w‖ is, where weight decay
(d/dw λ/2·‖w‖² = λ·w) shrinks w in proportion. The sqrt(sum of squares) spellings also give a NaN
gradient when w = 0.
"""

from __future__ import annotations

from typing import Iterator

from reglint.analysis.facts import L2_UNSQUARED
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.model import Applicability, RuleInfo, Severity

INFO = RuleInfo(
    code="RL102",
    name="unsquared-l2-norm",
    severity=Severity.WARNING,
    summary="An L2 penalty uses ‖w‖, not ‖w‖²: its gradient is λ·w/‖w‖, not weight decay.",
    fix=Applicability.UNSAFE,
)

VALID = (
    """
reg = sum(p.pow(2).sum() for p in model.parameters() if p.dim() > 1)
loss = loss + lam * reg
""",
    """
l2 = sum(torch.norm(w, 2) ** 2 for w in [model.fc.weight])
loss = loss + 1e-4 * l2
""",
    """
total_norm = torch.norm(torch.stack([torch.norm(p.grad) for p in model.parameters()]))
print(total_norm)
""",
    """
group_lasso = sum(torch.norm(w, dim=0).sum() for w in [model.fc.weight])
loss = loss + 1e-3 * group_lasso
""",
)

INVALID = (
    """
l2_reg = torch.tensor(0.)
for name, param in model.named_parameters():
    if "weight" in name:
        l2_reg += torch.norm(param, 2)  # expect: RL102
loss = loss + 1e-4 * l2_reg
""",
    """
loss = criterion(out, y) + 1e-4 * model.fc.weight.norm()  # expect: RL102
""",
    """
reg = torch.sqrt((model.fc.weight ** 2).sum())  # expect: RL102
loss = loss + lam * reg
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for penalty in ctx.facts.penalties:
        if not penalty.is_penalty:
            continue
        for term in penalty.terms:
            if term.kind != L2_UNSQUARED:
                continue
            code = ctx.facts.code(term.node)
            if term.sqrt_form:
                detail = "its gradient is λ·w/‖w‖ and NaN at w = 0"
            else:
                detail = "its gradient is λ·w/‖w‖, a constant-size pull, not weight decay (λ·w)"
            yield Report(term.node, f"`{code}` is the unsquared L2 norm: {detail}; square it (`‖w‖²`)")
