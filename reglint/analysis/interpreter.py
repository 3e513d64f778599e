"""One pass of abstract interpretation over a module, producing FileFacts.

Statements are walked in order, per function, with an environment of abstract values (see
values.py). Loops bind their targets to the elements of what they iterate; `if` conditions and
`continue` guards that test a loop's parameter or its name mark the parameter set as filtered;
calls to helper functions and methods defined in the same file are followed (inlined with their
arguments, a few levels deep). What the analysis cannot see stays UNKNOWN, and rules stay silent
on UNKNOWN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Optional, Sequence, Union

import libcst as cst

from reglint.analysis import terms as T
from reglint.analysis.facts import (
    Accumulator,
    BackwardCall,
    FileFacts,
    LateAddition,
    Number,
    OptimizerCall,
    ParamGroup,
    ParamSet,
    Penalty,
    PenaltyTerm,
)
from reglint.analysis.filters import condition_filter
from reglint.analysis.names import ImportMap, dotted
from reglint.analysis.optimizers import QUALIFIED, spec_for
from reglint.analysis.values import (
    UNKNOWN,
    AccumulatorStart,
    DictVal,
    Elementwise,
    Flat,
    ListVal,
    Mixed,
    Module,
    Num,
    OptimizerRef,
    Param,
    ParamIter,
    ParamName,
    PenaltyRef,
    Str,
    Terms,
    TupleVal,
    Unknown,
    Value,
    penalty_ids,
)

PENALTY_NAME = re.compile(r"(reg|penal|l1|l2|lasso|ridge|sparsit|decay|weight_?norm)", re.IGNORECASE)
LOSS_NAME = re.compile(r"loss|objective|cost", re.IGNORECASE)
LOSS_FUNCTION = re.compile(r"(^|_)(loss|losses|objective)($|_)|training_step|compute_loss|criterion", re.IGNORECASE)
NO_GRAD_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad"})
BACKWARD_FUNCTIONS = frozenset({"backward", "manual_backward"})
MAX_INLINE_DEPTH = 3

FunctionNode = Union[cst.FunctionDef, cst.Lambda]


@dataclass
class PenaltyRecord:
    node: cst.CSTNode
    scope: str
    terms: list[PenaltyTerm] = field(default_factory=list)
    reaches_loss: bool = False
    named: Optional[str] = None
    accumulator: Optional[Accumulator] = None
    inner: Optional[Num] = None  # constant factor applied to the terms before binding (`c * term`)
    outers: list[Num] = field(default_factory=list)  # factors applied where it meets a loss (`loss + c * reg`)
    added_to: Optional[str] = None
    add_node: Optional[cst.CSTNode] = None

    def add_terms(self, terms: Iterable[PenaltyTerm]) -> None:
        known = {id(t.node) for t in self.terms}
        for term in terms:
            if id(term.node) not in known:
                self.terms.append(term)
                known.add(id(term.node))

    def _coefficient(self) -> tuple[Optional[float], Optional[cst.CSTNode]]:
        """The largest known effective coefficient over the uses, with the node that sets it."""
        inner = self.inner.value if self.inner is not None else 1.0
        inner_node = self.inner.node if self.inner is not None else None
        if inner is None:
            return None, None
        if not self.outers:
            return (inner, inner_node) if inner_node is not None else (None, None)
        best: tuple[Optional[float], Optional[cst.CSTNode]] = (None, None)
        for outer in self.outers:
            if outer.value is None:
                continue
            value = inner * outer.value
            if best[0] is None or abs(value) > abs(best[0]):
                best = (value, inner_node or outer.node)
        return best

    def freeze(self) -> Penalty:
        return Penalty(
            node=self.node,
            terms=tuple(self.terms),
            reaches_loss=self.reaches_loss,
            named=self.named,
            accumulator=self.accumulator,
            coefficient=self._coefficient()[0],
            coefficient_node=self._coefficient()[1],
            added_to=self.added_to,
            scope=self.scope,
            add_node=self.add_node,
        )


@dataclass
class Frame:
    """The environment of one function (or the module) being interpreted."""

    name: str
    env: dict[str, Value]
    parent: Optional["Frame"]
    class_name: Optional[str] = None
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    returns: list[tuple[Value, cst.CSTNode]] = field(default_factory=list)
    no_grad: int = 0
    no_grad_what: str = "torch.no_grad()"  # the context that turned gradients off, for messages
    depth: int = 0
    backward_on: dict[str, cst.CSTNode] = field(default_factory=dict)  # loss name -> its backward() call
    late: list[tuple[int, cst.CSTNode, cst.CSTNode, str, str]] = field(default_factory=list)

    def lookup(self, name: str) -> Optional[Value]:
        frame: Optional[Frame] = self
        while frame is not None:
            if name in frame.env:
                return frame.env[name]
            frame = frame.parent
        return None

    def function(self, name: str) -> Optional[cst.FunctionDef]:
        frame: Optional[Frame] = self
        while frame is not None:
            if name in frame.functions:
                return frame.functions[name]
            frame = frame.parent
        return None


class FileAnalyzer:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.imports = ImportMap.of(module)
        self.records: list[PenaltyRecord] = []
        self._record_by_node: dict[int, int] = {}
        self.optimizers: dict[int, OptimizerCall] = {}
        self.backwards: dict[int, BackwardCall] = {}
        self.late: dict[int, LateAddition] = {}
        self.accumulators: dict[int, Accumulator] = {}
        self.methods: dict[str, list[tuple[str, cst.FunctionDef]]] = {}
        self.classes: dict[str, cst.ClassDef] = {}
        self._inline_stack: list[int] = []
        self.module_frame = Frame("<module>", {}, None)
        self.argparse_defaults: dict[str, Optional[float]] = {}

    # ------------------------------------------------------------------ driver

    def run(self) -> FileFacts:
        self.argparse_defaults = _argparse_defaults(self.module)
        self._collect_definitions(self.module.body, self.module_frame)
        self.exec_block(self.module.body, self.module_frame)
        self.flush_late(self.module_frame)
        for function, frame_name, class_name in self._all_functions():
            self.call_function(function, [], {}, frame_name, class_name, standalone=True)
        constants = {k: v.value for k, v in self.module_frame.env.items() if isinstance(v, Num) and v.value is not None}
        return FileFacts(
            module=self.module,
            penalties=[record.freeze() for record in self.records],
            optimizers=list(self.optimizers.values()),
            backward_calls=list(self.backwards.values()),
            late_additions=list(self.late.values()),
            accumulators=list(self.accumulators.values()),
            constants=constants,
        )

    def _collect_definitions(self, body: Sequence[cst.CSTNode], frame: Frame) -> None:
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                frame.functions[statement.name.value] = statement
            elif isinstance(statement, cst.ClassDef):
                self.classes[statement.name.value] = statement
                for item in statement.body.body:
                    if isinstance(item, cst.FunctionDef):
                        self.methods.setdefault(item.name.value, []).append((statement.name.value, item))
            elif isinstance(statement, (cst.If, cst.Try)):
                # Definitions guarded by `if TYPE_CHECKING` / try-imports still count.
                self._collect_definitions(_nested_statements(statement), frame)

    def _all_functions(self) -> Iterator[tuple[cst.FunctionDef, str, Optional[str]]]:
        for name, function in self.module_frame.functions.items():
            yield function, name, None
        for method_name, entries in self.methods.items():
            for class_name, function in entries:
                yield function, f"{class_name}.{method_name}", class_name

    # ------------------------------------------------------------------ records

    def record(self, node: cst.CSTNode, scope: str) -> int:
        pid = self._record_by_node.get(id(node))
        if pid is None:
            pid = len(self.records)
            self.records.append(PenaltyRecord(node=node, scope=scope))
            self._record_by_node[id(node)] = pid
        return pid

    def bind_terms(self, value: Value, anchor: cst.CSTNode, frame: Frame) -> Value:
        """A Terms value that escapes into a variable, a loss or a return becomes a penalty."""
        if isinstance(value, Terms):
            pid = self.record(anchor, frame.name)
            self.records[pid].add_terms(value.terms)
            if value.coefficient is not None and self.records[pid].inner is None:
                self.records[pid].inner = value.coefficient
            return PenaltyRef(pid)
        return value

    def mark_loss(self, value: Value, name: Optional[str] = None, add_node: Optional[cst.CSTNode] = None) -> None:
        self.note_scale(value)
        for pid in penalty_ids(value):
            record = self.records[pid]
            record.reaches_loss = True
            if name and record.added_to is None:
                record.added_to = name
            if add_node is not None and record.add_node is None:
                record.add_node = add_node

    def mark_named(self, value: Value, name: str) -> None:
        if isinstance(value, PenaltyRef) and PENALTY_NAME.search(name):
            record = self.records[value.pid]
            if record.named is None:
                record.named = name

    # ------------------------------------------------------------------ statements

    def exec_block(self, body: Sequence[cst.CSTNode], frame: Frame) -> None:
        index = 0
        statements = list(body)
        while index < len(statements):
            statement = statements[index]
            guard = _continue_guard(statement)
            if guard is not None:
                rebound = self._apply_filter(frame, guard, positive=False)
                if rebound:
                    # The rest of the loop body only runs for parameters that pass the guard.
                    self.exec_block(statements[index + 1 :], frame)
                    self._restore(frame, rebound)
                    return
            self.exec_statement(statement, frame)
            index += 1

    def exec_statement(self, statement: cst.CSTNode, frame: Frame) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self.exec_small(small, frame, statement)
        elif isinstance(statement, cst.FunctionDef):
            if frame is not self.module_frame:
                frame.functions[statement.name.value] = statement
        elif isinstance(statement, cst.ClassDef):
            return
        elif isinstance(statement, cst.If):
            self.exec_if(statement, frame)
        elif isinstance(statement, (cst.For,)):
            self.exec_for(statement, frame)
        elif isinstance(statement, cst.While):
            self.exec_suite(statement.body, frame)
            if statement.orelse is not None:
                self.exec_suite(statement.orelse.body, frame)
        elif isinstance(statement, cst.With):
            self.exec_with(statement, frame)
        elif isinstance(statement, cst.Try):
            self.exec_suite(statement.body, frame)
            for handler in statement.handlers:
                self.exec_suite(handler.body, frame)
            if statement.orelse is not None:
                self.exec_suite(statement.orelse.body, frame)
            if statement.finalbody is not None:
                self.exec_suite(statement.finalbody.body, frame)
        elif hasattr(cst, "Match") and isinstance(statement, getattr(cst, "Match")):
            for case in statement.cases:  # type: ignore[attr-defined]
                self.exec_suite(case.body, frame)

    def exec_suite(self, suite: cst.BaseSuite, frame: Frame) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self.exec_block(suite.body, frame)
        elif isinstance(suite, cst.SimpleStatementSuite):
            for small in suite.body:
                self.exec_small(small, frame, suite)

    def exec_if(self, statement: cst.If, frame: Frame) -> None:
        rebound = self._apply_filter(frame, statement.test, positive=True)
        self.exec_suite(statement.body, frame)
        self._restore(frame, rebound)
        if statement.orelse is not None:
            rebound = self._apply_filter(frame, statement.test, positive=False)
            if isinstance(statement.orelse, cst.If):
                self.exec_if(statement.orelse, frame)
            else:
                self.exec_suite(statement.orelse.body, frame)
            self._restore(frame, rebound)

    def exec_for(self, statement: cst.For, frame: Frame) -> None:
        iterable = self.ev(statement.iter, frame)
        self.bind_target(statement.target, element_of(iterable, self), frame)
        self.exec_suite(statement.body, frame)
        if statement.orelse is not None:
            self.exec_suite(statement.orelse.body, frame)

    def exec_with(self, statement: cst.With, frame: Frame) -> None:
        no_grad = False
        what = frame.no_grad_what
        for item in statement.items:
            call = item.item
            target = call.func if isinstance(call, cst.Call) else call
            qualified = self.imports.qualify(target) if isinstance(target, (cst.Name, cst.Attribute)) else None
            if qualified in NO_GRAD_CONTEXTS:
                no_grad = True
                what = qualified.replace("autograd.grad_mode.", "").replace("autograd.", "") + "()"
            elif qualified == "torch.set_grad_enabled" and isinstance(call, cst.Call) and call.args:
                value = self.ev(call.args[0].value, frame)
                if isinstance(value, Num) and value.value == 0:
                    no_grad = True
                    what = "torch.set_grad_enabled(False)"
            else:
                value = self.ev(call, frame)
                if item.asname is not None:
                    self.bind_target(item.asname.name, value, frame)
        outer_what = frame.no_grad_what
        if no_grad:
            frame.no_grad_what = what
        frame.no_grad += int(no_grad)
        self.exec_suite(statement.body, frame)
        frame.no_grad -= int(no_grad)
        frame.no_grad_what = outer_what

    def exec_small(self, small: cst.BaseSmallStatement, frame: Frame, line: cst.CSTNode) -> None:
        if isinstance(small, cst.Assign):
            value = self.ev(small.value, frame)
            for target in small.targets:
                self.assign(target.target, value, small, frame)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.assign(small.target, self.ev(small.value, frame), small, frame)
        elif isinstance(small, cst.AugAssign):
            self.exec_augassign(small, frame)
        elif isinstance(small, cst.Expr):
            self.ev(small.value, frame)
        elif isinstance(small, cst.Return):
            if small.value is not None:
                value = self.ev(small.value, frame)
                if not (isinstance(value, Terms) and frame.depth < len(self._inline_stack)):
                    value = self.bind_terms(value, small.value, frame)
                frame.returns.append((value, small))

    def assign(self, target: cst.BaseExpression, value: Value, statement: cst.CSTNode, frame: Frame) -> None:
        name = dotted(target)
        if isinstance(value, Terms) and not value.per_element:
            value = self.bind_terms(value, statement, frame)
        if name is not None:
            self._check_late(name, value, statement, frame)
            if isinstance(value, (PenaltyRef, Mixed)):
                self.mark_named(value, name.split(".")[-1])
                if LOSS_NAME.search(name.split(".")[-1]):
                    self.mark_loss(value, name, statement)
            if name in frame.backward_on and not _mentions(statement, name):
                # A fresh loss for the next step: backward() no longer applies to this name.
                frame.backward_on.pop(name, None)
        self.bind_target(target, value, frame)

    def exec_augassign(self, statement: cst.AugAssign, frame: Frame) -> None:
        name = dotted(statement.target)
        current = self.ev(statement.target, frame)
        value = self.ev(statement.value, frame)
        if not isinstance(statement.operator, (cst.AddAssign, cst.SubtractAssign)):
            if isinstance(statement.operator, cst.MultiplyAssign) and isinstance(current, PenaltyRef) and isinstance(value, Num):
                record = self.records[current.pid]
                record.inner = _times(record.inner, value, statement.value)
            return
        result = self.combine_add(current, value, statement, frame, in_place=True)
        if name is None:
            return
        self._check_late(name, result, statement, frame)
        if isinstance(result, (PenaltyRef, Mixed)):
            self.mark_named(result, name.split(".")[-1])
            if LOSS_NAME.search(name.split(".")[-1]) and penalty_ids(value):
                self.mark_loss(result, name, statement)
            elif LOSS_NAME.search(name.split(".")[-1]):
                self.mark_loss(result, name)
        frame.env[name] = result

    def combine_add(self, current: Value, value: Value, anchor: cst.CSTNode, frame: Frame, in_place: bool) -> Value:
        """`current + value` where either side may be a penalty: accumulators become penalties."""
        if isinstance(value, Terms) and (isinstance(current, PenaltyRef) or not penalty_ids(current)):
            # An accumulator: `reg += term` / `reg = reg + term` starts or extends a penalty.
            if isinstance(current, PenaltyRef):
                pid = current.pid
            else:
                pid = self.record(anchor, frame.name)
            record = self.records[pid]
            record.add_terms(value.terms)
            if value.coefficient is not None and record.inner is None:
                record.inner = value.coefficient
            if isinstance(current, AccumulatorStart):
                record.accumulator = replace(current.accumulator, in_place=in_place)
            elif in_place and record.accumulator is not None:
                record.accumulator = replace(record.accumulator, in_place=True)
            if isinstance(current, (AccumulatorStart, Num, PenaltyRef)):
                return current if isinstance(current, PenaltyRef) else PenaltyRef(pid)
            return Mixed(frozenset({pid}))  # added straight into a loss
        value = self.bind_terms(value, anchor, frame)
        pids = penalty_ids(current) | penalty_ids(value)
        if not pids:
            return UNKNOWN
        if _penalty_only(current) and _penalty_only(value):
            # `l1_ratio * l1 + (1 - l1_ratio) * l2`: still only penalties, scaled together later.
            return Mixed(pids, _scales(current) + _scales(value), pure=True)
        # The penalties meet the data loss here: their factors are final.
        self.note_scale(current)
        self.note_scale(value)
        return Mixed(pids)

    def bind_target(self, target: cst.BaseExpression, value: Value, frame: Frame) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            items: Sequence[Value]
            if isinstance(value, (TupleVal, ListVal)) and len(value.items) == len(elements):
                items = value.items
            else:
                items = [UNKNOWN] * len(elements)
            for element, item in zip(elements, items):
                self.bind_target(element, item, frame)
            return
        name = dotted(target)
        if name is not None:
            frame.env[name] = value

    # ------------------------------------------------------------------ filters

    def _apply_filter(self, frame: Frame, test: cst.BaseExpression, positive: bool) -> list[tuple[str, Value]]:
        """Rebind loop parameters that `test` (or its negation) filters; return what to restore."""
        rebound: list[tuple[str, Value]] = []
        loop_names = {
            name: value for name, value in frame.env.items() if isinstance(value, (Param, ParamName)) and value.pset is not None
        }
        if not loop_names:
            return rebound
        text = condition_filter(test, set(loop_names), positive)
        if text is None:
            return rebound
        psets = {id(v.pset) for v in loop_names.values() if _mentions_name(test, _names_of(loop_names, v.pset))}
        for name, value in loop_names.items():
            if value.pset is not None and id(value.pset) in psets and value.pset.unfiltered:
                rebound.append((name, value))
                new_set = replace(value.pset, unfiltered=False, filter_text=text)
                frame.env[name] = replace(value, pset=new_set)
        return rebound

    @staticmethod
    def _restore(frame: Frame, rebound: list[tuple[str, Value]]) -> None:
        for name, value in rebound:
            current = frame.env.get(name)
            if isinstance(current, (Param, ParamName)):
                frame.env[name] = value

    # ------------------------------------------------------------------ expressions

    def ev(self, node: cst.BaseExpression, frame: Frame) -> Value:
        try:
            return self._ev(node, frame)
        except RecursionError:
            return UNKNOWN

    def _ev(self, node: cst.BaseExpression, frame: Frame) -> Value:
        if isinstance(node, (cst.Integer, cst.Float)):
            try:
                return Num(float(node.value.replace("_", "")), node.value, node)
            except ValueError:
                return UNKNOWN
        if isinstance(node, cst.SimpleString):
            try:
                return Str(node.evaluated_value if isinstance(node.evaluated_value, str) else "")
            except Exception:
                return UNKNOWN
        if isinstance(node, cst.Name):
            if node.value in ("True", "False"):
                return Num(1.0 if node.value == "True" else 0.0, node.value, node)
            if node.value == "None":
                return Num(None, "None", node)
            found = frame.lookup(node.value)
            return found if found is not None else UNKNOWN
        if isinstance(node, cst.Attribute):
            return self.ev_attribute(node, frame)
        if isinstance(node, cst.Call):
            return self.ev_call(node, frame)
        if isinstance(node, cst.BinaryOperation):
            return self.ev_binary(node, frame)
        if isinstance(node, cst.UnaryOperation):
            operand = self.ev(node.expression, frame)
            if isinstance(node.operator, cst.Minus) and isinstance(operand, Num):
                return Num(-operand.value if operand.value is not None else None, "-" + operand.text, node)
            if isinstance(operand, (Terms, PenaltyRef, Mixed)) and isinstance(node.operator, cst.Minus):
                return self.bind_terms(operand, node, frame)
            return UNKNOWN
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            items = []
            for element in node.elements:
                value = self.ev(element.value, frame)
                if isinstance(element, cst.StarredElement):
                    if isinstance(value, ListVal):
                        items.extend(value.items)
                        continue
                    value = value if isinstance(value, ParamIter) else UNKNOWN
                items.append(value)
            return TupleVal(tuple(items)) if isinstance(node, cst.Tuple) else ListVal(tuple(items))
        if isinstance(node, cst.Dict):
            return self.ev_dict(node, frame)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
            return self.ev_comprehension(node, frame)
        if isinstance(node, cst.Subscript):
            return self.ev_subscript(node, frame)
        if isinstance(node, cst.IfExp):
            body = self.ev(node.body, frame)
            other = self.ev(node.orelse, frame)
            if isinstance(body, Num) and isinstance(other, Num) and body.value == other.value:
                return body
            if isinstance(body, Num) or isinstance(other, Num):
                return Num(None, self.module.code_for_node(node), node)
            return body if body == other else UNKNOWN
        if isinstance(node, cst.BooleanOperation):
            self.ev(node.left, frame)
            self.ev(node.right, frame)
            return UNKNOWN
        if isinstance(node, cst.Comparison):
            return UNKNOWN
        if isinstance(node, cst.NamedExpr):
            value = self.ev(node.value, frame)
            self.bind_target(node.target, value, frame)
            return value
        if isinstance(node, cst.Await):
            return self.ev(node.expression, frame)
        return UNKNOWN

    def ev_attribute(self, node: cst.Attribute, frame: Frame) -> Value:
        text = dotted(node)
        if text is not None:
            found = frame.lookup(text)
            if found is not None:
                return found
        base = self.ev(node.value, frame)
        attr = node.attr.value
        if isinstance(base, Unknown) and isinstance(node.value, cst.Name) and attr in self.argparse_defaults:
            # `args.wd` where the file declares `add_argument("--wd", default=...)`.
            # Still a value the user may override on the command line: unknown, but say the default.
            default = self.argparse_defaults[attr]
            return Num(None, f"{text} (default {default:g})" if default is not None else (text or attr), node)
        if isinstance(base, Param):
            if attr == "data":
                return replace(base, gradless=".data")
            if attr in ("T", "mT"):
                return base
            return UNKNOWN
        if isinstance(base, Flat) and attr == "data":
            return replace(base, gradless=".data")
        if attr in ("weight", "bias") or attr.endswith("_weight"):
            if not isinstance(base, (Num, Str, Terms, PenaltyRef, Mixed, ParamIter, Flat, Elementwise, DictVal, ListVal, TupleVal)):
                return Param(None, text or self.module.code_for_node(node))
        return UNKNOWN

    def ev_subscript(self, node: cst.Subscript, frame: Frame) -> Value:
        base = self.ev(node.value, frame)
        if isinstance(base, ParamIter) and base.kind in ("dict", "params"):
            explicit = replace(base.pset, unfiltered=False, filter_text=self.module.code_for_node(node))
            return Param(explicit, self.module.code_for_node(node), base.pset.gradless)
        if isinstance(base, (TupleVal, ListVal)) and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index):
                key = self.ev(index.value, frame)
                if isinstance(key, Num) and key.value is not None and float(key.value).is_integer():
                    position = int(key.value)
                    if -len(base.items) <= position < len(base.items):
                        return base.items[position]
        if isinstance(base, DictVal) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = self.ev(node.slice[0].slice.value, frame)
            if isinstance(key, Str):
                found = base.get(key.value)
                if found is not None:
                    return found[0]
        return UNKNOWN

    def ev_dict(self, node: cst.Dict, frame: Frame) -> Value:
        entries = []
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = self.ev(element.key, frame)
                value = self.ev(element.value, frame)
                key_text = key.value if isinstance(key, Str) else None
                if key_text == "loss":
                    self.mark_loss(self.bind_terms(value, element.value, frame), "loss")
                entries.append((key_text, value, element.key, element.value))
            else:
                expanded = self.ev(element.value, frame)
                if isinstance(expanded, DictVal):
                    entries.extend(expanded.entries)
                else:
                    entries.append((None, UNKNOWN, None, element.value))
        return DictVal(node, tuple(entries))

    def ev_binary(self, node: cst.BinaryOperation, frame: Frame) -> Value:
        left = self.ev(node.left, frame)
        right = self.ev(node.right, frame)
        op = node.operator
        if isinstance(op, cst.Power):
            if isinstance(right, Num) and right.value == 2:
                squared = T.square(left, node)
                if squared is not None:
                    return squared
            if isinstance(right, Num) and right.value == 0.5:
                rooted = T.sqrt(left, node)
                if rooted is not None:
                    return rooted
            if isinstance(left, Num) and isinstance(right, Num) and left.value is not None and right.value is not None:
                try:
                    return Num(float(left.value**right.value), self.module.code_for_node(node), node)
                except (OverflowError, ZeroDivisionError):
                    return UNKNOWN
            return UNKNOWN
        if isinstance(op, cst.Multiply):
            if left == right and isinstance(left, (Param, Flat)):
                return Elementwise(left, "sq")
            return self.scale(left, right, node, frame)
        if isinstance(op, cst.Divide):
            if isinstance(left, Num) and isinstance(right, Num):
                if left.value is not None and right.value:
                    return Num(left.value / right.value, self.module.code_for_node(node), node)
                return Num(None, self.module.code_for_node(node), node)
            if isinstance(right, Num):
                return self.scale(left, Num(None if not right.value else 1 / right.value, "1/" + right.text, right.node), node, frame)
            if isinstance(left, (Terms, PenaltyRef)):
                return left
            return UNKNOWN
        if isinstance(op, (cst.Add, cst.Subtract)):
            if isinstance(left, Num) and isinstance(right, Num):
                if left.value is not None and right.value is not None:
                    total = left.value + right.value if isinstance(op, cst.Add) else left.value - right.value
                    return Num(total, self.module.code_for_node(node), node)
                return Num(None, self.module.code_for_node(node), node)
            if isinstance(left, Terms) and isinstance(right, Terms):
                return Terms(left.terms + right.terms)
            if isinstance(left, ParamIter) and isinstance(right, ParamIter):
                return _union(left, right)
            if isinstance(left, ListVal) and isinstance(right, ListVal):
                return ListVal(left.items + right.items)
            if isinstance(left, (AccumulatorStart, Num)) and isinstance(right, Terms):
                return self.combine_add(left, right, node, frame, in_place=False)
            result = self.combine_add(left, right, node, frame, in_place=False) if (penalty_ids(left) or isinstance(right, Terms)) else None
            if result is None and (penalty_ids(right) or isinstance(left, Terms)):
                result = self.combine_add(right, left, node, frame, in_place=False)
            if result is not None:
                # `loss = loss + reg` after `loss.backward()`: remembered for RL104.
                return result
            return UNKNOWN
        return UNKNOWN

    def scale(self, left: Value, right: Value, node: cst.CSTNode, frame: Frame) -> Value:
        """`coefficient * penalty` keeps the penalty and remembers the coefficient."""
        for factor, other in ((left, right), (right, left)):
            if isinstance(other, Terms) and isinstance(factor, (Num, Unknown)):
                return replace(other, coefficient=_times(other.coefficient, factor, node))
            if isinstance(other, Elementwise) and isinstance(factor, (Num, Unknown)):
                return other
            if isinstance(other, PenaltyRef) and isinstance(factor, (Num, Unknown)):
                return replace(other, scale=_times(other.scale, factor, node))
            if isinstance(other, Mixed) and other.pure and isinstance(factor, (Num, Unknown)):
                scaled = tuple((pid, _times(scale, factor, node)) for pid, scale in other.scales)
                return Mixed(other.pids, scaled, pure=True)
            if isinstance(other, Mixed):
                return other
        if isinstance(left, Num) and isinstance(right, Num):
            if left.value is not None and right.value is not None:
                return Num(left.value * right.value, self.module.code_for_node(node), node)
            return Num(None, self.module.code_for_node(node), node)
        return UNKNOWN

    def note_scale(self, value: Value) -> None:
        """Where a scaled penalty meets the loss, its factor becomes one of the record's coefficients."""
        for pid, scale in _scales(value):
            if scale is None:
                continue
            record = self.records[pid]
            if all(existing is not scale for existing in record.outers):
                record.outers.append(scale)

    # ------------------------------------------------------------------ comprehensions

    def ev_comprehension(self, node: Union[cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp], frame: Frame) -> Value:
        inner = Frame(frame.name, {}, frame, frame.class_name, depth=frame.depth, no_grad=frame.no_grad, no_grad_what=frame.no_grad_what)
        clause: Optional[cst.CompFor] = node.for_in
        filters: list[str] = []
        while clause is not None:
            iterable = self.ev(clause.iter, inner)
            self.bind_target(clause.target, element_of(iterable, self), inner)
            for condition in clause.ifs:
                rebound = self._apply_filter(inner, condition.test, positive=True)
                if rebound:
                    filters.append(self.module.code_for_node(condition.test))
            clause = clause.inner_for_in
        if isinstance(node, cst.DictComp):
            key = self.ev(node.key, inner)
            value = self.ev(node.value, inner)
            if isinstance(key, ParamName) and isinstance(value, Param) and value.pset is not None:
                return ParamIter(value.pset, "dict")
            return UNKNOWN
        element = self.ev(node.elt, inner)
        if isinstance(element, Param) and element.pset is not None:
            return ParamIter(element.pset, "params") if element.gradless is None else ParamIter(replace(element.pset, gradless=element.gradless), "params")
        if isinstance(element, Param) and element.pset is None:
            return ParamIter(ParamSet(owner=element.text, origin="explicit", node=node, unfiltered=False), "params")
        if isinstance(element, TupleVal) and len(element.items) == 2:
            name, param = element.items
            if isinstance(name, ParamName) and isinstance(param, Param) and param.pset is not None:
                return ParamIter(param.pset, "pairs")
        if isinstance(element, ParamName):
            return ParamIter(element.pset, "names")
        if isinstance(element, Terms):
            return Terms(element.terms, per_element=True)
        if isinstance(element, Flat):
            return element
        return UNKNOWN

    # ------------------------------------------------------------------ calls

    def ev_call(self, node: cst.Call, frame: Frame) -> Value:
        func = node.func
        qualified = self.imports.qualify_call_target(func, QUALIFIED) if isinstance(func, (cst.Name, cst.Attribute)) else None
        args = [a for a in node.args if a.keyword is None and not a.star]
        if qualified is not None and spec_for(qualified) is not None:
            return self.ev_optimizer(node, qualified, frame)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            base = self.ev(func.value, frame) if qualified is None or not qualified.startswith("torch") else UNKNOWN
            result = self.ev_method(node, base, method, args, frame)
            if result is not None:
                return result
        if qualified is not None and qualified.startswith("torch."):
            return self.ev_torch(node, qualified, args, frame)
        if isinstance(func, cst.Name):
            builtin = self.ev_builtin(node, func.value, args, frame)
            if builtin is not None:
                return builtin
            local = frame.function(func.value)
            if local is not None:
                return self.inline(local, node, frame, None)
        if isinstance(func, cst.Attribute):
            return self.ev_method_call(node, func, frame)
        for arg in node.args:
            self.ev(arg.value, frame)
        return UNKNOWN

    def ev_method_call(self, node: cst.Call, func: cst.Attribute, frame: Frame) -> Value:
        name = func.attr.value
        owner = func.value
        if isinstance(owner, cst.Name) and owner.value in ("self", "cls") and frame.class_name is not None:
            for class_name, method in self.methods.get(name, []):
                if class_name == frame.class_name:
                    return self.inline(method, node, frame, class_name)
        candidates = self.methods.get(name, [])
        if len(candidates) == 1 and name not in _COMMON_METHODS:
            class_name, method = candidates[0]
            return self.inline(method, node, frame, class_name)
        for arg in node.args:
            self.ev(arg.value, frame)
        return UNKNOWN

    def ev_method(self, node: cst.Call, base: Value, method: str, args: list[cst.Arg], frame: Frame) -> Optional[Value]:
        """Methods whose meaning the analysis knows, on the value they are called on."""
        if method in ("parameters", "named_parameters", "state_dict") and not isinstance(base, (ParamIter, Param, Num, Str)):
            owner = dotted(node.func.value) if isinstance(node.func, cst.Attribute) else None  # type: ignore[union-attr]
            owner = owner or self.module.code_for_node(node.func.value)  # type: ignore[union-attr]
            keep_vars = any(a.keyword is not None and a.keyword.value == "keep_vars" and _is_true(a.value) for a in node.args)
            gradless = "state_dict() values" if method == "state_dict" and not keep_vars else None
            pset = ParamSet(owner=owner, origin=method, node=node, unfiltered=True, gradless=gradless)
            kind = {"parameters": "params", "named_parameters": "pairs", "state_dict": "dict"}[method]
            return ParamIter(pset, kind)
        if method in ("modules", "children", "named_modules", "named_children"):
            return UNKNOWN
        if isinstance(base, ParamIter):
            if method == "items" and base.kind == "dict":
                return ParamIter(base.pset, "pairs")
            if method == "values" and base.kind == "dict":
                return ParamIter(base.pset, "params")
            if method == "keys" and base.kind == "dict":
                return ParamIter(base.pset, "names")
            if method in ("append", "extend", "add"):
                return UNKNOWN
            if method == "copy":
                return base
            return UNKNOWN
        if isinstance(base, ListVal) and method in ("append", "extend", "insert") and node.args:
            name = dotted(node.func.value)  # type: ignore[union-attr]
            item = self.ev(node.args[-1].value, frame)
            if name is not None:
                frame.env[name] = _append(base, item, method)
            return UNKNOWN
        if isinstance(base, ParamIter) is False and isinstance(base, Param) is False and method in ("append", "extend") and node.args:
            name = dotted(node.func.value)  # type: ignore[union-attr]
            item = self.ev(node.args[-1].value, frame)
            if name is not None and isinstance(frame.lookup(name), ParamIter):
                existing = frame.lookup(name)
                assert isinstance(existing, ParamIter)
                if isinstance(item, Param) and item.pset is not None:
                    frame.env[name] = _union(existing, ParamIter(item.pset))
            return UNKNOWN if name is None or not isinstance(frame.lookup(name), ParamIter) else UNKNOWN
        if isinstance(base, (Param, Flat)):
            return self.ev_tensor_method(node, base, method, args, frame)
        if isinstance(base, (Elementwise, Terms, PenaltyRef)):
            return self.ev_term_method(node, base, method, args, frame)
        if method == "backward" and not args:
            self.note_backward(node, base, node.func.value, frame)  # type: ignore[union-attr]
            return UNKNOWN
        if method in BACKWARD_FUNCTIONS and args:
            loss_node = args[0].value
            self.note_backward(node, self.ev(loss_node, frame), loss_node, frame)
            return UNKNOWN
        if method == "scale" and len(args) == 1 and isinstance(base, Unknown):
            # GradScaler.scale(loss)
            return self.ev(args[0].value, frame)
        if isinstance(base, Mixed) and method in ("mean", "sum", "float", "to", "cuda", "squeeze", "clone"):
            return base
        if isinstance(base, Mixed) and method in ("item", "detach", "cpu", "tolist"):
            return UNKNOWN
        if isinstance(base, DictVal) and method == "get" and args:
            key = self.ev(args[0].value, frame)
            if isinstance(key, Str):
                found = base.get(key.value)
                return found[0] if found is not None else UNKNOWN
        return None

    def ev_tensor_method(self, node: cst.Call, base: Union[Param, Flat], method: str, args: list[cst.Arg], frame: Frame) -> Optional[Value]:
        if method in ("view", "flatten", "reshape", "ravel", "contiguous", "view_as", "float", "double", "to", "cuda", "squeeze", "unsqueeze", "t"):
            return base
        if method in ("detach", "numpy", "cpu", "tolist", "clone") and method != "clone":
            if method == "cpu":
                return base
            return replace(base, gradless=f".{method}()")
        if method == "clone":
            return base
        if method == "abs":
            return Elementwise(base, "abs")
        if method in ("square",):
            return Elementwise(base, "sq")
        if method == "pow" and args:
            exponent = self.ev(args[0].value, frame)
            if isinstance(exponent, Num) and exponent.value == 2:
                return Elementwise(base, "sq")
            return UNKNOWN
        if method == "norm":
            return T.norm_term(node, base, node.args, frame, self, tensor_first=False)
        return UNKNOWN

    def ev_term_method(self, node: cst.Call, base: Value, method: str, args: list[cst.Arg], frame: Frame) -> Optional[Value]:
        if method in ("sum", "mean") and isinstance(base, Elementwise) and not args:
            return T.reduce(base, node, frame, self)
        if method == "sum" and isinstance(base, Terms) and base.per_element and not args:
            # torch.stack([term(p) for p in params]).sum()
            return self.bind_terms(Terms(base.terms), node, frame)
        if isinstance(base, Elementwise) and method in ("sum", "mean"):
            return UNKNOWN  # a reduction over a dim is not a norm of the whole tensor
        if method == "sqrt":
            return T.sqrt(base, node) or UNKNOWN
        if method in ("pow",) and args:
            exponent = self.ev(args[0].value, frame)
            if isinstance(exponent, Num) and exponent.value == 2:
                return T.square(base, node) or UNKNOWN
            if isinstance(exponent, Num) and exponent.value == 0.5:
                return T.sqrt(base, node) or UNKNOWN
            return UNKNOWN
        if method == "square":
            return T.square(base, node) or UNKNOWN
        if method in ("item", "tolist") and isinstance(base, Terms):
            return T.gradless(base, f".{method}()")
        if method in ("detach", "numpy") and isinstance(base, Terms):
            return T.gradless(base, f".{method}()")
        if method in ("to", "cuda", "float", "double", "cpu", "clone", "squeeze", "reshape", "view"):
            return base
        if method in ("item", "detach", "tolist"):
            return UNKNOWN
        return None

    def ev_torch(self, node: cst.Call, qualified: str, args: list[cst.Arg], frame: Frame) -> Value:
        name = qualified[len("torch."):]
        first = self.ev(args[0].value, frame) if args else UNKNOWN
        if name in ("abs", "absolute"):
            return Elementwise(first, "abs") if isinstance(first, (Param, Flat)) else UNKNOWN
        if name == "square":
            if isinstance(first, (Param, Flat)):
                return Elementwise(first, "sq")
            return T.square(first, node) or UNKNOWN
        if name == "pow" and len(args) >= 2:
            exponent = self.ev(args[1].value, frame)
            if isinstance(exponent, Num) and exponent.value == 2:
                if isinstance(first, (Param, Flat)):
                    return Elementwise(first, "sq")
                return T.square(first, node) or UNKNOWN
            return UNKNOWN
        if name in ("sum", "mean") and len(node.args) == 1:
            if isinstance(first, Elementwise):
                return T.reduce(first, node, frame, self)
            if isinstance(first, Terms) and first.per_element:
                return self.bind_terms(Terms(first.terms), node, frame)
            if isinstance(first, Terms):
                return first
            return UNKNOWN
        if name == "sqrt":
            return T.sqrt(first, node) or UNKNOWN
        if name in ("norm", "linalg.norm", "linalg.vector_norm", "functional.norm"):
            if isinstance(first, (Param, Flat)):
                return T.norm_term(node, first, node.args[1:], frame, self, tensor_first=True)
            return UNKNOWN
        if name in ("nn.utils.parameters_to_vector", "nn.utils.convert_parameters.parameters_to_vector") and args:
            if isinstance(first, ParamIter) and first.kind == "params":
                return Flat(first.pset, node, first.pset.gradless)
            return UNKNOWN
        if name in ("cat", "concat", "concatenate", "hstack") and args:
            if isinstance(first, ParamIter) and first.kind == "params":
                return Flat(first.pset, node, first.pset.gradless)
            return UNKNOWN
        if name == "stack" and args:
            if isinstance(first, Terms):
                return first
            if isinstance(first, ListVal) and all(isinstance(i, Terms) for i in first.items) and first.items:
                return Terms(tuple(t for i in first.items for t in i.terms), per_element=True)  # type: ignore[union-attr]
            return UNKNOWN
        if name == "flatten" and isinstance(first, (Param, Flat)):
            return first
        if name in ("tensor", "zeros", "Tensor", "FloatTensor", "scalar_tensor", "as_tensor", "ones", "zeros_like", "empty"):
            return self.accumulator_start(node, name, frame)
        return UNKNOWN

    def accumulator_start(self, node: cst.Call, name: str, frame: Frame) -> Value:
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        positional = [a.value for a in node.args if a.keyword is None]
        if name in ("zeros_like", "empty", "ones"):
            return UNKNOWN
        if name in ("tensor", "scalar_tensor", "as_tensor", "Tensor", "FloatTensor"):
            if len(positional) != 1:
                return UNKNOWN
            data = positional[0]
            if isinstance(data, (cst.List, cst.Tuple)):
                if len(data.elements) != 1:
                    return UNKNOWN
                data = data.elements[0].value
                zero_dim = False
            else:
                zero_dim = name != "Tensor" and name != "FloatTensor"
            value = self.ev(data, frame)
            if not isinstance(value, Num) or value.value != 0:
                return UNKNOWN
            integer = isinstance(data, cst.Integer) and name in ("tensor", "as_tensor") and "dtype" not in keywords
        else:  # zeros
            if len(positional) != 1:
                return UNKNOWN
            size = self.ev(positional[0], frame)
            if not isinstance(size, Num) or size.value != 1:
                return UNKNOWN
            zero_dim = False
            integer = False
        device_less = "device" not in keywords
        requires_grad = "requires_grad" in keywords and isinstance(keywords["requires_grad"], cst.Name) and keywords["requires_grad"].value == "True"
        accumulator = Accumulator(
            name="",
            node=node,
            device_less=device_less,
            integer=integer,
            leaf_requires_grad=requires_grad,
            text=self.module.code_for_node(node),
            zero_dim=zero_dim,
        )
        self.accumulators[id(node)] = accumulator
        return AccumulatorStart(accumulator)

    def ev_builtin(self, node: cst.Call, name: str, args: list[cst.Arg], frame: Frame) -> Optional[Value]:
        if frame.function(name) is not None:
            return None
        first = self.ev(args[0].value, frame) if args else UNKNOWN
        if name == "sum":
            if isinstance(first, Terms):
                return self.bind_terms(Terms(first.terms), node, frame)
            if isinstance(first, ListVal) and first.items and all(isinstance(i, Terms) for i in first.items):
                return self.bind_terms(Terms(tuple(t for i in first.items for t in i.terms)), node, frame)  # type: ignore[union-attr]
            return UNKNOWN
        if name == "abs":
            return Elementwise(first, "abs") if isinstance(first, (Param, Flat)) else UNKNOWN
        if name in ("list", "tuple", "iter", "sorted", "set"):
            return first if isinstance(first, (ParamIter, ListVal)) else UNKNOWN
        if name == "float" and isinstance(first, Terms):
            return T.gradless(first, "float()")
        if name == "float" and isinstance(first, Num):
            return first
        if name == "filter" and len(args) == 2:
            iterable = self.ev(args[1].value, frame)
            predicate = args[0].value
            if isinstance(iterable, ParamIter) and isinstance(predicate, cst.Lambda):
                params = [p.name.value for p in predicate.params.params]
                text = condition_filter(predicate.body, set(params))
                return iterable if text is None else iterable.filtered(text)
            return iterable if isinstance(iterable, ParamIter) else UNKNOWN
        if name == "enumerate" and isinstance(first, (ParamIter, ListVal)):
            return _Enumerated(first)
        if name == "dict" and not args:
            return self.ev_dict_call(node, frame)
        if name in ("len", "print", "isinstance", "range", "zip", "max", "min", "int", "str", "repr", "getattr", "hasattr", "setattr", "super", "type"):
            return UNKNOWN
        return None

    def ev_dict_call(self, node: cst.Call, frame: Frame) -> Value:
        entries = []
        for arg in node.args:
            if arg.keyword is not None:
                entries.append((arg.keyword.value, self.ev(arg.value, frame), arg.keyword, arg.value))
        return DictVal(node, tuple(entries))

    def note_backward(self, node: cst.Call, loss: Value, loss_node: cst.BaseExpression, frame: Frame) -> None:
        self.mark_loss(loss)
        pids = tuple(sorted(penalty_ids(loss)))
        if id(node) not in self.backwards:
            self.backwards[id(node)] = BackwardCall(node=node, scope=frame.name, penalties=pids)
        while (
            isinstance(loss_node, cst.Call)
            and isinstance(loss_node.func, cst.Attribute)
            and loss_node.func.attr.value == "scale"
            and len(loss_node.args) == 1
        ):
            loss_node = loss_node.args[0].value  # scaler.scale(loss).backward()
        name = dotted(loss_node)
        if name is not None:
            frame.backward_on[name] = node
            # A late addition followed by a backward() of the same loss is not late after all.
            frame.late = [entry for entry in frame.late if entry[3] != name]

    def _check_late(self, name: str, value: Value, statement: cst.CSTNode, frame: Frame) -> None:
        """RL104: `loss = loss + reg` / `loss += reg` after `loss.backward()`."""
        new = penalty_ids(value)
        if not new:
            return
        sources = [n for n in frame.backward_on if _mentions(statement, n)]
        for source in sources:
            for pid in new:
                key = (pid, id(statement))
                if any(entry[0] == pid and entry[1] is statement for entry in frame.late):
                    continue
                del key
                frame.late.append((pid, statement, frame.backward_on[source], name, source))

    def flush_late(self, frame: Frame) -> None:
        for pid, statement, backward, name, source in frame.late:
            record = self.records[pid]
            if _mentions(statement, source) and id(statement) not in self.late:
                if record.add_node is None:
                    record.add_node = statement
                self.late[id(statement)] = LateAddition(pid, statement, backward, source)
        frame.late = []

    # ------------------------------------------------------------------ functions

    def inline(self, function: cst.FunctionDef, call: cst.Call, frame: Frame, class_name: Optional[str]) -> Value:
        positional = [self.ev(a.value, frame) for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: self.ev(a.value, frame) for a in call.args if a.keyword is not None}
        if len(self._inline_stack) >= MAX_INLINE_DEPTH or id(function) in self._inline_stack:
            return UNKNOWN
        name = f"{class_name}.{function.name.value}" if class_name else function.name.value
        value = self.call_function(function, positional, keywords, name, class_name, standalone=False)
        if isinstance(value, Terms):
            # A helper that computes a term of its argument: report at the call, where the
            # parameters are chosen, not inside the generic helper.
            return Terms(tuple(replace(t, node=call) for t in value.terms), value.per_element)
        return value

    def call_function(
        self,
        function: cst.FunctionDef,
        positional: list[Value],
        keywords: dict[str, Value],
        name: str,
        class_name: Optional[str],
        standalone: bool,
    ) -> Value:
        frame = Frame(name, {}, self.module_frame, class_name, depth=len(self._inline_stack))
        params = list(function.params.posonly_params) + list(function.params.params)
        if class_name is not None and params and not _is_static(function):
            params = params[1:]  # self / cls
        for index, param in enumerate(params):
            value: Value = UNKNOWN
            if index < len(positional):
                value = positional[index]
            elif param.name.value in keywords:
                value = keywords[param.name.value]
            elif standalone and param.default is not None:
                default = self.ev(param.default, self.module_frame)
                value = Num(None, param.name.value, param.default) if isinstance(default, Num) else UNKNOWN
            elif param.default is not None:
                value = self.ev(param.default, self.module_frame)
            if isinstance(value, Unknown) and standalone:
                value = Num(None, param.name.value, param) if _numeric_name(param.name.value) else UNKNOWN
            frame.env[param.name.value] = value
        for param in function.params.kwonly_params:
            value = keywords.get(param.name.value, UNKNOWN)
            if isinstance(value, Unknown) and _numeric_name(param.name.value):
                value = Num(None, param.name.value, param)
            frame.env[param.name.value] = value
        for decorator in function.decorators:
            name = _decorator_name(decorator, self.imports)
            if name in NO_GRAD_CONTEXTS:
                frame.no_grad += 1
                frame.no_grad_what = "@" + name.replace("autograd.grad_mode.", "").replace("autograd.", "") + "()"
        self._inline_stack.append(id(function))
        try:
            self._collect_local_functions(function, frame)
            self.exec_suite(function.body, frame)
            self.flush_late(frame)
        finally:
            self._inline_stack.pop()
        returned = [r for r, _ in frame.returns if not isinstance(r, Unknown)]
        function_name = function.name.value
        for value, statement in frame.returns:
            self.mark_named(value, function_name)
            if LOSS_FUNCTION.search(function_name):
                self.mark_loss(value, function_name, statement if isinstance(value, Mixed) else None)
        if not returned:
            return UNKNOWN
        if len(returned) == 1 or all(r == returned[0] for r in returned):
            return returned[0]
        pids = frozenset().union(*(penalty_ids(r) for r in returned))
        if pids:
            return Mixed(pids)
        optimizers = [r for r in returned if isinstance(r, OptimizerRef)]
        return optimizers[0] if optimizers else UNKNOWN

    def _collect_local_functions(self, function: cst.FunctionDef, frame: Frame) -> None:
        body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                frame.functions[statement.name.value] = statement

    # ------------------------------------------------------------------ optimizers

    def ev_optimizer(self, node: cst.Call, qualified: str, frame: Frame) -> Value:
        spec = spec_for(qualified)
        assert spec is not None
        positional = [a for a in node.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a for a in node.args if a.keyword is not None}
        star_kwargs = [a for a in node.args if a.star == "**"]
        params_node = positional[0].value if positional else (keywords["params"].value if "params" in keywords else None)
        groups, groups_known = self.param_groups(params_node, frame)
        decay_node: Optional[cst.CSTNode] = None
        decay_arg: Optional[cst.BaseExpression] = None
        if "weight_decay" in keywords:
            decay_arg = keywords["weight_decay"].value
        elif "weight_decay" in spec.positional and len(positional) > 1 + spec.positional.index("weight_decay"):
            decay_arg = positional[1 + spec.positional.index("weight_decay")].value
        extra: Optional[DictVal] = None
        for star in star_kwargs:
            expanded = self.ev(star.value, frame)
            if isinstance(expanded, DictVal):
                extra = expanded
        if decay_arg is not None:
            decay_node = decay_arg
            weight_decay = self.number(decay_arg, frame)
        elif extra is not None and extra.get("weight_decay") is not None:
            found = extra.get("weight_decay")
            assert found is not None
            decay_node = found[1]
            weight_decay = self.number(found[1], frame) if not isinstance(found[0], Num) else _number(found[0], found[1])
        elif star_kwargs and extra is None:
            weight_decay = Number(None, "**" + self.module.code_for_node(star_kwargs[0].value), None, default_used=True)
        else:
            default = spec.default_weight_decay
            weight_decay = Number(default, f"the default {default:g}" if default is not None else "none", None, default_used=True)
        decoupled = None
        if "decoupled_weight_decay" in keywords:
            decoupled = self.number(keywords["decoupled_weight_decay"].value, frame)
        elif "decoupled_weight_decay" in spec.positional and len(positional) > 1 + spec.positional.index("decoupled_weight_decay"):
            decoupled = self.number(positional[1 + spec.positional.index("decoupled_weight_decay")].value, frame)
        keyword_nodes = tuple((k, a.value) for k, a in keywords.items())
        call = OptimizerCall(
            node=node,
            qualname=qualified,
            class_name=spec.name,
            groups=groups,
            groups_known=groups_known,
            weight_decay=weight_decay,
            weight_decay_node=decay_node,
            keywords=keyword_nodes,
            decoupled_flag=decoupled,
            scope=frame.name,
            func_node=node.func,
        )
        existing = self.optimizers.get(id(node))
        if existing is None or (not existing.weight_decay.known and weight_decay.known) or (not existing.groups_known and groups_known):
            self.optimizers[id(node)] = call
        return OptimizerRef(id(node))

    def number(self, node: cst.BaseExpression, frame: Frame) -> Number:
        value = self.ev(node, frame)
        code = self.module.code_for_node(node)
        richer = isinstance(value, Num) and value.text.startswith(code)
        return _number(value, node, value.text if richer else code)  # type: ignore[union-attr]

    def param_groups(self, node: Optional[cst.BaseExpression], frame: Frame) -> tuple[tuple[ParamGroup, ...], bool]:
        if node is None:
            return (), False
        value = self.ev(node, frame)
        if isinstance(value, ParamIter):
            return (ParamGroup(node=node, params=value.pset, weight_decay=None),), True
        if isinstance(value, Param):
            return (ParamGroup(node=node, params=_explicit(value, node), weight_decay=None),), True
        if isinstance(value, ListVal) and value.items:
            if all(isinstance(item, DictVal) for item in value.items):
                groups = []
                known = True
                for item in value.items:
                    assert isinstance(item, DictVal)
                    params_entry = item.get("params")
                    pset: Optional[ParamSet] = None
                    if params_entry is not None:
                        pset = _as_param_set(params_entry[0], params_entry[1])
                    if pset is None:
                        known = False
                    decay_entry = item.get("weight_decay")
                    decay = _number(decay_entry[0], decay_entry[1], self.module.code_for_node(decay_entry[1])) if decay_entry else None
                    keys = tuple((k, key_node) for k, _, key_node, _ in item.entries if k is not None and key_node is not None)
                    if any(k is None for k, *_ in item.entries):
                        known = False
                    groups.append(ParamGroup(node=item.node, params=pset, weight_decay=decay, keys=keys))
                return tuple(groups), known
            if all(isinstance(item, Param) for item in value.items):
                return (ParamGroup(node=node, params=ParamSet(self.module.code_for_node(node), "explicit", node, False), weight_decay=None),), True
        return (ParamGroup(node=node, params=None, weight_decay=None),), False


_COMMON_METHODS = frozenset({
    "forward", "__init__", "step", "zero_grad", "train", "eval", "to", "cuda", "cpu", "update", "__call__", "item",
    "backward", "parameters", "named_parameters", "state_dict", "load_state_dict", "save", "log", "append",
})


@dataclass(frozen=True)
class _Enumerated(Value):
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
    if isinstance(iterable, _Enumerated):
        return TupleVal((Num(None, "index"), element_of(iterable.inner, analyzer)))
    return UNKNOWN


def _union(left: ParamIter, right: ParamIter) -> ParamIter:
    unfiltered = left.pset.unfiltered or right.pset.unfiltered
    base = left if left.pset.unfiltered or not right.pset.unfiltered else right
    if unfiltered:
        return base
    return ParamIter(replace(base.pset, unfiltered=False), base.kind)


def _append(current: ListVal, item: Value, method: str) -> Value:
    if method == "extend":
        if isinstance(item, ParamIter) and not current.items:
            return item
        if isinstance(item, ListVal):
            return ListVal(current.items + item.items)
        return ListVal(current.items + (UNKNOWN,))
    if isinstance(item, Param) and item.pset is not None and not current.items:
        return ParamIter(item.pset, "params")
    return ListVal(current.items + (item,))


def _explicit(param: Param, node: cst.CSTNode) -> ParamSet:
    if param.pset is not None:
        return param.pset
    return ParamSet(owner=param.text, origin="explicit", node=node, unfiltered=False)


def _as_param_set(value: Value, node: cst.CSTNode) -> Optional[ParamSet]:
    if isinstance(value, ParamIter):
        return value.pset
    if isinstance(value, Param):
        return _explicit(value, node)
    if isinstance(value, ListVal) and value.items and all(isinstance(i, Param) for i in value.items):
        return ParamSet(owner="[...]", origin="explicit", node=node, unfiltered=False)
    return None


def _number(value: Value, node: cst.CSTNode, text: Optional[str] = None) -> Number:
    if isinstance(value, Num):
        return Number(value.value, text or value.text, node)
    return Number(None, text or "", node)


def _numeric_name(name: str) -> bool:
    return bool(re.search(r"(decay|wd|lr|lam|lambda|alpha|beta|coef|reg|eps|scale)", name, re.IGNORECASE))


def _penalty_only(value: Value) -> bool:
    return isinstance(value, PenaltyRef) or (isinstance(value, Mixed) and value.pure)


def _scales(value: Value) -> tuple[tuple[int, Optional[Num]], ...]:
    if isinstance(value, PenaltyRef):
        return ((value.pid, value.scale),)
    if isinstance(value, Mixed):
        return value.scales
    return ()


def _times(current: Optional[Num], factor: Value, node: cst.CSTNode) -> Num:
    """current × factor as a Num (value None when either is unknown)."""
    value: Optional[float] = factor.value if isinstance(factor, Num) else None
    factor_node = factor.node if isinstance(factor, Num) and factor.node is not None else node
    text = factor.text if isinstance(factor, Num) else "?"
    if current is None:
        return Num(value, text, factor_node)
    product = current.value * value if current.value is not None and value is not None else None
    return Num(product, f"{current.text}·{text}", current.node or factor_node)


def _argparse_defaults(module: cst.Module) -> dict[str, Optional[float]]:
    """dest -> numeric default of every `add_argument("--name", default=<number>)` in the file."""
    found: dict[str, Optional[float]] = {}

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if not (isinstance(node.func, cst.Attribute) and node.func.attr.value == "add_argument"):
                return
            keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
            names = [a.value.evaluated_value for a in node.args if a.keyword is None and isinstance(a.value, cst.SimpleString)]
            dest_node = keywords.get("dest")
            if isinstance(dest_node, cst.SimpleString):
                dest = dest_node.evaluated_value
            else:
                longs = [n for n in names if isinstance(n, str) and n.startswith("--")]
                chosen = longs[0] if longs else (names[0] if names else None)
                dest = chosen.lstrip("-").replace("-", "_") if isinstance(chosen, str) else None
            if not isinstance(dest, str) or not dest:
                return
            default = keywords.get("default")
            value: Optional[float] = None
            if isinstance(default, (cst.Integer, cst.Float)):
                value = float(default.value.replace("_", ""))
            elif isinstance(default, cst.UnaryOperation) and isinstance(default.expression, (cst.Integer, cst.Float)):
                value = -float(default.expression.value.replace("_", ""))
            elif default is None and "action" not in keywords:
                value = None  # no default: None unless given, which torch.optim rejects
            else:
                return
            found[dest] = value if dest not in found or found[dest] == value else None

    module.visit(Visitor())
    return {k: v for k, v in found.items() if v is not None}


def _decorator_name(decorator: cst.Decorator, imports: ImportMap) -> Optional[str]:
    target = decorator.decorator
    if isinstance(target, cst.Call):
        target = target.func
    return imports.qualify(target) if isinstance(target, (cst.Name, cst.Attribute)) else None


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _is_static(function: cst.FunctionDef) -> bool:
    return any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in function.decorators)


def _nested_statements(statement: Union[cst.If, cst.Try]) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    if isinstance(statement.body, cst.IndentedBlock):
        out.extend(statement.body.body)
    return out


def _continue_guard(statement: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """`if cond: continue` → cond (the rest of the loop body runs when cond is false)."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return None
    body = statement.body
    smalls: Sequence[cst.CSTNode]
    if isinstance(body, cst.SimpleStatementSuite):
        smalls = body.body
    elif isinstance(body, cst.IndentedBlock) and len(body.body) == 1 and isinstance(body.body[0], cst.SimpleStatementLine):
        smalls = body.body[0].body
    else:
        return None
    if len(smalls) == 1 and isinstance(smalls[0], cst.Continue):
        return statement.test
    return None


class _NameFinder(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.found = True

    def visit_Attribute(self, node: cst.Attribute) -> Optional[bool]:
        text = dotted(node)
        if text is not None and text in self.names:
            self.found = True
            return False
        return True


def _mentions(node: cst.CSTNode, name: str) -> bool:
    finder = _NameFinder({name})
    if isinstance(node, cst.Assign):
        node.value.visit(finder)
    elif isinstance(node, cst.AugAssign):
        node.target.visit(finder)
        return True if dotted(node.target) == name else finder.found
    else:
        node.visit(finder)
    return finder.found


def _mentions_name(node: cst.CSTNode, names: set[str]) -> bool:
    finder = _NameFinder(names)
    node.visit(finder)
    return finder.found


def _names_of(loop_names: dict[str, Value], pset: Optional[ParamSet]) -> set[str]:
    return {name for name, value in loop_names.items() if isinstance(value, (Param, ParamName)) and value.pset is pset}
