"""RL102 unsquared-l2-norm: an "L2" penalty built from a norm that is not squared.

d/dw λ‖w‖ = λ·w/‖w‖: a pull of constant size λ toward 0, whatever ‖w‖ is, where weight decay
(d/dw λ/2·‖w‖² = λ·w) shrinks w in proportion. The sqrt(sum of squares) spellings also give a NaN
gradient when w = 0.
"""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from reglint.analysis.facts import L2_UNSQUARED, Penalty, PenaltyTerm
from reglint.analysis.names import callee_name
from reglint.catalog import RL102
from reglint.checks import edits
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.model import Applicability, Fix

INFO = RL102  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
reg = sum(p.pow(2).sum() for p in model.parameters() if p.dim() > 1)
loss = loss + lam * reg
""",
    """
l2 = sum(torch.norm(w, 2) ** 2 for w in [model.fc.weight])
loss = loss + 1e-4 * l2
""",
    """
total_norm = torch.norm(torch.stack([torch.norm(p.grad) for p in model.parameters()]))
print(total_norm)
""",
    """
group_lasso = sum(torch.norm(w, dim=0).sum() for w in [model.fc.weight])
loss = loss + 1e-3 * group_lasso
""",
)

INVALID = (
    """
l2_reg = torch.tensor(0.)
for name, param in model.named_parameters():
    if "weight" in name:
        l2_reg += torch.norm(param, 2)  # expect: RL102
loss = loss + 1e-4 * l2_reg
""",
    """
loss = criterion(out, y) + 1e-4 * model.fc.weight.norm()  # expect: RL102
""",
    """
reg = torch.sqrt((model.fc.weight ** 2).sum())  # expect: RL102
loss = loss + lam * reg
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    for penalty, term in ctx.facts.penalty_terms():
        if term.kind != L2_UNSQUARED:
            continue
        if term.gradless is not None:
            continue  # no gradient at all, squared or not: RL103's finding (TransRec's detached rows)
        if term.anchored:
            # a proximal term (FedProx's μ/2·‖w − w₀‖²): unsquared, its pull has the same size at
            # any distance, and none of the usual analysis of the method holds
            norm = "‖w − w₀‖"
            detail = f"whose gradient λ·(w − w₀)/{norm} pulls as hard at any distance from the anchor" + (
                ", and is NaN at w = w₀" if term.sqrt_form else ""
            )
        elif term.sqrt_form:
            norm, detail = "‖w‖", "whose gradient λ·w/‖w‖ is NaN at w = 0"
        else:
            norm, detail = "‖w‖", "whose gradient λ·w/‖w‖ is not weight decay"
        yield Report(term.node, f"square the norm: {_norm_code(ctx, penalty, term)} is {norm}, {detail}", fix=_fix(ctx, term))


def _norm_code(ctx: CheckContext, penalty: Penalty, term: PenaltyTerm) -> str:
    """The norm as written: here, or in the other module whose code computes it over what this
    file hands it (`u.norm(2)` (model.py:27), reported at `self.model.regularization(embs)`)."""
    elsewhere = ctx.facts.written_elsewhere(penalty, term)
    if elsewhere is not None:
        module, written, place = elsewhere
        return f"`{ctx.facts.code(written, module)}` ({place})"
    return f"`{ctx.facts.code(term.node)}`"


def _sqrt_operand(node: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """X of `torch.sqrt(X)`, `X.sqrt()`, `X ** 0.5`, `X.pow(0.5)`; None for any other shape
    (a helper call reported at its call site, say)."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Power):
        return node.left
    if not isinstance(node, cst.Call) or any(a.star or a.keyword is not None for a in node.args):
        return None
    func = node.func
    name = callee_name(node)
    if name == "sqrt" and len(node.args) == 1:
        return node.args[0].value  # torch.sqrt(X)
    if name == "sqrt" and not node.args and isinstance(func, cst.Attribute):
        return func.value  # X.sqrt()
    if name == "pow" and len(node.args) == 1 and isinstance(func, cst.Attribute):
        return func.value  # X.pow(0.5)
    return None


def _fix(ctx: CheckContext, term: PenaltyTerm) -> Optional[Fix]:
    """Square the norm in place (`torch.norm(p, 2)` -> `torch.norm(p, 2) ** 2`), or drop the sqrt
    of a sum of squares (`torch.sqrt((p ** 2).sum())` -> `(p ** 2).sum()`). Unsafe: it changes the
    penalty's value and gradient on purpose (λ then scales ‖w‖²)."""
    module = ctx.facts.module
    node = term.node
    if term.sqrt_form:
        inner = _sqrt_operand(node)
        if inner is None:
            return None  # squaring a sqrt keeps its NaN gradient at w = 0: no fix
        text = module.code_for_node(inner)
        if not edits.is_atomic(inner) and not edits.in_open_context(module, node):
            text = f"({text})"
        return Fix(Applicability.UNSAFE, "drop the square root: penalize Σw² (gradient 2w, no NaN at w = 0)", text)
    if not term.squarable:
        return None
    text = f"{edits.bare_code(module, node)} ** 2"
    if edits.is_power_operand(module, node):
        text = f"({text})"
    return Fix(Applicability.UNSAFE, "square the norm: ‖w‖² has the gradient 2w of weight decay", text)
