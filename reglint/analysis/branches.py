"""Branches an argument decides: `if kind == "adam":` in a factory the file calls with "sgd".

The interpreter runs both branches of an `if` (it cannot tell which runs), so a factory such as

    def make_optimizer(params, kind="adam", **kw):
        if kind == "adam":
            return torch.optim.Adam(params, **kw)
        return torch.optim.SGD(params, **kw)

returned Adam to every caller, and a penalty trained by `make_optimizer(actor.parameters(),
"sgd")` was reported as trained by Adam. A test is decided here only where nothing else can
change its answer: it compares a parameter of the function being inlined, which the call gave a
value or left at its default and which the body never assigns, with literals (`==`, `!=`, `in`,
`not in`, the parameter optionally `.lower()`-ed or `.upper()`-ed). Run on its own, a function
decides nothing: its parameters could be anything.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional, Union

import libcst as cst

from reglint.analysis.expressions import string_value
from reglint.analysis.names import dotted
from reglint.analysis.state import Frame
from reglint.analysis.syntax import mentions_any
from reglint.analysis.values import ListVal, Num, Param, ParamIter, Str, TupleVal

Constant = Union[str, float]

# What `isinstance(x, nn.Parameter)` tests.
PARAMETER_CLASSES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})


def branch_taken(test: cst.BaseExpression, frame: Frame) -> Optional[bool]:
    """True or False where the call decides `test`; None where it does not."""
    if not (frame.given or frame.fixed):
        return None
    truth = _truth_of_an_argument(test, frame)
    if truth is not None:
        return truth
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    comparison = test.comparisons[0]
    operator = comparison.operator
    if type(operator) in _ORDERS:
        return _ordered(test.left, operator, comparison.comparator, frame)
    if not isinstance(operator, (cst.Equal, cst.NotEqual, cst.In, cst.NotIn)):
        return None
    argument = _argument(test.left, frame)
    literal = comparison.comparator
    if argument is None and isinstance(operator, (cst.Equal, cst.NotEqual)):
        argument, literal = _argument(comparison.comparator, frame), test.left
    if argument is None:
        return None
    if isinstance(operator, (cst.Equal, cst.NotEqual)):
        single = _literal(literal)
        if single is None:
            return None
        equal = argument == single
        return equal if isinstance(operator, cst.Equal) else not equal
    if not isinstance(literal, (cst.Tuple, cst.List, cst.Set)):
        return None
    options = [_literal(element.value) for element in literal.elements]
    if any(option is None or isinstance(element, cst.StarredElement) for option, element in zip(options, literal.elements)):
        return None
    inside = argument in options
    return inside if isinstance(operator, cst.In) else not inside


# `a OP b` for the numeric comparisons, and the same test with its sides swapped.
_ORDERS: dict[type, tuple[Callable[[float, float], bool], Callable[[float, float], bool]]] = {
    cst.GreaterThan: (lambda a, b: a > b, lambda a, b: a < b),
    cst.GreaterThanEqual: (lambda a, b: a >= b, lambda a, b: a <= b),
    cst.LessThan: (lambda a, b: a < b, lambda a, b: a > b),
    cst.LessThanEqual: (lambda a, b: a <= b, lambda a, b: a >= b),
}


def _truth_of_an_argument(test: cst.BaseExpression, frame: Frame) -> Optional[bool]:
    """`if squared:` / `if not require_pow:` of a parameter the call sets to a constant (or leaves
    at its default): a switch between two forms of a penalty (RecBole's EmbLoss)."""
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        negated, test = not negated, test.expression
    if not isinstance(test, cst.Name):
        return None
    constant = _argument(test, frame)
    if constant is None:
        return None
    return bool(constant) != negated


def _ordered(left: cst.BaseExpression, operator: cst.BaseCompOp, right: cst.BaseExpression, frame: Frame) -> Optional[bool]:
    """`l1 > 0`, `0 < weight`: a number the pass fixes (Frame.fixed) against a literal number."""
    test, swapped = _ORDERS[type(operator)]
    number, literal = _fixed(left, frame), _literal(right)
    if number is None:
        number, literal, test = _fixed(right, frame), _literal(left), swapped
    if number is None or not isinstance(literal, float):
        return None
    return test(number, literal)


def _fixed(node: cst.BaseExpression, frame: Frame) -> Optional[float]:
    return frame.fixed.get(node.value) if isinstance(node, cst.Name) else None


def _argument(node: cst.BaseExpression, frame: Frame) -> Optional[Constant]:
    """The constant a given, never reassigned parameter holds (`kind`, `kind.lower()`), a number
    the pass of a loop over records fixes, or a string held by a name the function assigns once,
    at its top level, or by an attribute (`learner = self.learner.lower()`, `self.learner`: RecBole's
    trainer, whose config names the optimizer)."""
    fixed = _fixed(node, frame)
    if fixed is not None:
        return fixed
    case: Optional[str] = None
    if (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("lower", "upper")
    ):
        case, node = node.func.attr.value, node.func.value
    held = _held_string(node, frame)
    if held is not None:
        return _cased(held, case)
    if not isinstance(node, cst.Name) or node.value not in frame.given or node.value not in frame.env:
        return None
    value = frame.env[node.value]
    if isinstance(value, Str):
        constant: Constant = _cased(value.value, case)
    elif isinstance(value, Num) and value.value is not None and case is None:
        constant = value.value
    else:
        return None
    if frame.code is None or _assigned(frame.code, node.value):
        return None
    return constant


def _cased(text: str, case: Optional[str]) -> str:
    return text.lower() if case == "lower" else text.upper() if case == "upper" else text


def _held_string(node: cst.BaseExpression, frame: Frame) -> Optional[str]:
    """The string an attribute (`self.learner`) or a local name assigned once, by a statement of
    the function's own body, holds (`learner = cfg["optimizer"].lower()`)."""
    if isinstance(node, cst.Attribute):
        text = dotted(node)
        value = frame.lookup(text) if text is not None else None
        return value.value if isinstance(value, Str) else None
    if not isinstance(node, cst.Name) or node.value in frame.given or frame.code is None:
        return None
    value = frame.env.get(node.value)
    if not isinstance(value, Str) or not _assigned_once_at_top(frame.code, node.value):
        return None
    return value.value


@functools.lru_cache(maxsize=256)
def _assigned_once_at_top(function: cst.CSTNode, name: str) -> bool:
    """Is `name` stored exactly once in `function`, by a plain assignment among the statements of
    its own body (not in a branch or a loop)?"""
    if not isinstance(function, cst.FunctionDef) or not isinstance(function.body, cst.IndentedBlock):
        return False
    stores = [target for target in _targets(function) if mentions_any(target, {name})]
    if len(stores) != 1:
        return False
    return any(
        isinstance(statement, cst.SimpleStatementLine)
        and any(
            isinstance(small, cst.Assign) and any(target.target is stores[0] for target in small.targets)
            for small in statement.body
        )
        for statement in function.body.body
    )


def _literal(node: cst.BaseExpression) -> Optional[Constant]:
    if isinstance(node, cst.SimpleString):
        return string_value(node)
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.evaluated_value)
        except (ValueError, OverflowError):
            return None
    return None


@functools.lru_cache(maxsize=256)
def _assigned(function: cst.CSTNode, name: str) -> bool:
    """Does the body store into `name` anywhere (an assignment, a loop or `with` target, `:=`,
    `global`, `del`)? (A store into `x.name` or `name[i]` counts too: a guess is not needed.)"""
    return any(mentions_any(target, {name}) for target in _targets(function))


def _targets(function: cst.CSTNode) -> list[cst.CSTNode]:
    collector = _TargetCollector()
    function.visit(collector)
    return collector.targets


class _TargetCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.targets: list[cst.CSTNode] = []

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.targets.append(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.targets.append(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.targets.append(node.target)

    def visit_For(self, node: cst.For) -> None:
        self.targets.append(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.targets.append(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self.targets.append(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.targets.append(node.target)

    def visit_Global(self, node: cst.Global) -> None:
        self.targets.extend(item.name for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.targets.extend(item.name for item in node.names)

    def visit_Del(self, node: cst.Del) -> None:
        self.targets.append(node.target)


def parameter_test_taken(
    test: cst.BaseExpression, frame: Frame, qualify: Callable[[cst.BaseExpression], Optional[str]]
) -> Optional[bool]:
    """`isinstance(x, C)` (or its negation) where the value of `x` settles it: a collection of
    parameters is no `nn.Parameter`, and a parameter is no tuple, list, dict, string or number.
    DeepCTR's `add_regularization_weight(self.dnn.parameters(), l2=...)` wraps a single Parameter
    in a list and takes `list(...)` of anything else, and its penalty loop reads `w[1] if
    isinstance(w, tuple) else w` (a `named_parameters()` pair): given parameters, one branch runs.
    (A tensor value is not decided against nn.Parameter: `.data` of a parameter is no Parameter.)"""
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        negated, test = not negated, test.expression
    if not (
        isinstance(test, cst.Call)
        and isinstance(test.func, cst.Name)
        and test.func.value == "isinstance"
        and len(test.args) == 2
        and all(argument.keyword is None and not argument.star for argument in test.args)
    ):
        return None
    subject, classes = test.args[0].value, test.args[1].value
    if not isinstance(subject, cst.Name):
        return None
    listed = [element.value for element in classes.elements] if isinstance(classes, cst.Tuple) else [classes]
    if not listed or any(not isinstance(c, (cst.Name, cst.Attribute)) for c in listed):
        return None
    value = frame.env.get(subject.value)
    if isinstance(value, (ParamIter, ListVal, TupleVal)):
        if not all(qualify(c) in PARAMETER_CLASSES for c in listed):
            return None
    elif isinstance(value, Param):
        if not all(isinstance(c, cst.Name) and c.value in _NOT_A_TENSOR and c.value not in frame.env for c in listed):
            return None
    else:
        return None
    return negated


# Builtin types no parameter is an instance of.
_NOT_A_TENSOR = frozenset({"tuple", "list", "dict", "set", "str", "int", "float", "bool"})


def fixed_by_record(target: cst.BaseExpression, frame: Frame, body: cst.CSTNode) -> dict[str, float]:
    """The names a loop's target binds to known numbers for this pass (`for weights, l1, l2 in
    self.records`, after the target is bound), leaving out any the loop's body assigns."""
    elements = target.elements if isinstance(target, (cst.Tuple, cst.List)) else ()
    names = [target.value] if isinstance(target, cst.Name) else [
        element.value.value for element in elements if isinstance(element.value, cst.Name)
    ]
    fixed: dict[str, float] = {}
    for name in names:
        value = frame.env.get(name)
        if isinstance(value, Num) and value.value is not None and not _assigned(body, name):
            fixed[name] = float(value.value)
    return fixed
