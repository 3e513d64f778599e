"""RL201 coupled-weight-decay: `weight_decay` on Adam, Adamax, Adagrad, RMSprop... is L2, not decay.

These optimizers add λ·w to the gradient before their adaptive rescaling, so the decay of each
weight is divided by √v̂: weights with large gradients are barely decayed, and with a zero data
gradient Adam's first step moves every weight by about lr·sign(w) whatever λ is. Decoupled weight
decay (AdamW, or `decoupled_weight_decay=True` on Adam/NAdam/RAdam) shrinks w by lr·λ per step.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from reglint.analysis.facts import Number, OptimizerCall
from reglint.analysis.names import ImportMap, dotted
from reglint.analysis.optimizers import SPECS, coupled_on_adaptive
from reglint.catalog import RL201
from reglint.checks import edits
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.checks.optimizer_facts import decay_text, group_line
from reglint.model import Applicability, Edit, Fix

INFO = RL201  # code, name, severity, summary: reglint/catalog.py

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
    "Adam": "use AdamW",
    "NAdam": "pass decoupled_weight_decay=True",
    "RAdam": "pass decoupled_weight_decay=True",
}


def _hint(optimizer: OptimizerCall) -> str:
    spec = optimizer.spec
    if not optimizer.qualname.startswith("torch.") and spec is not None and spec.library == "torch":
        return "pass opt='adamw'"  # timm's create_optimizer_v2
    if spec is not None and spec.library != "torch":
        if spec.switch is not None:
            flag, _, decoupled = spec.switch
            return f"pass {flag}={decoupled!r}"
        return "use an optimizer with decoupled decay"
    return _FIX_HINT.get(optimizer.class_name, "use AdamW")


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    # Keyed by the decay's node: one param-group helper may feed several optimizers, and the
    # decay is then reported once, naming each of them (a report per optimizer at the same place
    # would be merged into one that names only the first).
    found: dict[int, list[tuple[cst.CSTNode, OptimizerCall, Number, Optional[Fix]]]] = {}
    for optimizer in ctx.facts.home_optimizers:
        flag = optimizer.decoupled_flag
        if optimizer.spec is None or not coupled_on_adaptive(
            optimizer.spec, flag.value if flag is not None else None, flag is None or flag.value is not None
        ):
            continue  # decoupled, not adaptive, or a switch value we cannot see
        decays = []
        if optimizer.weight_decay_node is not None and optimizer.weight_decay.may_be_positive:
            decays.append((optimizer.weight_decay_node, optimizer.weight_decay))
        grouped = [
            group.weight_decay for group in optimizer.groups
            if group.weight_decay is not None and group.weight_decay.may_be_positive and group.weight_decay.node is not None
        ]
        if grouped:
            # (a decay set in a param group is reported at the call of the optimizer it goes to:
            # a group helper may feed several, and the class is what changes)
            decays.append((optimizer.node, grouped[0]))
        fix = _fix(ctx, optimizer) if decays else None
        for node, decay in decays:
            found.setdefault(id(node), []).append((node, optimizer, decay, fix))
    for entries in found.values():
        node, _, decay, _ = entries[0]
        names = list(dict.fromkeys(optimizer.class_name for _, optimizer, _, _ in entries))
        hints = list(dict.fromkeys(_hint(optimizer) for _, optimizer, _, _ in entries))
        if len(entries) == 1:
            if node is entries[0][1].node and decay.node is not None:
                line = group_line(ctx.facts, decay)
                place = f" ({line})" if line else ""
                what = f"the {decay_text(decay)} of {names[0]}'s param group{place} is coupled L2"
            else:
                what = f"{names[0]}'s {decay_text(decay)} is coupled L2"
        else:
            what = f"this {decay_text(decay)} goes to {len(entries)} optimizers ({', '.join(names)}) and is coupled L2 in each"
        yield Report(
            node,
            f"{'; '.join(hints)}: {what}, so weights with large gradients barely decay",
            fix=_merged_fix([fix for _, _, _, fix in entries]),
        )


def _merged_fix(fixes: list[Optional[Fix]]) -> Optional[Fix]:
    """One fix for every optimizer a shared decay goes to; none unless each has one."""
    if not fixes or any(fix is None for fix in fixes):
        return None
    present = [fix for fix in fixes if fix is not None]
    if len(present) == 1:
        return present[0]
    edits_all = tuple(dict.fromkeys(edit for fix in present for edit in fix.edits))
    description = "; ".join(dict.fromkeys(fix.description for fix in present))
    return Fix(Applicability.UNSAFE, description, present[0].replacement, edits=edits_all)


# ----------------------------------------------------------------------------- the fix
#
# Unsafe: decoupled decay is a different regularizer (λ becomes a per-step shrink of lr·λ, so the
# value usually needs retuning). Adam -> AdamW keeping the file's spelling (optim.Adam ->
# optim.AdamW, a bare Adam -> AdamW with the import added only where AdamW is not there yet);
# NAdam/RAdam -> decoupled_weight_decay=True. Adamax, Adagrad and RMSprop have no decoupled mode:
# no fix.

_RETUNE = "λ now means a per-step shrink of lr·λ: retune it"


def _decoupled_arg(call: cst.Call, class_name: str) -> Optional[cst.BaseExpression]:
    """The value node of `decoupled_weight_decay`, given by keyword or position."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "decoupled_weight_decay":
            return arg.value
    spec = SPECS[class_name]
    if "decoupled_weight_decay" in spec.positional:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        index = 1 + spec.positional.index("decoupled_weight_decay")
        if len(positional) > index:
            return positional[index].value
    return None


def _add_keyword(module: cst.Module, call: cst.Call, text: str) -> Optional[Edit]:
    if not call.args:
        return None
    return edits.insert_after(module, call.args[-1], f", {text}")  # after `b=(1, 2)`, before its comma


def _fix(ctx: CheckContext, optimizer: OptimizerCall) -> Optional[Fix]:
    module = ctx.facts.module
    call = optimizer.node
    if optimizer.spec is None or optimizer.spec.library != "torch" or not optimizer.qualname.startswith("torch."):
        return None  # another library's optimizer, or a factory's: the message says what to pass
    if not isinstance(call, cst.Call) or any(a.star == "**" for a in call.args):
        return None  # **kwargs may already hold the argument we would add
    if optimizer.func_node is None:
        return None  # the class came as a value (`opt_cls(...)`): the call does not name it
    name = optimizer.class_name
    flag = _decoupled_arg(call, name) if name in ("Adam", "NAdam", "RAdam") else None
    if flag is not None:
        # decoupled_weight_decay=False written out: turn it on.
        return Fix(Applicability.UNSAFE, f"set decoupled_weight_decay=True ({_RETUNE})", "True", edits=(edits.replace(module, flag, "True"),))
    if name in ("NAdam", "RAdam"):
        edit = _add_keyword(module, call, "decoupled_weight_decay=True")
        if edit is None:
            return None
        return Fix(Applicability.UNSAFE, f"pass decoupled_weight_decay=True ({_RETUNE})", edit.replacement, edits=(edit,))
    if name != "Adam":
        return None
    rename = _to_adamw(module, call.func)
    if rename is None:
        return None
    found = list(rename)
    if optimizer.weight_decay_node is None:
        # Only param groups set a decay: keep the others at Adam's 0, not AdamW's default 1e-2.
        edit = _add_keyword(module, call, "weight_decay=0.0")
        if edit is None:
            return None
        found.append(edit)
    return Fix(Applicability.UNSAFE, f"use AdamW, whose weight decay is decoupled ({_RETUNE})", found[0].replacement, edits=tuple(found))


def _to_adamw(module: cst.Module, func: cst.BaseExpression) -> Optional[list[Edit]]:
    """The edits that make `func` name torch.optim.AdamW in the file's own style."""
    imports = ImportMap.of(module)
    if isinstance(func, cst.Attribute):
        owner = imports.qualify(func.value)
        if owner == "torch.optim":
            return [edits.replace(module, func.attr, "AdamW")]  # optim.Adam, torch.optim.Adam
        if owner == "torch.optim.adam" and isinstance(func.value, cst.Attribute) and imports.qualify(func.value.value) == "torch.optim":
            # torch.optim.adam.Adam -> torch.optim.AdamW
            return [edits.replace(module, func, f"{edits.bare_code(module, func.value.value)}.AdamW")]
        return None
    if not isinstance(func, cst.Name):
        return None
    found = [edits.replace(module, func, "AdamW")]
    bound = imports.aliases.get("AdamW")
    if bound in ("torch.optim.AdamW", "torch.optim.adamw.AdamW"):
        return found  # already imported
    if bound is not None or _name_used(module, "AdamW"):
        return None  # AdamW means something else here
    if "*torch.optim" in imports.aliases:
        return found  # `from torch.optim import *` brings it
    statement = _binding_import(module, func.value)
    if statement is None:
        return None
    line, node = statement
    if dotted(node.module) == "torch.optim" if node.module is not None else False:
        found.append(edits.replace(module, node, module.code_for_node(_with_alias(node, "AdamW"))))
    else:
        found.append(edits.insert_line_after(module, line, "from torch.optim import AdamW"))
    return found


def _name_used(module: cst.Module, name: str) -> bool:
    # (The code was rendered with the positions of the edit already made.)
    if re.search(rf"\b{re.escape(name)}\b", edits.code(module)) is None:
        return False  # the word is nowhere in the code: a walk of the tree cannot find it
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or node.value == name

    module.visit(Finder())
    return found


def _binding_import(module: cst.Module, local: str) -> Optional[tuple[cst.SimpleStatementLine, cst.ImportFrom]]:
    """The `from torch.optim[.adam] import Adam [as local]` statement that binds `local`."""
    result: list[tuple[cst.SimpleStatementLine, cst.ImportFrom]] = []

    class Finder(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            for small in node.body:
                if not isinstance(small, cst.ImportFrom) or small.relative or small.module is None:
                    continue
                if dotted(small.module) not in ("torch.optim", "torch.optim.adam") or isinstance(small.names, cst.ImportStar):
                    continue
                for alias in small.names:
                    bound = alias.asname.name if alias.asname is not None else alias.name
                    if isinstance(bound, cst.Name) and bound.value == local and not result:
                        result.append((node, small))
            return False

    module.visit(Finder())
    return result[0] if result else None


def _with_alias(node: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """`from torch.optim import Adam` -> `from torch.optim import Adam, AdamW`, keeping the layout
    of a parenthesized, one-name-per-line import."""
    assert not isinstance(node.names, cst.ImportStar)
    names = list(node.names)
    last = names[-1]
    if len(names) >= 2 and not isinstance(names[-2].comma, cst.MaybeSentinel):
        separator: cst.Comma = names[-2].comma  # type: ignore[assignment]
    elif node.lpar is not None and isinstance(node.lpar.whitespace_after, cst.ParenthesizedWhitespace):
        separator = cst.Comma(whitespace_after=node.lpar.whitespace_after)
    else:
        separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    trailing = last.comma
    names[-1] = last.with_changes(comma=separator)
    names.append(cst.ImportAlias(name=cst.Name(name), comma=trailing))
    return node.with_changes(names=names)
