"""RL202 decay-on-bias-and-norm: the optimizer decays every parameter, biases and norm gains too.

`AdamW(model.parameters(), weight_decay=0.05)` (and AdamW with its default 1e-2) shrinks biases and
LayerNorm/BatchNorm gains toward 0 every step. The common practice (timm, HF Trainer, nanoGPT) is
two param groups: weight_decay for the weight matrices, 0 for every parameter with ndim < 2.
"""

from __future__ import annotations

from typing import Iterator

from reglint.catalog import RL202
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.checks.optimizer_facts import decay_text, decaying_groups, explicitly_zero_group

INFO = RL202  # code, name, severity, summary: reglint/catalog.py

VALID = (
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n",
    """
decay = [p for p in model.parameters() if p.ndim >= 2]
no_decay = [p for p in model.parameters() if p.ndim < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}])
""",
)

INVALID = (
    "opt = torch.optim.AdamW(model.parameters(), lr=3e-4)  # expect: RL202\n",
    """
params = filter(lambda p: p.requires_grad, model.parameters())
opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4)  # expect: RL202
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for optimizer in ctx.facts.optimizers:
        if explicitly_zero_group(optimizer):
            continue
        for group, decay in decaying_groups(optimizer):
            if group.params is None or not group.params.unfiltered:
                continue
            yield Report(
                group.node,
                f"put ndim < 2 parameters in a weight_decay=0 group: {optimizer.class_name}'s "
                f"{decay_text(decay)} also decays biases and norm gains",
            )
