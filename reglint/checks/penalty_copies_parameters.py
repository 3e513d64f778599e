"""RL106 penalty-copies-parameters: the penalty concatenates every parameter first.

`torch.norm(torch.cat([p.view(-1) for p in model.parameters()]), 1)` allocates a copy of the whole
model every step (and keeps it for backward), for the same value Σ_p p.abs().sum() gives without
any copy.
"""

from __future__ import annotations

from typing import Iterator

from reglint.checks.base import CheckContext, Report, static_rule
from reglint.model import Applicability, RuleInfo, Severity

INFO = RuleInfo(
    code="RL106",
    name="penalty-copies-parameters",
    severity=Severity.WARNING,
    summary="The penalty is computed over torch.cat of all parameters: a full copy of the model every step.",
    fix=Applicability.SAFE,
)

VALID = (
    """
l1 = sum(p.abs().sum() for p in model.parameters() if p.ndim > 1)
loss = loss + 1e-5 * l1
""",
)

INVALID = (
    """
weights = torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1])  # expect: RL106
loss = loss + 1e-5 * torch.norm(weights, 1)
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    seen: set[int] = set()
    for penalty in ctx.facts.penalties:
        if not penalty.is_penalty:
            continue
        for term in penalty.terms:
            if term.flat_copy is None or id(term.flat_copy) in seen:
                continue
            seen.add(id(term.flat_copy))
            yield Report(
                term.flat_copy,
                "the penalty concatenates the parameters into one tensor: a copy of the whole model every "
                "step, for the value a per-parameter sum gives without copying (sum(f(p) for p in params))",
            )
