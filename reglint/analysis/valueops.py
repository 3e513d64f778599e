"""Operations on abstract values: iterating them, joining parameter sets, multiplying factors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

import libcst as cst

from reglint.analysis.facts import (
    Number,
    ParamSet,
)
from reglint.analysis.filters import VECTORS
from reglint.analysis.values import (
    UNKNOWN,
    BoundMethod,
    ClassRef,
    Closure,
    DictVal,
    FunctionRef,
    Instance,
    LambdaFunction,
    ListVal,
    Mixed,
    Module,
    Num,
    OneOf,
    OptimizerClass,
    OptimizerRef,
    Param,
    ParamIter,
    ParamName,
    Partial,
    PenaltyRef,
    Submodule,
    Submodules,
    Terms,
    TupleVal,
    Unknown,
    Value,
    penalty_ids,
)
from reglint.analysis.vocabulary import NUMERIC_NAME

if TYPE_CHECKING:
    from reglint.analysis.interpreter import FileAnalyzer


@dataclass(frozen=True)
class Enumerated(Value):
    inner: Value


@dataclass(frozen=True)
class Zipped(Value):
    """`zip(a, b)`: each iteration binds a tuple of one item of each."""

    inners: tuple[Value, ...]


# Values that are code the analysis runs when they are called, and whose choice matters: the
# file's functions (nested ones too), lambdas, bound methods, partials, objects of its classes,
# a choice of these.
CODE = (FunctionRef, LambdaFunction, Closure, BoundMethod, Partial, Instance, OneOf)
# The code a choice (OneOf) is made of: what a call runs (an object's forward / __call__, a
# class's __init__).
CHOSEN = (FunctionRef, LambdaFunction, Closure, BoundMethod, Partial, Instance, ClassRef)


def present_or_none(first: Value, second: Value) -> Optional[Value]:
    """Of two values a name may hold (the two sides of a condition), the one that is code to call
    where the other is None: `reg_fn = l1_reg if cfg.l1 else None`, `self.reg = Reg() if use
    else None`. Code calls it only where it is there, and the rules speak of that case. None
    when neither is."""
    for side, rest in ((first, second), (second, first)):
        if isinstance(side, CODE) and is_none(rest):
            return side
    return None


def is_none(value: Value) -> bool:
    return isinstance(value, Num) and value.text == "None"


MAX_RUN_IN_TURN = 8


def one_of(values: Sequence[Value]) -> Optional[Value]:
    """The code that each of `values` may be, where nothing tells which one runs (the sides of
    a condition, a function's returns, a dict read by an unknown key): the code they all are,
    else a OneOf of up to MAX_RUN_IN_TURN different pieces. None where one of them is anything
    but CHOSEN code or a torch.nn criterion (`self.criterion = bpr_loss` on one branch,
    `nn.BCELoss()` on another: calling the criterion computes a data loss, and builds nothing the
    analysis follows), or there are more."""
    options: list[Value] = []
    for value in values:
        for option in value.options if isinstance(value, OneOf) else (value,):
            if not isinstance(option, CHOSEN) and not _is_a_criterion(option):
                return None
            if option not in options:
                options.append(option)
    if not options or len(options) > MAX_RUN_IN_TURN:
        return None
    return options[0] if len(options) == 1 else OneOf(tuple(options))


def _plain_torch_optimizer(value: Value) -> bool:
    return isinstance(value, OptimizerClass) and value.bound is None and value.named_by is None and value.qualified.startswith("torch.optim.")


def is_code(value: Value) -> bool:
    """Code a name may hold for a call to run (CODE), or a torch.nn criterion on another branch of
    the same choice (one_of)."""
    return isinstance(value, CODE) or _is_a_criterion(value)


def _is_a_criterion(value: Value) -> bool:
    """A torch.nn loss module (`nn.BCELoss()`, `nn.CrossEntropyLoss()`; nn.L1Loss is an
    L1Criterion, not a Module)."""
    return isinstance(value, Module) and value.layer is not None and value.layer.endswith("Loss")


def chosen_by_key(table: DictVal, code: str) -> Value:
    """An item of a dict read by a key the analysis cannot tell (`REGULARIZERS[args.reg]`,
    `TERMS.get(name)`): any of the code it holds, where it holds only code (one_of); of a dict
    of torch.optim classes (`optimizer_dict[self.optimizer]`), a class of torch.optim named at
    run time, as `getattr(torch.optim, name)` is (`code`: the expression that names it)."""
    values = [value for _, value, _, _ in table.entries]
    if values and all(_plain_torch_optimizer(value) for value in values):
        return values[0] if all(value == values[0] for value in values) else OptimizerClass("torch.optim", named_by=code)
    chosen = one_of(values) if values else None
    return chosen if chosen is not None else UNKNOWN


def joined_vectors(parts: Sequence[Optional[bool]]) -> Optional[bool]:
    """Whether modules that may each be the one hold 1-D parameters: yes where one does, no where
    none does, else not known."""
    return True if True in parts else (None if None in parts else False)


def either(values: Sequence[Value]) -> Value:
    """What a value that may be any of `values` is to the rules (a function's returns, what a
    call of a choice gives): the value they all are, else the penalties any of them holds, else
    an optimizer one of them is; else unknown."""
    if not values:
        return UNKNOWN
    if all(value == values[0] for value in values):
        return values[0]
    first = values[0]
    if isinstance(first, TupleVal) and all(isinstance(v, TupleVal) and len(v.items) == len(first.items) for v in values):
        # `loss, reg_loss = model.bpr_loss(...)` of one of several models: each place is either
        return TupleVal(tuple(either([v.items[i] for v in values if isinstance(v, TupleVal)]) for i in range(len(first.items))))
    pids = frozenset().union(*(penalty_ids(value) for value in values))
    if pids and all(penalty_only(value) for value in values):
        # penalties only, whichever it is (`if squared: return sq_sum` / `return norm_sum`): a
        # penalty still, each scaled as the first value that holds it is
        scales: dict[int, Optional[Num]] = {}
        for value in values:
            for pid, scale in scales_of(value):
                scales.setdefault(pid, scale)
        return Mixed(pids, tuple(scales.items()), pure=True)
    if pids:
        return Mixed(pids)
    optimizers = [value for value in values if isinstance(value, OptimizerRef)]
    return optimizers[0] if optimizers else UNKNOWN


def code_to_run_in_turn(iterable: Value) -> list[Value]:
    """The items of a short list, tuple or dict view holding different code to call (penalty
    modules, lambdas, functions: `for reg in (AbsSum(), SquareSum()): loss = loss + reg(model)`,
    `for name, fn in terms.items()`): a loop over it runs its body once for each, as Python does.
    Empty where one pass over element_of's merged item says as much (the same value throughout,
    or no code)."""
    items = _different_items(iterable)

    def holds_code(item: Value) -> bool:
        if isinstance(item, TupleVal):
            return any(isinstance(part, CODE) for part in item.items)
        return isinstance(item, CODE)

    return items if all(holds_code(item) for item in items) else []


def records_in_turn(iterable: Value) -> list[Value]:
    """The records of a short list of tuples of which some hold parameters (DeepCTR's
    `(weight_list, l1, l2)` appended by add_regularization_weight): a loop over it runs its body
    once for each, as Python does, so that a record of values the analysis cannot know (the
    registering method run on its own) does not hide the others in one merged item."""
    items = _different_items(iterable)
    if not all(isinstance(item, TupleVal) for item in items):
        return []

    def holds_parameters(part: Value) -> bool:
        if isinstance(part, (Param, ParamIter)):
            return True
        return isinstance(part, (ListVal, TupleVal)) and any(isinstance(x, (Param, ParamIter)) for x in part.items)

    return items if any(holds_parameters(part) for item in items for part in item.items) else []  # type: ignore[attr-defined]


def _different_items(iterable: Value) -> list[Value]:
    """The items of a list or tuple of 2 to MAX_RUN_IN_TURN items, not all the same; else none."""
    if not isinstance(iterable, (ListVal, TupleVal)) or not 2 <= len(iterable.items) <= MAX_RUN_IN_TURN:
        return []
    items = list(iterable.items)
    return [] if all(item == items[0] for item in items) else items


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
    if isinstance(iterable, (ListVal, TupleVal)) and iterable.items:
        first = iterable.items[0]
        if all(isinstance(i, Param) and i.pset is None for i in iterable.items):
            return first
        if all(i == first for i in iterable.items):
            return first
        rows = _rows(iterable.items)
        if rows:
            return TupleVal(tuple(_column([row.items[i] for row in rows]) for i in range(len(rows[0].items))))
    if isinstance(iterable, Enumerated):
        return TupleVal((Num(None, "index"), element_of(iterable.inner, analyzer)))
    if isinstance(iterable, Zipped):
        return TupleVal(tuple(element_of(inner, analyzer) for inner in iterable.inners))
    if isinstance(iterable, Submodules):
        module = Submodule(iterable.owner)
        return TupleVal((UNKNOWN, module)) if iterable.named else module
    return UNKNOWN


def _rows(items: Sequence[Value]) -> list[TupleVal]:
    """A list of records of one shape (`[(params, coefficient), ...]`, one appended per call of a
    registering method): its tuples, less the unknown items a method read alone appended."""
    rows = [item for item in items if not _unknown(item)]
    if not rows or not all(isinstance(row, TupleVal) for row in rows):
        return []
    size = len(rows[0].items)  # type: ignore[attr-defined]
    return rows if all(len(row.items) == size for row in rows) else []  # type: ignore[attr-defined,return-value]


def _column(values: list[Value]) -> Value:
    """What one field of those records holds over the loop: every parameter set of its rows, a
    number that is the same in every row (else an unknown one), or an unknown value. What a
    method read alone put there is unknown and left out (the rows the code shows speak for
    themselves: a penalty over them is one)."""
    values = [value for value in values if not _unknown(value)] or values
    first = values[0]
    if all(value == first for value in values):
        return first
    if all(isinstance(value, ParamIter) for value in values):
        owners = sorted({value.pset.owner for value in values})  # type: ignore[attr-defined]
        return join_params(values, first.pset.node, " + ".join(owners))  # type: ignore[attr-defined]
    if all(isinstance(value, Num) for value in values):
        same = all(value.value == first.value for value in values)  # type: ignore[attr-defined]
        return first if same else Num(None, first.text, first.node)  # type: ignore[attr-defined]
    return UNKNOWN


def _unknown(value: Value) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, Num) and value.value is None)


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
        return Number(value.value, text or value.text, node, default=value.default)
    return Number(None, text or "", node)


def numeric_name(name: str) -> bool:
    return bool(NUMERIC_NAME.search(name))


def penalty_only(value: Value) -> bool:
    return isinstance(value, PenaltyRef) or (isinstance(value, Mixed) and value.pure)


def scales_of(value: Value) -> tuple[tuple[int, Optional[Num]], ...]:
    if isinstance(value, PenaltyRef):
        return ((value.pid, value.scale),)
    if isinstance(value, Mixed):
        return value.scales
    return ()


def times(current: Optional[Num], factor: Value, node: cst.CSTNode) -> Num:
    """current × factor as a Num (value None when either is unknown; its default, the product
    a plain run computes, where each side is known or read at an argument's declared default)."""
    value: Optional[float] = factor.value if isinstance(factor, Num) else None
    factor_node = factor.node if isinstance(factor, Num) and factor.node is not None and not factor.parameter else node
    text = factor.text if isinstance(factor, Num) else "?"
    factor_default = factor.default if isinstance(factor, Num) else None
    if current is None:
        return Num(value, text, factor_node, factor_default)
    product = current.value * value if current.value is not None and value is not None else None
    default = None
    if product is None:
        left, right = current.as_run, (value if value is not None else factor_default)
        default = left * right if left is not None and right is not None else None
    return Num(product, f"{current.text}·{text}", current.node or factor_node, default)


def names_of(loop_names: Mapping[str, Value], pset: Optional[ParamSet]) -> set[str]:
    return {
        name
        for name, value in loop_names.items()
        if isinstance(value, (Param, ParamName)) and value.pset is pset
    }


def carries_penalty(value: Value) -> bool:
    """A penalty, or a value a penalty was added into."""
    return isinstance(value, (Terms, PenaltyRef, Mixed))


def is_factor(value: Value) -> bool:
    """A value that may scale a penalty: a number (known or not), or anything the analysis cannot
    see into (`self.cfg.l2`, `args.lam`, a `*_weight` coefficient)."""
    return isinstance(value, (Num, Unknown)) or (isinstance(value, Param) and value.pset is None)


def is_param_collection(value: Value) -> bool:
    """An iterable of parameters: `model.parameters()`, or a list written out of parameters."""
    if isinstance(value, ParamIter):
        return value.kind in ("params", "pairs")
    return (
        isinstance(value, ListVal)
        and bool(value.items)
        and all(isinstance(i, Param) for i in value.items)
    )


def _as_iter(value: Value, node: cst.CSTNode) -> Optional[ParamIter]:
    if isinstance(value, ParamIter):
        return value
    pset = as_param_set(value, node)
    return ParamIter(pset, "params") if pset is not None else None


def join_params(values: Sequence[Value], node: cst.CSTNode, text: str) -> Value:
    """`itertools.chain(a.parameters(), b.parameters())`, `list(a) + list(b)`, `ps += more`: one
    parameter set made of parts. It holds every parameter when any part does."""
    iters = [_as_iter(v, node) for v in values]
    if not iters or any(i is None for i in iters):
        return UNKNOWN
    parts: list[ParamSet] = []
    for found in iters:
        assert found is not None
        parts.extend(found.pset.parts or (found.pset,))
    if len(parts) == 1:
        return iters[0] if iters[0] is not None else UNKNOWN
    kinds = {i.kind for i in iters if i is not None}
    gradless = next((p.gradless for p in parts if p.gradless), None)
    unfiltered = [p for p in parts if p.unfiltered]
    pset = ParamSet(
        owner=text,
        origin="explicit" if all(p.origin == "explicit" for p in parts) else "joined",
        node=node,
        unfiltered=bool(unfiltered),
        filter_text=None if unfiltered else next((p.filter_text for p in parts if p.filter_text), None),
        gradless=gradless,
        parts=tuple(parts),
        selects=VECTORS if all(p.selects == VECTORS for p in parts) else None,
        has_vectors=any_vectors([p.has_vectors for p in parts]),
    )
    return ParamIter(pset, kinds.pop() if len(kinds) == 1 else "params")


def any_vectors(found: Sequence[Optional[bool]]) -> Optional[bool]:
    """Whether parts (parameter sets, module types) together hold 1-D parameters: True if one
    does, None if one is not known, else False."""
    return True if True in found else (None if None in found else False)
