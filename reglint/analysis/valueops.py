"""Operations on abstract values: iterating them, joining parameter sets, multiplying factors."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Mapping, Optional

import libcst as cst

from reglint.analysis.facts import (
    Number,
    ParamSet,
)
from reglint.analysis.values import (
    UNKNOWN,
    ListVal,
    Mixed,
    Num,
    Param,
    ParamIter,
    ParamName,
    PenaltyRef,
    TupleVal,
    Value,
)

if TYPE_CHECKING:
    from reglint.analysis.interpreter import FileAnalyzer


@dataclass(frozen=True)
class Enumerated(Value):
    inner: Value


def element_of(iterable: Value, analyzer: FileAnalyzer) -> Value:
    """What one iteration of a `for` over `iterable` binds."""
    if isinstance(iterable, ParamIter):
        pset = iterable.pset
        if iterable.kind == "params":
            return Param(pset, "p", pset.gradless)
        if iterable.kind == "pairs":
            return TupleVal((ParamName(pset), Param(pset, "p", pset.gradless)))
        if iterable.kind in ("names", "dict"):
            return ParamName(pset)
    if isinstance(iterable, ListVal) and iterable.items:
        first = iterable.items[0]
        if all(isinstance(i, Param) and i.pset is None for i in iterable.items):
            return first
        if all(i == first for i in iterable.items):
            return first
    if isinstance(iterable, Enumerated):
        return TupleVal((Num(None, "index"), element_of(iterable.inner, analyzer)))
    return UNKNOWN


def union(left: ParamIter, right: ParamIter) -> ParamIter:
    unfiltered = left.pset.unfiltered or right.pset.unfiltered
    base = left if left.pset.unfiltered or not right.pset.unfiltered else right
    if unfiltered:
        return base
    return ParamIter(replace(base.pset, unfiltered=False), base.kind)


def append_item(current: ListVal, item: Value, method: str) -> Value:
    if method == "extend":
        if isinstance(item, ParamIter) and not current.items:
            return item
        if isinstance(item, ListVal):
            return ListVal(current.items + item.items)
        return ListVal(current.items + (UNKNOWN,))
    if isinstance(item, Param) and item.pset is not None and not current.items:
        return ParamIter(item.pset, "params")
    return ListVal(current.items + (item,))


def explicit_set(param: Param, node: cst.CSTNode) -> ParamSet:
    if param.pset is not None:
        return param.pset
    return ParamSet(owner=param.text, origin="explicit", node=node, unfiltered=False)


def as_param_set(value: Value, node: cst.CSTNode) -> Optional[ParamSet]:
    if isinstance(value, ParamIter):
        return value.pset
    if isinstance(value, Param):
        return explicit_set(value, node)
    if (
        isinstance(value, ListVal)
        and value.items
        and all(isinstance(i, Param) for i in value.items)
    ):
        return ParamSet(owner="[...]", origin="explicit", node=node, unfiltered=False)
    return None


def to_number(value: Value, node: cst.CSTNode, text: Optional[str] = None) -> Number:
    if isinstance(value, Num):
        return Number(value.value, text or value.text, node)
    return Number(None, text or "", node)


def numeric_name(name: str) -> bool:
    return bool(
        re.search(r"(decay|wd|lr|lam|lambda|alpha|beta|coef|reg|eps|scale)", name, re.IGNORECASE)
    )


def penalty_only(value: Value) -> bool:
    return isinstance(value, PenaltyRef) or (isinstance(value, Mixed) and value.pure)


def scales_of(value: Value) -> tuple[tuple[int, Optional[Num]], ...]:
    if isinstance(value, PenaltyRef):
        return ((value.pid, value.scale),)
    if isinstance(value, Mixed):
        return value.scales
    return ()


def times(current: Optional[Num], factor: Value, node: cst.CSTNode) -> Num:
    """current × factor as a Num (value None when either is unknown)."""
    value: Optional[float] = factor.value if isinstance(factor, Num) else None
    factor_node = factor.node if isinstance(factor, Num) and factor.node is not None else node
    text = factor.text if isinstance(factor, Num) else "?"
    if current is None:
        return Num(value, text, factor_node)
    product = current.value * value if current.value is not None and value is not None else None
    return Num(product, f"{current.text}·{text}", current.node or factor_node)


def names_of(loop_names: Mapping[str, Value], pset: Optional[ParamSet]) -> set[str]:
    return {
        name
        for name, value in loop_names.items()
        if isinstance(value, (Param, ParamName)) and value.pset is pset
    }
