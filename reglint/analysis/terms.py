"""Recognizing penalty terms: which expressions of a parameter are an L1, L2 or unsquared norm.

    p.abs().sum(), torch.sum(torch.abs(p)), torch.norm(p, 1)              -> L1
    p.pow(2).sum(), (p ** 2).sum(), torch.square(p).sum(), torch.norm(p)**2 -> L2 (squared)
    torch.norm(p), p.norm(2), torch.linalg.norm(p), vector_norm(p)        -> unsquared L2
    p.pow(2).sum().sqrt(), torch.sqrt((p ** 2).sum())                      -> unsquared L2, NaN at 0
    torch.norm(p, q), torch.norm(p, q) ** q, p.norm(3)                    -> Lp: an order other than
                                                                             1 and 2, or one only the
                                                                             config knows

A norm over a dimension (`dim=`) is a group norm, not a penalty on the whole tensor: left alone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Optional, Sequence, Union

import libcst as cst

from reglint.analysis.facts import L1, L2, L2_UNSQUARED, LP, ParamSet, PenaltyTerm
from reglint.analysis.syntax import is_none_literal
from reglint.analysis.values import (
    UNKNOWN,
    Elementwise,
    Flat,
    Num,
    Param,
    PenaltyRef,
    RowNorms,
    Str,
    Terms,
    Value,
)
from reglint.analysis.vocabulary import DIM_KEYWORDS

if TYPE_CHECKING:
    from reglint.analysis.interpreter import FileAnalyzer, Frame
    from reglint.analysis.state import PenaltyRecord


def _anchored(base: Value) -> bool:
    return isinstance(base, (Param, Flat)) and base.anchored


def _origin(base: Value) -> tuple[Optional[ParamSet], Optional[str], Optional[cst.CSTNode]]:
    if isinstance(base, Param):
        return base.pset, base.gradless, None
    if isinstance(base, Flat):
        return base.pset, base.gradless, base.node
    return None, None, None


def _term(
    node: cst.CSTNode,
    kind: str,
    base: Value,
    frame: "Frame",
    analyzer: "FileAnalyzer",
    squarable: bool = False,
) -> Terms:
    pset, gradless, flat = _origin(base)
    given_here = isinstance(base, Param) and pset is None and base.taken_here
    gradless_at = None
    if gradless is None and frame.no_grad:
        gradless, gradless_at = frame.no_grad_what, frame.no_grad_call
    written = node
    if analyzer.foreign:
        # Built by another module's code: placed at the linted module's call, with no fix (the
        # text to edit is not in this file); a copy it makes is reported at that call too.
        node, squarable = analyzer.here(node), False
        flat = node if flat is not None else None
    term = PenaltyTerm(
        node=node,
        kind=kind,
        param_set=pset,
        gradless=gradless,
        gradless_at=gradless_at,
        anchored=_anchored(base),
        flat_copy=flat,
        squarable=squarable,
        written=written,
        given_here=given_here,
        walked_at=base.walked_at if isinstance(base, Param) else None,
    )
    return Terms((term,))


def reduce(
    elementwise: Elementwise, node: cst.CSTNode, frame: "Frame", analyzer: "FileAnalyzer", mean: bool = False
) -> Value:
    """`.sum()` / `.mean()` of |w| or w²."""
    if not isinstance(elementwise.base, (Param, Flat)):
        return UNKNOWN
    found = _term(node, L1 if elementwise.op == "abs" else L2, elementwise.base, frame, analyzer)
    if mean or elementwise.averaged:
        return Terms(tuple(replace(t, averaged=True) for t in found.terms))
    return found


def _as_run(order: Optional[Value]) -> Optional[float]:
    """A norm's order as a plain run computes it: the number, an argument's declared default,
    or the literal a parameter declares as its default where its function runs with no call in
    sight (`def l2_reg(model, p=2)`: interpreter.bind_arguments gives it the default's node)."""
    if not isinstance(order, Num):
        return None
    if order.as_run is not None:
        return order.as_run
    if isinstance(order.node, (cst.Integer, cst.Float)):
        try:
            return float(order.node.value.replace("_", ""))
        except ValueError:
            return None
    return None


def norm_term(
    node: cst.Call,
    base: Union[Param, Flat],
    args: Sequence[cst.Arg],
    frame: "Frame",
    analyzer: "FileAnalyzer",
    tensor_first: bool,
    matrix_orders: bool = False,
) -> Value:
    """torch.norm(p, ...), p.norm(...), torch.linalg.norm / vector_norm: `args` follow the tensor.
    `matrix_orders`: torch.linalg.norm, where an order given for a 2-D tensor names a matrix
    norm (ord=2 its largest singular value, ord=1 its largest column sum, 'nuc' the sum of its
    singular values), none of them a penalty on each weight: only no order, or 'fro', is the
    entrywise L2 norm there."""
    order: Optional[Value] = None
    order_written: Optional[cst.BaseExpression] = None
    over_dimensions: Optional[int] = None  # how many dimensions a `dim` names (0: not told)
    for index, arg in enumerate(args):
        if arg.keyword is None and not arg.star:
            if index == 0:
                order, order_written = analyzer.ev(arg.value, frame), arg.value
            elif not is_none_literal(arg.value):
                over_dimensions = _dimensions(arg.value)  # positional dim
        elif arg.keyword is not None:
            key = arg.keyword.value
            if key in ("p", "ord"):
                order, order_written = analyzer.ev(arg.value, frame), arg.value
            elif key == "dim" and not is_none_literal(arg.value):
                over_dimensions = _dimensions(arg.value)
        else:
            return UNKNOWN
    as_run = _as_run(order)
    two = isinstance(order, Num) and as_run == 2 and order.text != "None"
    if over_dimensions is not None:
        # Norms along one dimension: no term, but their squares sum to one (RowNorms). (Over two,
        # an order of torch.linalg.norm names a matrix norm.)
        return RowNorms(base) if order is None or (two and (over_dimensions == 1 or not matrix_orders)) else UNKNOWN
    frobenius = order is None or (isinstance(order, Num) and order.text == "None") or order == Str("fro")
    if matrix_orders and not frobenius and not isinstance(base, Flat):
        return UNKNOWN  # (a concatenation is one vector: its orders are a vector's)
    if (
        order is None
        or two
        or (isinstance(order, Str) and order.value == "fro")
    ):
        # (squaring an order read from a name would square the norm of every order it takes)
        literal = order_written is None or isinstance(order_written, (cst.Integer, cst.Float, cst.SimpleString))
        return _term(node, L2_UNSQUARED, base, frame, analyzer, squarable=literal)
    if isinstance(order, Num) and order.text == "None":
        return _term(node, L2_UNSQUARED, base, frame, analyzer, squarable=True)
    if as_run == 1:
        return _term(node, L1, base, frame, analyzer)
    if isinstance(order, Str) or (as_run is not None and as_run <= 0):
        return UNKNOWN  # a matrix norm ('nuc'), or not a norm (0 counts the nonzero values)
    # Another order, or one only the configuration knows (`torch.norm(p, cfg.p)`): still a norm of
    # the whole tensor, a penalty of some order.
    return _term(node, LP, base, frame, analyzer)


def power(value: Value, exponent: Value, node: cst.CSTNode) -> Optional[Value]:
    """`torch.norm(p, q) ** q`, `p.norm(q).pow(k)`: a power of an Lp norm is an Lp penalty (the
    usual ||w||_p^p); so is a power the analysis cannot tell of the L2 norm. Squares and square
    roots are square() and sqrt()."""
    if not isinstance(value, Terms) or not value.terms:
        return None
    squared_l1 = _l1_powered(value, node)
    if squared_l1 is not None:
        return squared_l1
    if all(t.kind == LP for t in value.terms) or (
        all(t.kind == L2_UNSQUARED for t in value.terms) and not isinstance(exponent, Num)
    ):
        return Terms(
            tuple(replace(t, kind=LP, node=node, sqrt_form=False, squarable=False) for t in value.terms),
            value.per_element,
        )
    return None


def _l1_powered(value: Value, node: cst.CSTNode) -> Optional[Value]:
    """`torch.norm(p, 1) ** 2`: a power of the L1 norm (the squared L1 of exclusive lasso) is
    still an L1-type penalty of the whole tensor, with the L1 norm's kink at 0."""
    if isinstance(value, Terms) and value.terms and all(t.kind == L1 for t in value.terms):
        return Terms(tuple(replace(t, node=node) for t in value.terms), value.per_element)
    return None


def _dimensions(node: cst.BaseExpression) -> int:
    """How many dimensions a `dim` argument names: 1 for a number, the length of a tuple or list
    display, 0 for anything else (`dim=d` may be either)."""
    if isinstance(node, (cst.Integer, cst.UnaryOperation)):
        return 1
    if isinstance(node, (cst.Tuple, cst.List)):
        return len(node.elements)
    return 0


def over_dimensions(node: cst.Call) -> bool:
    """`.mean(dim=-1)`, `.sum(axis=1)`: a reduction over some dimensions (DIM_KEYWORDS), no term."""
    return any(
        argument.keyword is not None and argument.keyword.value in DIM_KEYWORDS and not is_none_literal(argument.value)
        for argument in node.args
    )


def square(value: Value, node: cst.CSTNode) -> Optional[Value]:
    """`x ** 2`, `x.pow(2)`, `torch.square(x)`."""
    if isinstance(value, (Param, Flat)):
        return Elementwise(value, "sq")
    if isinstance(value, RowNorms):
        return Elementwise(value.base, "sq")  # Σ_rows ‖w_row‖² = Σ w²
    squared_l1 = _l1_powered(value, node)
    if squared_l1 is not None:
        return squared_l1
    if (
        isinstance(value, Terms)
        and value.terms
        and all(t.kind == L2_UNSQUARED for t in value.terms)
    ):
        return Terms(
            tuple(
                replace(t, kind=L2, node=node, sqrt_form=False, squarable=False)
                for t in value.terms
            ),
            value.per_element,
        )
    return None


def sqrt(value: Value, node: cst.CSTNode, records: Sequence["PenaltyRecord"] = ()) -> Optional[Value]:
    """`sqrt` of a sum of squares is the unsquared norm, with a NaN gradient at w = 0: of one
    parameter's (`p.pow(2).sum().sqrt()`), or of a sum over parameters already bound to a value
    (`torch.sqrt(sum(p.pow(2).sum() for p in ...))`, `sq.sqrt()`, `reg ** 0.5`): the global L2
    norm. The bound sum itself is left as it is (it may also be used squared elsewhere)."""
    if isinstance(value, Terms) and value.terms and all(t.kind == L2 for t in value.terms):
        return Terms(
            tuple(replace(t, kind=L2_UNSQUARED, node=node, sqrt_form=True) for t in value.terms),
            value.per_element,
        )
    if isinstance(value, PenaltyRef) and 0 <= value.pid < len(records):
        terms = records[value.pid].terms
        if terms and all(t.kind == L2 for t in terms):
            return Terms(tuple(replace(t, kind=L2_UNSQUARED, node=node, sqrt_form=True) for t in terms))
    return None


def gradless(value: Terms, reason: str) -> Terms:
    return Terms(
        tuple(replace(t, gradless=t.gradless or reason) for t in value.terms), value.per_element
    )
