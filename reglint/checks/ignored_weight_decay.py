"""RL205 ignored-weight-decay: decay that silently does nothing, or cannot work at all.

torch.optim keeps unknown param-group keys without complaint, so `{"params": ..., "wd": 0.0}` or a
misspelled `"weigth_decay"` leaves the group at the constructor's decay. `weight_decay` given to
LBFGS, SparseAdam or Rprop, and `decoupled_weight_decay` given to AdamW, are not arguments of those
constructors: a TypeError at start-up. A "weight_decay" key in a param group of an optimizer
without decay is kept and ignored. A param-group dict whose optimizer the analysis does not see
(built by a helper into a dict of groups, handed to code it does not read) is judged against every
torch.optim class: a key none of them knows that means weight_decay is reported.
"""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from reglint.analysis.optimizers import intended_key, misspelt_decay_key
from reglint.catalog import RL205
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.model import Applicability, Fix

INFO = RL205  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
groups = [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0, "lr_scale": 0.5}]
opt = torch.optim.AdamW(groups, lr=1e-3)
""",
)

INVALID = (
    """
groups = [{"params": decay, "wd": 0.05}, {"params": no_decay, "weight_decay": 0.0}]  # expect: RL205
opt = torch.optim.AdamW(groups, lr=1e-3)
""",
    "opt = torch.optim.LBFGS(model.parameters(), lr=1, weight_decay=1e-4)  # expect: RL205\n",
    "opt = torch.optim.AdamW(model.parameters(), lr=1e-3, decoupled_weight_decay=True)  # expect: RL205\n",
    """
def layer_groups(model, wd):
    groups = {}
    for name, p in model.named_parameters():
        key = "no_decay" if p.ndim == 1 else "decay"
        if key not in groups:
            groups[key] = {"params": [], "weigth_decay": 0.0 if p.ndim == 1 else wd}  # expect: RL205
        groups[key]["params"].append(p)
    return list(groups.values())
""",
)


def _quoted(node: cst.CSTNode, key: str) -> str:
    if isinstance(node, cst.SimpleString):
        quote = node.prefix + node.quote
        return f"{quote}{key}{node.quote}"
    return repr(key)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for optimizer in ctx.facts.home_optimizers:
        spec = optimizer.spec
        if spec is None:
            continue
        for keyword, node in optimizer.keywords:
            if keyword in ("weight_decay", "decoupled_weight_decay") and keyword not in spec.accepts:
                yield Report(
                    node,
                    f"remove `{keyword}=`: {optimizer.class_name} has no such argument and raises a TypeError"
                    + ("; AdamW is always decoupled" if keyword == "decoupled_weight_decay" else ""),
                )
        for group in optimizer.groups:
            for key, key_node in group.keys:
                if key == "weight_decay" and "weight_decay" not in spec.accepts:
                    yield Report(key_node, f"remove this group's \"weight_decay\": {optimizer.class_name} has no weight decay and ignores it")
                    continue
                intended = intended_key(key, spec)
                if intended is not None:
                    yield _rename(key_node, key, intended, f"{optimizer.class_name} silently ignores a param-group key it does not know")
    for group in ctx.facts.stray_group_dicts:
        for key, key_node in group.keys:
            if misspelt_decay_key(key):
                why = "no torch.optim optimizer knows this param-group key, and each silently ignores it, so the group keeps the constructor's decay"
                yield _rename(key_node, key, "weight_decay", why)


def _rename(key_node: cst.CSTNode, key: str, intended: str, why: str) -> Report:
    """A param-group key to rename, with the safe fix that renames it."""
    return Report(
        key_node,
        f"rename {key!r} to {intended!r}: {why}",
        fix=Fix(Applicability.SAFE, f"rename the key to {intended!r}", _quoted(key_node, intended)),
    )
