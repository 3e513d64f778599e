"""RL201 coupled-weight-decay: `weight_decay` on Adam, Adamax, Adagrad, RMSprop... is L2, not decay.

These optimizers add λ·w to the gradient before their adaptive rescaling, so the decay of each
weight is divided by √v̂: weights with large gradients are barely decayed, and with a zero data
gradient Adam's first step moves every weight by about lr·sign(w) whatever λ is. Decoupled weight
decay (AdamW, or `decoupled_weight_decay=True` on Adam/NAdam/RAdam) shrinks w by lr·λ per step.
"""

from __future__ import annotations

from typing import Iterator

from reglint.analysis.optimizers import COUPLED_ADAPTIVE
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.checks.optimizer_facts import decay_text
from reglint.model import Applicability, RuleInfo, Severity

INFO = RuleInfo(
    code="RL201",
    name="coupled-weight-decay",
    severity=Severity.WARNING,
    summary="weight_decay on an adaptive optimizer (Adam, RMSprop, ...) is coupled L2, not AdamW's decoupled decay.",
    fix=Applicability.UNSAFE,
)

VALID = (
    "opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.05)\n",
    "opt = torch.optim.Adam(model.parameters(), lr=1e-3)\n",
    "opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.0)\n",
    "opt = torch.optim.Adam(model.parameters(), weight_decay=1e-2, decoupled_weight_decay=True)\n",
    "opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)\n",
)

INVALID = (
    """
import torch.optim as optim
opt = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)  # expect: RL201
""",
    """
from torch.optim import RMSprop as Opt
opt = Opt(model.parameters(), 1e-2, 0.99, 1e-8, 1e-5)  # expect: RL201
""",
    """
import torch as th
def make(model, args):
    return th.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.wd)  # expect: RL201
""",
)

_FIX_HINT = {
    "Adam": "use AdamW (or Adam(..., decoupled_weight_decay=True))",
    "NAdam": "pass decoupled_weight_decay=True",
    "RAdam": "pass decoupled_weight_decay=True",
}


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for optimizer in ctx.facts.optimizers:
        if optimizer.class_name not in COUPLED_ADAPTIVE:
            continue
        flag = optimizer.decoupled_flag
        if flag is not None and (flag.value is None or flag.value != 0):
            continue  # decoupled_weight_decay=True, or a value we cannot see
        decays = []
        if optimizer.weight_decay_node is not None and optimizer.weight_decay.may_be_positive:
            decays.append((optimizer.weight_decay_node, optimizer.weight_decay))
        for group in optimizer.groups:
            if group.weight_decay is not None and group.weight_decay.may_be_positive and group.weight_decay.node is not None:
                decays.append((group.weight_decay.node, group.weight_decay))
        hint = _FIX_HINT.get(optimizer.class_name, "use AdamW, or an explicit decoupled shrink")
        for node, decay in decays:
            yield Report(
                node,
                f"{optimizer.class_name}'s {decay_text(decay)} is coupled L2: the decay is divided by the "
                f"adaptive denominator, so weights with large gradients are barely decayed; {hint} "
                f"(then λ means a per-step shrink of lr·λ)",
            )
