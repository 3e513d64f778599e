"""RL106 penalty-copies-parameters: the penalty concatenates every parameter first.

`torch.norm(torch.cat([p.view(-1) for p in model.parameters()]), 1)` allocates a copy of the whole
model every step (and keeps it for backward), for the same value Σ_p p.abs().sum() gives without
any copy.
"""

from __future__ import annotations

from typing import Iterator, Optional, Sequence, Union

import libcst as cst

from reglint.analysis.facts import L1, L2, L2_UNSQUARED, PenaltyTerm
from reglint.analysis.names import ImportMap
from reglint.catalog import RL106
from reglint.checks import edits
from reglint.checks.base import CheckContext, Report, static_rule
from reglint.model import Applicability, Edit, Fix

INFO = RL106  # code, name, severity, summary: reglint/catalog.py

VALID = (
    """
l1 = sum(p.abs().sum() for p in model.parameters() if p.ndim > 1)
loss = loss + 1e-5 * l1
""",
)

INVALID = (
    """
weights = torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1])  # expect: RL106
loss = loss + 1e-5 * torch.norm(weights, 1)
""",
)


@static_rule(INFO, valid=VALID, invalid=INVALID)
def check(ctx: CheckContext) -> Iterator[Report]:
    seen: set[int] = set()
    for _penalty, term in ctx.facts.penalty_terms():
        if term.flat_copy is None or id(term.flat_copy) in seen:
            continue
        seen.add(id(term.flat_copy))
        yield Report(
            term.flat_copy,
            "sum per parameter (`sum(f(p) for p in params)`): concatenating the parameters copies "
            "the whole model every step",
            fix=_fix(ctx, term),
        )


# ----------------------------------------------------------------------------- the fix
#
# `torch.norm(torch.cat([p.view(-1) for p in P]), 1)` -> `sum(p.abs().sum() for p in P)`, and the
# same for ‖cat‖₂² = Σ p.pow(2).sum() and ‖cat‖₂ = sqrt(Σ p.pow(2).sum()). Only where the whole
# pattern is one expression (or a variable that holds the cat and is used once, right after), and
# only for the shapes below: anything else (a mean, a dim, a cat kept for something else) gets no
# fix rather than a wrong one.

_FLATTEN_METHODS = {"view", "reshape", "flatten", "ravel", "contiguous"}
_CAT_NAMES = {"cat", "concat", "concatenate", "hstack"}


def _name_of(func: cst.BaseExpression) -> Optional[str]:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _plain_args(call: cst.Call) -> bool:
    return all(not a.star for a in call.args)


def _is_minus_one(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
        and node.expression.value == "1"
    )


def _is_number(node: cst.BaseExpression, value: float) -> bool:
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.value) == value
        except ValueError:
            return False
    return False


def _unflatten(element: cst.BaseExpression) -> cst.BaseExpression:
    """`p.view(-1)`, `p.reshape(-1)`, `p.flatten()`, `torch.flatten(p)`, `p.contiguous().view(-1)` -> p."""
    node = element
    while isinstance(node, cst.Call) and _plain_args(node) and not getattr(node, "lpar", None):
        func = node.func
        name = _name_of(func)
        if isinstance(func, cst.Attribute) and name in _FLATTEN_METHODS and not node.args:
            node = func.value
        elif isinstance(func, cst.Attribute) and name in ("view", "reshape") and len(node.args) == 1 and node.args[0].keyword is None and _is_minus_one(node.args[0].value):
            node = func.value
        elif name == "flatten" and len(node.args) == 1 and node.args[0].keyword is None:
            node = node.args[0].value  # torch.flatten(p)
        else:
            break
    return node


def _comprehension(flat: cst.CSTNode) -> Optional[Union[cst.ListComp, cst.GeneratorExp]]:
    """The `[p.view(-1) for p in P]` of `torch.cat([...])` (dim 0 at most), or None."""
    if not isinstance(flat, cst.Call) or _name_of(flat.func) not in _CAT_NAMES or not _plain_args(flat) or not flat.args:
        return None
    first, rest = flat.args[0], flat.args[1:]
    if first.keyword is not None and first.keyword.value != "tensors":
        return None
    for arg in rest:
        if arg.keyword is not None and arg.keyword.value not in ("dim", "axis"):
            return None
        if not _is_number(arg.value, 0):
            return None
    value = first.value
    if isinstance(value, (cst.ListComp, cst.GeneratorExp)):
        return value
    return None


def _method(node: cst.BaseExpression, name: str, nargs: int) -> Optional[cst.Call]:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == name and len(node.args) == nargs and _plain_args(node):
        return node
    return None


def _function(node: cst.BaseExpression, names: tuple[str, ...]) -> Optional[cst.Call]:
    """A call of a (torch) function by its last name: torch.sum(x), th.abs(x), abs(x)."""
    if isinstance(node, cst.Call) and _name_of(node.func) in names and node.args and _plain_args(node):
        if isinstance(node.func, cst.Attribute) or isinstance(node.func, cst.Name):
            return node
    return None


def _norm_order(args: Sequence[cst.Arg]) -> Optional[str]:
    """The kind of `norm(x, <args>)`: L1 for order 1, L2_UNSQUARED for none/2/'fro', else None."""
    order: Optional[cst.BaseExpression] = None
    for index, arg in enumerate(args):
        if arg.keyword is None and index == 0:
            order = arg.value
        elif arg.keyword is not None and arg.keyword.value in ("p", "ord"):
            order = arg.value
        else:
            return None  # dim, keepdim, dtype, out: not the norm of the whole vector
    if order is None or _is_number(order, 2) or (isinstance(order, cst.SimpleString) and order.evaluated_value == "fro"):
        return L2_UNSQUARED
    if _is_number(order, 1):
        return L1
    return None


class _Shape:
    """Matches the expression of a term against the norms of one operand (the cat, or its name)."""

    def __init__(self, is_operand):  # type: ignore[no-untyped-def]
        self.is_operand = is_operand

    def norm(self, node: cst.BaseExpression) -> Optional[str]:
        if not isinstance(node, cst.Call) or not _plain_args(node):
            return None
        func = node.func
        name = _name_of(func)
        if name not in ("norm", "vector_norm"):
            return None
        if isinstance(func, cst.Attribute) and self.is_operand(func.value) and name == "norm":
            return _norm_order(node.args)  # cat.norm(1)
        if node.args and node.args[0].keyword is None and self.is_operand(node.args[0].value):
            return _norm_order(node.args[1:])  # torch.norm(cat, 1), torch.linalg.vector_norm(cat)
        return None

    def elementwise(self, node: cst.BaseExpression) -> Optional[str]:
        """|x| -> L1, x² -> L2, of the operand."""
        call = _method(node, "abs", 0)
        if call is not None and self.is_operand(call.func.value):  # type: ignore[attr-defined]
            return L1
        call = _function(node, ("abs", "absolute"))
        if call is not None and len(call.args) == 1 and self.is_operand(call.args[0].value):
            return L1
        if self.square_of(node, self.is_operand):
            return L2
        return None

    def square_of(self, node: cst.BaseExpression, inner) -> bool:  # type: ignore[no-untyped-def]
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Power) and _is_number(node.right, 2):
            return bool(inner(node.left))
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
            return bool(inner(node.left)) and bool(inner(node.right)) and self.is_operand(node.left) and self.is_operand(node.right)
        call = _method(node, "pow", 1)
        if call is not None and _is_number(call.args[0].value, 2):
            return bool(inner(call.func.value))  # type: ignore[attr-defined]
        call = _method(node, "square", 0)
        if call is not None:
            return bool(inner(call.func.value))  # type: ignore[attr-defined]
        call = _function(node, ("square",))
        if call is not None and len(call.args) == 1:
            return bool(inner(call.args[0].value))
        call = _function(node, ("pow",))
        if call is not None and len(call.args) == 2 and _is_number(call.args[1].value, 2):
            return bool(inner(call.args[0].value))
        return False

    def summed(self, node: cst.BaseExpression) -> Optional[str]:
        """`X.sum()` / `torch.sum(X)` of |x| or x²."""
        call = _method(node, "sum", 0)
        if call is not None:
            return self.elementwise(call.func.value)  # type: ignore[attr-defined]
        call = _function(node, ("sum",))
        if call is not None and len(call.args) == 1 and isinstance(call.func, cst.Attribute):
            return self.elementwise(call.args[0].value)
        return None

    def kind(self, node: cst.BaseExpression) -> Optional[str]:
        found = self.norm(node) or self.summed(node)
        if found is not None:
            return found
        # ‖x‖² written as the square of a norm
        if self.square_of(node, lambda n: self.norm(n) == L2_UNSQUARED):
            return L2
        # sqrt of a sum of squares
        inner: Optional[cst.BaseExpression] = None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Power) and _is_number(node.right, 0.5):
            inner = node.left
        elif _method(node, "sqrt", 0) is not None:
            inner = node.func.value  # type: ignore[attr-defined]
        elif _method(node, "pow", 1) is not None and _is_number(node.args[0].value, 0.5):  # type: ignore[attr-defined]
            inner = node.func.value  # type: ignore[attr-defined]
        elif _function(node, ("sqrt",)) is not None and len(node.args) == 1:  # type: ignore[attr-defined]
            inner = node.args[0].value  # type: ignore[attr-defined]
        if inner is not None and self.summed(inner) == L2:
            return L2_UNSQUARED
        return None


def _names(root: cst.CSTNode) -> list[cst.Name]:
    out: list[cst.Name] = []

    class Collector(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            out.append(node)

    root.visit(Collector())
    return out


def _body_of(module: cst.Module, statement: cst.CSTNode) -> Optional[tuple[list[cst.CSTNode], int]]:
    """The statement list holding `statement` (a module or an indented block) and its index."""
    holder = edits.parent(module, statement)
    body = holder.body if isinstance(holder, (cst.Module, cst.IndentedBlock)) else None
    if body is None:
        return None
    for index, item in enumerate(body):
        if item is statement:
            return list(body), index
    return None


def _statement_of(module: cst.Module, node: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The statement line or compound statement that holds `node`."""
    current: Optional[cst.CSTNode] = node
    while current is not None and not isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        current = edits.parent(module, current)
    return current


def _target(module: cst.Module, start: cst.CSTNode, shape: "_Shape", kind: str) -> Optional[cst.BaseExpression]:
    """The largest expression around `start` (the cat, or the one use of its variable) that is a
    norm of it of the analysed kind: `torch.norm(cat, 1)`, `cat.pow(2).sum()`, ..."""
    best: Optional[cst.BaseExpression] = None
    current: Optional[cst.CSTNode] = start
    for _ in range(12):
        current = edits.parent(module, current) if current is not None else None
        if current is None or isinstance(current, (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.SimpleStatementLine, cst.Lambda)):
            break
        if isinstance(current, cst.BaseExpression) and shape.kind(current) == kind:
            best = current
    return best


def _bound_cat(module: cst.Module, flat: cst.CSTNode) -> Optional[tuple[cst.Name, cst.SimpleStatementLine]]:
    """`name = torch.cat(...)` alone on its line, with `name` used exactly once more: that use."""
    assign = edits.parent(module, flat)
    if not isinstance(assign, cst.Assign) or assign.value is not flat or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    if not isinstance(target, cst.Name):
        return None
    line = edits.parent(module, assign)
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    uses = [n for n in _names(module) if n.value == target.value]
    if len(uses) != 2 or not any(n is target for n in uses):
        return None
    use = next(n for n in uses if n is not target)
    if getattr(use, "lpar", None):
        return None
    return use, line


def _inlinable(module: cst.Module, flat: cst.CSTNode, line: cst.SimpleStatementLine, expression: cst.CSTNode) -> bool:
    """The statement computing `expression` comes after `line` in the same block, with nothing in
    between that calls anything or touches the names the comprehension reads: the cat can move
    into it (evaluated at the same point, on the same parameters)."""
    found = _body_of(module, line)
    statement = _statement_of(module, expression)
    if found is None or not isinstance(statement, cst.SimpleStatementLine):
        return False
    body, index = found
    later = next((i for i in range(index + 1, len(body)) if body[i] is statement), None)
    if later is None:
        return False
    read = {n.value for n in _names(flat)}
    return not any(_has_call(between) or read & {n.value for n in _names(between)} for between in body[index + 1 : later])


def _has_call(root: cst.CSTNode) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            nonlocal found
            found = True
            return False

    root.visit(Finder())
    return found


def _fix(ctx: CheckContext, term: PenaltyTerm) -> Optional[Fix]:
    module = ctx.facts.module
    flat = term.flat_copy
    if flat is None or flat is term.node:
        return None  # (the copy is made by another module's code: this file holds only the call)
    comprehension = _comprehension(flat)
    if comprehension is None:
        return None
    imports = ImportMap.of(module)
    if "sum" in imports.aliases or any(k.startswith("*") for k in imports.aliases):
        return None  # `sum` may not be the builtin
    # The norm to rewrite: around the cat itself, or around the one use of the variable holding
    # it. (It may sit in a helper function whose call is where the term is reported.)
    kind = term.kind
    bound = _bound_cat(module, flat)
    if bound is None:
        target = _target(module, flat, _Shape(lambda n: n is flat), kind)
    else:
        use, line = bound
        target = _target(module, use, _Shape(lambda n: n is use), kind)
        if target is not None and not _inlinable(module, flat, line, target):
            return None
    if target is None:
        return None
    base = _unflatten(comprehension.elt)
    if not edits.is_atomic(base):
        base = base.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])  # type: ignore[attr-defined]
    reduction = "abs" if kind == L1 else "pow"
    per_param = cst.Call(
        func=cst.Attribute(
            value=cst.Call(
                func=cst.Attribute(value=base, attr=cst.Name(reduction)),  # type: ignore[arg-type]
                args=[] if kind == L1 else [cst.Arg(cst.Integer("2"))],
            ),
            attr=cst.Name("sum"),
        )
    )
    total: cst.BaseExpression = cst.Call(func=cst.Name("sum"), args=[cst.Arg(cst.GeneratorExp(elt=per_param, for_in=comprehension.for_in, lpar=[], rpar=[]))])
    applicability = Applicability.SAFE
    description = {L1: "sum |p| per parameter instead of over a copy", L2: "sum p² per parameter instead of over a copy"}.get(kind, "")
    if kind == L2_UNSQUARED:
        total = cst.Call(func=cst.Attribute(value=total, attr=cst.Name("sqrt")))
        # Same value and the same gradient, except where every parameter is 0: there
        # sqrt's gradient is NaN and the norm's is 0.
        applicability = Applicability.UNSAFE
        description = "take the sqrt of a per-parameter sum of p² instead of the norm of a copy (NaN gradient if all weights are 0)"
    text = module.code_for_node(total)
    found: list[Edit] = []
    if bound is not None:
        found.append(edits.delete_lines(module, bound[1]))
    found.append(edits.replace(module, target, text))
    return Fix(applicability, description, text, edits=tuple(found))
