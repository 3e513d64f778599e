"""Does a condition on a loop's parameter (or its name) keep every trainable parameter?

RL101 and RL202 only care whether a parameter set still holds biases and norm gains. A condition
that keeps everything trainable (`p.requires_grad`, `p.grad is not None`, or one that does not look
at the parameter at all), or that chooses whole modules by name (`"backbone" not in n`), leaves the
set unfiltered; any other test of the parameter or its name
(`p.ndim >= 2`, `"bias" not in name`, `name in decay`) is a deliberate selection, and the rules
then stay silent rather than guess what it selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from reglint.analysis.names import dotted
from reglint.analysis.syntax import is_none_literal
from reglint.analysis.vocabulary import (
    EMBEDDING_PART,
    LAYER_CLASS_NAME,
    MODULE_PART_WORDS,
    NOT_PART_COLLECTION_WORDS,
    PART_COLLECTION_WORDS,
)
from reglint.analysis.walk import reads_name

_KEEP_ALL_ATTRIBUTES = frozenset({"requires_grad", "is_leaf"})


def _is_bool(node: cst.BaseExpression, value: bool) -> bool:
    return isinstance(node, cst.Name) and node.value == ("True" if value else "False")


_KEEP_ALL_METHODS = frozenset({"is_floating_point"})


def _chooses_modules(test: cst.BaseExpression, names: set[str], positive: bool) -> bool:
    """`"backbone" in n`, `"head" not in name`, `n.startswith("encoder")`: a choice of whole
    modules by a part of their parameters' names (MODULE_PART_WORDS), either way round. The
    modules chosen keep their biases and norm gains, so for RL101 and RL202 the set is as whole
    as before (DETR's backbone and non-backbone groups, both decayed). A test for embedding tables
    (a word holding EMBEDDING_PART) keeps them only where it leaves the tables out (FuxiCTR's
    `if "embedding_layer" in name: ... else:` penalizes the rest of the network in its else)."""
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and _leaves_out_a_part(test, names, positive):
        return True
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comparison = test.comparisons[0]
        word, name = test.left, comparison.comparator
        if not (
            isinstance(comparison.operator, (cst.In, cst.NotIn))
            and isinstance(word, cst.SimpleString)
            and isinstance(name, cst.Name)
            and name.value in names
        ):
            return False
        written = word.evaluated_value
        if not isinstance(written, str):
            return False
        leaves_out = isinstance(comparison.operator, cst.NotIn) == positive
        return written in MODULE_PART_WORDS or (EMBEDDING_PART in written.lower() and leaves_out)
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and test.func.attr.value == "startswith":
        receiver = test.func.value
        return (
            isinstance(receiver, cst.Name)
            and receiver.value in names
            and len(test.args) == 1
            and isinstance(test.args[0].value, cst.SimpleString)
            and str(test.args[0].value.evaluated_value).rstrip(".") in MODULE_PART_WORDS
        )
    return False


def _leaves_out_a_part(test: cst.Comparison, names: set[str], positive: bool) -> bool:
    """`name not in emb_params`, the else of `id(p) in embedding_params`, `if id(p) in
    norm_params: continue`: the parameter (its name, its id) tested against a collection named
    like some layers' parameters (PART_COLLECTION_WORDS), and left out of it."""
    comparison = test.comparisons[0]
    if not isinstance(comparison.operator, (cst.In, cst.NotIn)):
        return False
    if isinstance(comparison.operator, cst.NotIn) != positive:
        return False  # (kept only if in it: the members, a deliberate choice)
    member, collection = test.left, comparison.comparator
    if isinstance(member, cst.Call) and isinstance(member.func, cst.Name) and member.func.value == "id" and len(member.args) == 1:
        member = member.args[0].value
    if not (isinstance(member, cst.Name) and member.value in names):
        return False
    last = collection.value if isinstance(collection, cst.Name) else collection.attr.value if isinstance(collection, cst.Attribute) else None
    if last is None:
        return False
    lowered = last.lower()
    return any(word in lowered for word in PART_COLLECTION_WORDS) and not any(word in lowered for word in NOT_PART_COLLECTION_WORDS)


def _tests_a_layer_class(test: cst.BaseExpression, names: set[str]) -> bool:
    """`isinstance(p, nn.BatchNorm2d)` (or a tuple of such classes) of a parameter: never true."""
    tested = _isinstance_test(test, names)
    return tested is not None and bool(tested[1]) and all(
        isinstance(c, (cst.Name, cst.Attribute)) and LAYER_CLASS_NAME.search(dotted(c) or "") for c in tested[1]
    )


def _keep_all_atom(test: cst.BaseExpression, names: set[str], positive: bool) -> bool:
    """`p.requires_grad` and friends: true for every trainable parameter; a choice of modules by
    name keeps every kind of parameter (_chooses_modules); `not isinstance(p, nn.BatchNorm2d)`
    drops none (a parameter is no layer)."""
    if _chooses_modules(test, names, positive):
        return True
    if _tests_a_layer_class(test, names):
        return not positive
    if isinstance(test, cst.Call) and not test.args and isinstance(test.func, cst.Attribute):
        return positive and test.func.attr.value in _KEEP_ALL_METHODS
    if isinstance(test, cst.Attribute) and test.attr.value in _KEEP_ALL_ATTRIBUTES:
        return positive and isinstance(test.value, cst.Name) and test.value.value in names
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comparison = test.comparisons[0]
        left, right = test.left, comparison.comparator
        operator = comparison.operator
        # p.grad is not None
        if isinstance(left, cst.Attribute) and left.attr.value == "grad" and is_none_literal(right):
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
    if not reads_name(test, names):
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


@dataclass(frozen=True)
class Filter:
    """A condition that selects some parameters: its source, and what it keeps where that is
    plain (VECTORS: only biases, norm gains and other 1-D parameters pass; NOT_VECTORS: the
    complement, weight matrices with or without some 1-D parameters; None: another selection)."""

    text: str
    selects: Optional[str] = None


VECTORS = "vectors"
NOT_VECTORS = "not vectors"

# Words in a parameter's name that mark it as 1-D: biases and normalization gains.
_VECTOR_NAME_WORDS = ("bias", "norm", "bn", "ln")


def _ndim_of(node: cst.BaseExpression, names: set[str]) -> bool:
    """`p.ndim`, `p.dim()`, `len(p.shape)`, `len(p.size())` of a loop parameter."""
    if isinstance(node, cst.Attribute) and node.attr.value == "ndim":
        return isinstance(node.value, cst.Name) and node.value.value in names
    if isinstance(node, cst.Call) and not node.args and isinstance(node.func, cst.Attribute):
        return node.func.attr.value in ("dim", "ndimension") and _ndim_of_owner(node.func.value, names)
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "len"
        and len(node.args) == 1
    ):
        inner = node.args[0].value
        if isinstance(inner, cst.Attribute) and inner.attr.value == "shape":
            return _ndim_of_owner(inner.value, names)
        if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute):
            return inner.func.attr.value == "size" and not inner.args and _ndim_of_owner(inner.func.value, names)
    return False


def _ndim_of_owner(node: cst.BaseExpression, names: set[str]) -> bool:
    return isinstance(node, cst.Name) and node.value in names


_COMPARE = {
    cst.GreaterThan: lambda a, b: a > b,
    cst.GreaterThanEqual: lambda a, b: a >= b,
    cst.LessThan: lambda a, b: a < b,
    cst.LessThanEqual: lambda a, b: a <= b,
    cst.Equal: lambda a, b: a == b,
    cst.NotEqual: lambda a, b: a != b,
}


def _holds(operator: cst.BaseCompOp, ndim: int, bound: int) -> Optional[bool]:
    """Whether `ndim <operator> bound` holds; None for an operator that is not a comparison of
    numbers (`in`, `is`)."""
    compare = _COMPARE.get(type(operator))
    return None if compare is None else compare(ndim, bound)


def _int(node: cst.BaseExpression) -> Optional[int]:
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    return None


def _ndim_selection(test: cst.Comparison, names: set[str]) -> Optional[str]:
    """`p.ndim >= 2` keeps matrices, `p.ndim < 2` / `p.ndim == 1` keeps vectors."""
    if len(test.comparisons) != 1:
        return None
    comparison = test.comparisons[0]
    left, right, operator = test.left, comparison.comparator, comparison.operator
    bound = _int(right)
    if not _ndim_of(left, names) or bound is None:
        return None
    keeps_one_d = _holds(operator, 1, bound)
    keeps_two_d = _holds(operator, 2, bound)
    if keeps_one_d is None:
        return None
    if not keeps_one_d and keeps_two_d:
        return NOT_VECTORS
    if keeps_one_d and not keeps_two_d:
        return VECTORS
    return None


def _name_test(test: cst.BaseExpression, names: set[str]) -> Optional[bool]:
    """True for a test that holds for biases / norm names (`"bias" in name`,
    `name.endswith(".bias")`, `any(nd in n for nd in no_decay)`), None when it is not such a test."""
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comparison = test.comparisons[0]
        if isinstance(comparison.operator, (cst.In, cst.NotIn)) and isinstance(test.left, cst.SimpleString):
            word = test.left.value.strip("'\"").lower()
            if reads_name(comparison.comparator, names) and any(w in word for w in _VECTOR_NAME_WORDS):
                return isinstance(comparison.operator, cst.In)
        return None
    if (
        isinstance(test, cst.Call)
        and isinstance(test.func, cst.Attribute)
        and test.func.attr.value in ("endswith", "startswith")
        and reads_name(test.func.value, names)
        and test.args
        and isinstance(test.args[0].value, cst.SimpleString)
    ):
        word = test.args[0].value.value.strip("'\"").lower()
        return True if any(w in word for w in _VECTOR_NAME_WORDS) else None
    if (
        isinstance(test, cst.Call)
        and isinstance(test.func, cst.Name)
        and test.func.value == "any"
        and len(test.args) == 1
        and isinstance(test.args[0].value, (cst.GeneratorExp, cst.ListComp))
    ):
        inner = test.args[0].value
        element = inner.elt
        if (
            isinstance(element, cst.Comparison)
            and len(element.comparisons) == 1
            and isinstance(element.comparisons[0].operator, cst.In)
            and reads_name(element.comparisons[0].comparator, names)
            and _no_decay_list(inner.for_in.iter)
        ):
            return True  # any(nd in name for nd in no_decay)
    return None


def _no_decay_list(node: cst.BaseExpression) -> bool:
    """A list of name parts written out, or a name that says it lists what gets no decay."""
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        words = [e.value for e in node.elements if isinstance(e.value, cst.SimpleString)]
        return bool(words) and all(
            any(w in s.value.lower() for w in _VECTOR_NAME_WORDS) for s in words
        )
    text = dotted(node)
    return text is not None and ("no_decay" in text.lower() or "nodecay" in text.lower())


def selection(test: cst.BaseExpression, names: set[str], positive: bool = True) -> Optional[str]:
    """VECTORS, NOT_VECTORS, or None: what a filter keeps, where it is one of the plain idioms."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return selection(test.expression, names, not positive)
    if isinstance(test, cst.BooleanOperation):
        parts = [
            selection(test.left, names, positive) if reads_name(test.left, names) else "any",
            selection(test.right, names, positive) if reads_name(test.right, names) else "any",
        ]
        conjunction = isinstance(test.operator, cst.And) == positive
        if conjunction:
            kept = [p for p in parts if p != "any"]
            return kept[0] if kept and all(p == kept[0] for p in kept) else None
        return parts[0] if parts[0] == parts[1] else None
    found: Optional[str] = None
    if isinstance(test, cst.Comparison):
        found = _ndim_selection(test, names)
    if found is None:
        is_vector_name = _name_test(test, names)
        if is_vector_name is not None:
            found = VECTORS if is_vector_name else NOT_VECTORS
    if found is None or positive:
        return found
    return NOT_VECTORS if found == VECTORS else VECTORS


def condition_filter(test: cst.BaseExpression, names: set[str], positive: bool = True) -> Optional[Filter]:
    """None when the condition keeps every trainable parameter, else the filter."""
    if keeps_all(test, names, positive):
        return None
    text = cst.Module(body=[]).code_for_node(test)
    return Filter(text if positive else f"not ({text})", selection(test, names, positive))


def module_type_test(
    test: cst.BaseExpression, names: set[str]
) -> Optional[tuple[str, tuple[cst.BaseExpression, ...]]]:
    """The name of `names` a type test chooses modules by, and the types it accepts:
    `isinstance(m, T)`, `isinstance(m, (T1, T2))`, `type(m) == T`, `type(m) is T`,
    `type(m) in (T1, T2)`, or one of these joined by `and` to other tests (which only choose
    fewer). None for any other test."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return module_type_test(test.left, names) or module_type_test(test.right, names)
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance":
        return _isinstance_test(test, names)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left, comparison = test.left, test.comparisons[0]
        if (
            isinstance(left, cst.Call)
            and isinstance(left.func, cst.Name)
            and left.func.value == "type"
            and len(left.args) == 1
            and isinstance(left.args[0].value, cst.Name)
            and left.args[0].value.value in names
            and isinstance(comparison.operator, (cst.Equal, cst.Is, cst.In))
        ):
            types = comparison.comparator
            if isinstance(comparison.operator, cst.In) and not isinstance(types, (cst.Tuple, cst.List, cst.Set)):
                return None
            return left.args[0].value.value, _types(types)
    return None


def _isinstance_test(test: cst.BaseExpression, names: set[str]) -> Optional[tuple[str, tuple[cst.BaseExpression, ...]]]:
    """`isinstance(x, T)` or `isinstance(x, (T1, T2))` of a name of `names`: that name and the
    types; None for any other test."""
    if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance"):
        return None
    if len(test.args) != 2 or any(a.star or a.keyword for a in test.args):
        return None
    tested, types = test.args[0].value, test.args[1].value
    if not (isinstance(tested, cst.Name) and tested.value in names):
        return None
    return tested.value, _types(types)


def _types(node: cst.BaseExpression) -> tuple[cst.BaseExpression, ...]:
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return tuple(element.value for element in node.elements)
    return (node,)


__all__ = [
    "Filter",
    "NOT_VECTORS",
    "VECTORS",
    "condition_filter",
    "keeps_all",
    "dotted",
    "module_type_test",
    "selection",
]
