"""Helpers shared by the optimizer rules: how to speak about a weight_decay value."""

from __future__ import annotations

from reglint.analysis.facts import Number, OptimizerCall, ParamGroup
from reglint.analysis.optimizers import SPECS


def decay_text(number: Number) -> str:
    if number.default_used and number.known:
        return f"weight_decay={number.value:g} (the default)"
    if number.known:
        literal = number.text.replace("_", "").lstrip("-").replace(".", "", 1).replace("e-", "", 1).replace("e", "", 1).isdigit()
        return f"weight_decay={number.text}" if literal else f"weight_decay={number.text} (= {number.value:g})"
    return f"weight_decay={number.text} (not known statically; this applies if it is > 0)".replace(") (not known", "; not known")


def decaying_groups(optimizer: OptimizerCall) -> list[tuple[ParamGroup, Number]]:
    """Groups whose decay is, or may be, > 0 (a value hidden in **kwargs is not counted)."""
    out: list[tuple[ParamGroup, Number]] = []
    if "weight_decay" not in SPECS[optimizer.class_name].accepts:
        return out  # LBFGS, SparseAdam, Rprop: no decay at all (RL205 reports the argument)
    for group in optimizer.groups:
        decay = optimizer.group_decay(group)
        if decay.default_used and not decay.known:
            continue
        if decay.may_be_positive:
            out.append((group, decay))
    return out


def explicitly_zero_group(optimizer: OptimizerCall) -> bool:
    return any(g.weight_decay is not None and g.weight_decay.value == 0 for g in optimizer.groups)
