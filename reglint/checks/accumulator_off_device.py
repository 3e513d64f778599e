"""RL105 accumulator-off-device: the penalty sums into a tensor that breaks on a GPU.

`reg = torch.tensor(0.)` lives on the CPU: `reg += term` with a CUDA term raises "Expected all
tensors to be on the same device" (so does `torch.zeros(1) + term` even without +=). An int
accumulator (`torch.tensor(0)`) cannot hold `+=` of a float ("result type Float can't be cast to
the desired output type Long"), and a `requires_grad=True` leaf cannot be updated in place. A plain
Python `0.` has none of these problems: the first `+=` turns it into a tensor on the right device.
"""

from __future__ import annotations

from typing import Iterator

from reglint.catalog import RL105
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.model import Applicability, Fix

INFO = RL105  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
reg = 0.
for p in model.parameters():
    if p.ndim > 1:
        reg += p.pow(2).sum()
loss = loss + 1e-4 * reg
""",
    """
reg = torch.tensor(0., device=device)
for p in model.parameters():
    if p.ndim > 1:
        reg += p.pow(2).sum()
loss = loss + 1e-4 * reg
""",
)

INVALID = (
    """
reg = torch.tensor(0.)  # expect: RL105
for p in model.parameters():
    if p.ndim > 1:
        reg += p.pow(2).sum()
loss = loss + 1e-4 * reg
""",
    """
reg = torch.zeros(1)  # expect: RL105
for name, p in model.named_parameters():
    if "weight" in name:
        reg = reg + p.abs().sum()
loss = loss + 1e-5 * reg
""",
)


def _problem(accumulator) -> str | None:  # type: ignore[no-untyped-def]
    if accumulator.leaf_requires_grad and accumulator.in_place:
        return "a leaf that requires grad cannot be updated in place (`+=` raises)"
    if accumulator.integer and accumulator.in_place:
        return "an int tensor cannot hold a float penalty (`+=` raises)"
    if accumulator.device_less and (accumulator.in_place or not accumulator.zero_dim):
        how = "`+=`" if accumulator.in_place else "adding"
        return f"a CPU tensor, so {how} a CUDA term fails on a GPU"
    return None


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    seen: set[int] = set()
    for penalty in ctx.facts.penalties:
        if penalty.dead:
            continue  # RL107 speaks of it
        accumulator = penalty.accumulator
        if accumulator is None or not penalty.is_penalty or id(accumulator.node) in seen:
            continue
        problem = _problem(accumulator)
        if problem is None:
            continue
        seen.add(id(accumulator.node))
        if not penalty.home and not ctx.facts.holds(accumulator.node):
            # Built by another module's helper over parameters this file handed it (that module
            # alone sees none): reported at this file's call, which names the line to change.
            if penalty.reported_elsewhere or penalty.origin is None:
                continue
            module, _, path = penalty.origin
            where = ctx.facts.where(accumulator.node, module, path)
            yield Report(penalty.node, f"start the penalty sum from `0.`, not `{accumulator.text}` ({where}): {problem}")
            continue
        if accumulator.uninitialized:
            # Starting from 0. also drops the garbage the sum began with: right, but not the same value.
            problem += ", and it starts as uninitialized memory, not 0"
            fix = Fix(Applicability.UNSAFE, "start the accumulator from 0. (it held uninitialized memory)", "0.")
        else:
            fix = Fix(Applicability.SAFE, "start the accumulator from a Python float", "0.")
        yield Report(accumulator.node, f"start the penalty sum from `0.`, not `{accumulator.text}`: {problem}", fix=fix)
