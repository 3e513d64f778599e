"""Does a condition on a loop's parameter (or its name) keep every trainable parameter?

RL101 and RL202 only care whether a parameter set still holds biases and norm gains. A condition
that keeps everything trainable (`p.requires_grad`, `p.grad is not None`, or one that does not look
at the parameter at all) leaves the set unfiltered; any other test of the parameter or its name
(`p.ndim >= 2`, `"bias" not in name`, `name in decay`) is a deliberate selection, and the rules
then stay silent rather than guess what it selects.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from reglint.analysis.names import dotted

_KEEP_ALL_ATTRIBUTES = frozenset({"requires_grad", "is_leaf"})


class _NameFinder(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names
        self.found = False

    def visit_Name(self, name: cst.Name) -> None:
        if name.value in self.names:
            self.found = True


def _mentions(node: cst.CSTNode, names: set[str]) -> bool:
    finder = _NameFinder(names)
    node.visit(finder)
    return finder.found


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _is_bool(node: cst.BaseExpression, value: bool) -> bool:
    return isinstance(node, cst.Name) and node.value == ("True" if value else "False")


_KEEP_ALL_METHODS = frozenset({"is_floating_point"})


def _keep_all_atom(test: cst.BaseExpression, names: set[str], positive: bool) -> bool:
    """`p.requires_grad` and friends: true for every trainable parameter."""
    if isinstance(test, cst.Call) and not test.args and isinstance(test.func, cst.Attribute):
        return positive and test.func.attr.value in _KEEP_ALL_METHODS
    if isinstance(test, cst.Attribute) and test.attr.value in _KEEP_ALL_ATTRIBUTES:
        return positive and isinstance(test.value, cst.Name) and test.value.value in names
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comparison = test.comparisons[0]
        left, right = test.left, comparison.comparator
        operator = comparison.operator
        # p.grad is not None
        if isinstance(left, cst.Attribute) and left.attr.value == "grad" and _is_none(right):
            return positive == isinstance(operator, cst.IsNot)
        # p.requires_grad is True / == True / is False
        if isinstance(left, cst.Attribute) and left.attr.value in _KEEP_ALL_ATTRIBUTES:
            if isinstance(operator, (cst.Is, cst.Equal)):
                if _is_bool(right, True):
                    return positive
                if _is_bool(right, False):
                    return not positive
            if isinstance(operator, (cst.IsNot, cst.NotEqual)):
                if _is_bool(right, False):
                    return positive
                if _is_bool(right, True):
                    return not positive
    return False


def keeps_all(test: cst.BaseExpression, names: set[str], positive: bool = True) -> bool:
    if not _mentions(test, names):
        return True
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return keeps_all(test.expression, names, not positive)
    if isinstance(test, cst.BooleanOperation):
        conjunction = isinstance(test.operator, cst.And) == positive
        parts = (keeps_all(test.left, names, positive), keeps_all(test.right, names, positive))
        # positive `and` / negated `or`: every part must keep everything;
        # positive `or` / negated `and`: one part keeping everything suffices.
        return all(parts) if conjunction else any(parts)
    return _keep_all_atom(test, names, positive)


def condition_filter(test: cst.BaseExpression, names: set[str], positive: bool = True) -> Optional[str]:
    """None when the condition keeps every trainable parameter, else a description of the filter."""
    if keeps_all(test, names, positive):
        return None
    text = cst.Module(body=[]).code_for_node(test)
    return text if positive else f"not ({text})"


__all__ = ["condition_filter", "keeps_all", "dotted"]
