"""Helpers shared by the optimizer rules: how to speak about a weight_decay value."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import libcst as cst

from reglint.analysis.facts import FileFacts, Number, OptimizerCall, ParamGroup, Penalty, one_line


def decay_text(number: Number) -> str:
    text = one_line(number.text)
    if number.hidden_in is not None:
        return f"weight_decay={text} (its default, unless `**{number.hidden_in}` sets another)"
    if number.default_used and number.known:
        return f"weight_decay={number.value:g} (the default)"
    if number.known:
        literal = text.replace("_", "").lstrip("-").replace(".", "", 1).replace("e-", "", 1).replace("e", "", 1).isdigit()
        return f"weight_decay={text}" if literal else f"weight_decay={text} (= {number.value:g})"
    return f"weight_decay={text} (if it is > 0)".replace(") (if it", "; if it")


def group_line(facts: FileFacts, decay: Number) -> Optional[str]:
    """`line 10` for a param group's decay this file writes; None for one another module's code
    writes (a script that wires this one)."""
    node = decay.node
    if node is not None and not isinstance(node, cst.Module) and facts.holds(node):
        return facts.where(node)
    return None


def decaying_groups(optimizer: OptimizerCall) -> list[tuple[ParamGroup, Number]]:
    """Groups whose decay is, or may be, > 0 (a value hidden in **kwargs is not counted)."""
    out: list[tuple[ParamGroup, Number]] = []
    if optimizer.spec is None or "weight_decay" not in optimizer.spec.accepts:
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


def _related(a: str, b: str) -> bool:
    """Two module expressions that may hold the same parameters: the same, or one inside the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def training_first(penalty: Penalty, optimizers: Sequence[OptimizerCall]) -> list[OptimizerCall]:
    """`optimizers`, those with a group that names the module a term of `penalty` is taken from
    first (the one a message should name: PPO's value optimizer for the value net's penalty)."""
    owners = [term.param_set.owner for term in penalty.terms if term.param_set is not None]

    def trains(optimizer: OptimizerCall) -> bool:
        return any(
            group.params is not None and any(_related(group.params.owner, owner) for owner in owners)
            for group in optimizer.groups
        )

    return sorted(optimizers, key=lambda optimizer: not trains(optimizer))


def trained_only_by_others(penalty: Penalty, optimizers: Sequence[OptimizerCall], concerned: Callable[[OptimizerCall, ParamGroup], bool]) -> bool:
    """True when the file shows that every parameter set of `penalty` is trained by groups that are
    not `concerned` (a GAN's generator under Adam while only the discriminator's SGD decays; a
    teacher under SGD while only the student's optimizer is adaptive). Positive evidence only:
    a penalty term on an explicit parameter, or an owner that no optimizer group names, keeps the
    rule as it was (the owner may be an alias of the model another optimizer trains)."""
    owners = [term.param_set.owner if term.param_set is not None else None for term in penalty.terms]
    if not owners or None in owners:
        return False
    groups = [(optimizer, group) for optimizer in optimizers for group in optimizer.groups]
    if any(group.params is None for _, group in groups) or not all(optimizer.groups_known for optimizer in optimizers):
        return False
    for owner in owners:
        assert owner is not None
        matching = [(o, g) for o, g in groups if g.params is not None and _related(g.params.owner, owner)]
        if not matching or any(concerned(o, g) for o, g in matching):
            return False
    return True
