"""RL103 penalty-without-gradient: the penalty is computed from values autograd cannot see.

`.item()`, `.data`, `.detach()`, `.numpy()`, `float(...)`, `state_dict()` values and anything
computed under `torch.no_grad()` / `torch.inference_mode()` are cut from the graph: ∂penalty/∂w = 0,
so adding the penalty to the loss changes the logged number and no gradient.
"""

from __future__ import annotations

from typing import Iterator

from reglint.catalog import RL103
from reglint.checks.base import CheckContext, Report, static_rule

INFO = RL103  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
l2 = sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)
loss = loss + 1e-4 * l2
print(l2.item())
""",
    """
@torch.no_grad()
def weight_l2(model):
    return sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)

wandb.log({"weight_l2": weight_l2(model)})
""",
)

INVALID = (
    """
l2 = 0.
for p in model.parameters():
    if p.ndim > 1:
        l2 += p.pow(2).sum().item()  # expect: RL103
loss = loss + 1e-4 * l2
""",
    """
reg = sum(p.data.abs().sum() for p in model.parameters() if p.ndim > 1)  # expect: RL103
loss = loss + 1e-5 * reg
""",
    """
with torch.no_grad():
    reg = sum((p ** 2).sum() for p in model.parameters() if p.ndim > 1)  # expect: RL103
loss = criterion(out, y) + 1e-4 * reg
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    # Only penalties that reach a trained loss: a gradient-free norm that is only logged is fine.
    for penalty, term in ctx.facts.penalty_terms(trained_only=True):
        if term.gradless is None:
            continue
        # (another module's code writes it, over what this file hands it: say where)
        elsewhere = ctx.facts.written_elsewhere(penalty, term)
        place = f" ({elsewhere[2]})" if elsewhere is not None else ""
        yield Report(
            term.gradless_at or term.node,
            f"compute the penalty without {term.gradless}{place}, which cuts its gradient: as written "
            f"it trains nothing",
        )
