"""RL104 penalty-after-backward: the penalty joins the loss after backward() already ran.

Gradients are computed when `loss.backward()` runs; a term added to `loss` afterwards (with no
later backward() of it) changes the printed loss and no parameter update.
"""

from __future__ import annotations

from typing import Iterator

from reglint.catalog import RL104
from reglint.checks.base import CheckContext, Report, static_rule

INFO = RL104  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
loss = criterion(model(x), y)
loss = loss + 1e-4 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)
loss.backward()
optimizer.step()
""",
)

INVALID = (
    """
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    loss = loss + 1e-4 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)  # expect: RL104
    optimizer.step()
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for late in ctx.facts.late_additions:
        yield Report(
            late.add_node,
            f"add the penalty to `{late.loss_name}` before `{ctx.facts.code(late.backward_node)}`: "
            f"added after it, it reaches no gradient and trains nothing",
        )
