"""RL203 double-l2: the optimizer already decays, and an explicit L2 penalty is added as well.

With SGD, weight_decay=λ plus a penalty λ'/2·Σw² in the loss shrinks each weight by (λ + λ')·lr
per step: twice the intended regularization when both were meant as "the" weight decay. With an
adaptive optimizer the two terms do not even act alike (see RL201, RL206).
"""

from __future__ import annotations

from typing import Iterator

from reglint.analysis.facts import OptimizerCall, ParamGroup
from reglint.catalog import RL203
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.checks.optimizer_facts import (
    decay_text,
    decaying_groups,
    trained_only_by_others,
    training_first,
)

INFO = RL203  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0)
loss = criterion(out, y) + 1e-4 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)
""",
    """
opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)
loss = criterion(out, y) + 1e-5 * sum(p.abs().sum() for p in model.parameters() if p.ndim > 1)
""",
    # Only the discriminator's optimizer decays; the explicit L2 is on the generator.
    """
opt_g = torch.optim.SGD(G.parameters(), lr=0.01)
opt_d = torch.optim.SGD([{"params": D.parameters(), "weight_decay": 5e-4}], lr=0.01)
loss_g = adversarial(G, D) + 1e-4 * sum(p.pow(2).sum() for p in G.parameters() if p.ndim > 1)
""",
)

INVALID = (
    """
opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)
l2 = sum((p ** 2).sum() for p in model.parameters() if p.ndim > 1)
loss = criterion(out, y) + 1e-4 * l2  # expect: RL203
""",
    # The helper's `net` is the `model` the optimizer decays: no optimizer names `net`, so the
    # rule cannot show the sets are apart, and reports.
    """
opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)
def l2(net):
    return sum(p.pow(2).sum() for p in net.parameters() if p.ndim > 1)
loss = criterion(out, y) + 1e-4 * l2(model)  # expect: RL203
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    # A penalty with no gradient at all is RL103's business, not a second decay.
    for penalty in ctx.facts.trained_l2_penalties():
        optimizers = ctx.facts.setup_optimizers(penalty)
        decaying = [(o, decaying_groups(o)) for o in optimizers]
        decaying = [(o, groups) for o, groups in decaying if groups]
        if not decaying:
            continue
        decaying_ids = {id(group) for _, found in decaying for group, _ in found}

        def decays(_optimizer: OptimizerCall, group: ParamGroup, ids: set[int] = decaying_ids) -> bool:
            return id(group) in ids

        if trained_only_by_others(penalty, optimizers, decays):
            continue  # e.g. the generator's penalty while only the discriminator's optimizer decays
        optimizer = training_first(penalty, [o for o, _ in decaying])[0]
        groups = next(found for o, found in decaying if o is optimizer)
        yield Report(
            penalty.add_node or penalty.node,
            f"keep one of the two: this L2 penalty{ctx.facts.built_at(penalty)} and "
            f"{optimizer.class_name}'s {decay_text(groups[0][1])} ({ctx.facts.optimizer_site(optimizer)}) "
            f"regularize the same weights twice",
        )
