"""Helpers shared by the optimizer rules: how to speak about a weight_decay value."""

from __future__ import annotations

from reglint.analysis.facts import Number, OptimizerCall, ParamGroup


def decay_text(number: Number) -> str:
    if number.default_used and number.known:
        return f"weight_decay={number.value:g} (the default)"
    if number.known:
        return f"weight_decay={number.text}"
    return f"weight_decay={number.text} (not known statically; this applies if it is > 0)"


def decaying_groups(optimizer: OptimizerCall) -> list[tuple[ParamGroup, Number]]:
    """Groups whose decay is, or may be, > 0 (a value hidden in **kwargs is not counted)."""
    out = []
    for group in optimizer.groups:
        decay = optimizer.group_decay(group)
        if decay.default_used and not decay.known:
            continue
        if decay.may_be_positive:
            out.append((group, decay))
    return out


def explicitly_zero_group(optimizer: OptimizerCall) -> bool:
    return any(g.weight_decay is not None and g.weight_decay.value == 0 for g in optimizer.groups)
