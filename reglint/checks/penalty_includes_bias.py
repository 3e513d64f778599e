"""RL101 penalty-includes-bias: an explicit L1/L2 penalty sums over every parameter.

`sum(p.pow(2).sum() for p in model.parameters())` penalizes biases and the gains of LayerNorm /
BatchNorm too. Those have few values, do not overfit, and a norm gain pulled toward 0 switches its
feature off; the penalty meant for weight matrices should skip every 1-D parameter.
"""

from __future__ import annotations

from typing import Iterator

from reglint.analysis.facts import L1, L2, L2_UNSQUARED, LP
from reglint.catalog import RL101
from reglint.checks.base import CheckContext, Report, static_rule

INFO = RL101  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
l2 = sum(p.pow(2).sum() for p in model.parameters() if p.ndim >= 2)
loss = loss + 1e-4 * l2
""",
    """
reg = 0.
for name, param in model.named_parameters():
    if "bias" not in name:
        reg = reg + param.abs().sum()
loss = loss + lam * reg
""",
    """
weights = [model.fc1.weight, model.fc2.weight]
loss = loss + 1e-4 * sum((w ** 2).sum() for w in weights)
""",
    # Every layer is built without a bias: the unfiltered sum penalizes weight matrices only.
    """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(8, 8, bias=False)
        self.out = nn.Linear(8, 1, bias=False)

model = Net()
loss = loss + 1e-4 * sum(p.pow(2).sum() for p in model.parameters())
""",
)

INVALID = (
    """
l2 = sum(p.pow(2).sum() for p in model.parameters())  # expect: RL101
loss = loss + 1e-4 * l2
""",
    """
reg = 0.
for name, param in model.named_parameters():  # expect: RL101
    if param.requires_grad:
        reg = reg + param.abs().sum()
loss = loss + lam * reg
""",
)

_KIND_NAMES = {L1: "L1", L2: "L2", L2_UNSQUARED: "norm", LP: "Lp"}


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for _penalty, term in ctx.facts.penalty_terms():
        pset = term.param_set
        if pset is None or not pset.unfiltered or pset.origin == "explicit" or term.anchored:
            continue  # (a proximal term pulls the biases toward their anchor, on purpose)
        if pset.has_vectors is False:
            continue  # the model's layers have no bias or norm gain to penalize
        if term.gradless is not None:
            continue  # no gradient, so nothing is pulled: RL103's finding
        kind = _KIND_NAMES.get(term.kind, "")
        name_filter = '"bias" not in name' if pset.origin in ("named_parameters", "state_dict") else "p.ndim >= 2"
        # (a concatenation, or a loop that takes the parameters one by one, is where they are chosen)
        walked = term.walked_at if term.walked_at is not None and ctx.facts.holds(term.walked_at) else None
        yield Report(
            term.flat_copy or walked or term.node,
            f"penalize weights only (`if {name_filter}`): this {kind} penalty also pulls biases and "
            f"norm gains to 0",
        )
