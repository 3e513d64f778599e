"""RL206 l2-with-adaptive-optimizer: an explicit L2 penalty trained with Adam, AdamW, RMSprop...

The penalty's gradient λ·w joins the data gradient and is divided per weight by the adaptive
denominator √v̂, just like Adam's coupled weight_decay (RL201): weights with large gradients are
barely regularized. It is not weight decay; AdamW's decoupled weight_decay usually is what is meant.
"""

from __future__ import annotations

from typing import Iterator

from reglint.catalog import RL206
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.checks.optimizer_facts import trained_only_by_others, training_first

INFO = RL206  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss = criterion(out, y) + 1e-4 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)
""",
    # Adam trains only the student; the L2 is on the teacher, trained by SGD.
    """
opt_teacher = torch.optim.SGD(teacher.parameters(), lr=0.1)
opt_student = torch.optim.Adam(student.parameters(), lr=1e-3)
t_loss = criterion(teacher(x), y) + 1e-4 * sum(p.pow(2).sum() for p in teacher.parameters() if p.ndim > 1)
""",
)

INVALID = (
    """
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss = criterion(out, y) + 1e-4 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)  # expect: RL206
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for penalty in ctx.facts.trained_l2_penalties():
        optimizers = ctx.facts.setup_optimizers(penalty)
        adaptive = [o for o in optimizers if o.spec is not None and o.spec.adaptive]
        if not adaptive:
            continue
        if trained_only_by_others(penalty, optimizers, lambda optimizer, _group: bool(optimizer.spec and optimizer.spec.adaptive)):
            continue  # e.g. a teacher's penalty under SGD while only the student's optimizer is adaptive
        optimizer = training_first(penalty, adaptive)[0]
        yield Report(
            penalty.add_node or penalty.node,
            f"use AdamW's weight_decay for decay: {optimizer.class_name} ({ctx.facts.optimizer_site(optimizer)}) "
            f"rescales this L2 penalty's{ctx.facts.built_at(penalty)} gradient λ·w per weight",
        )
