"""One pass of abstract interpretation over a module, producing FileFacts.

Statements are walked in order, per function, with an environment of abstract values (see
values.py). Loops bind their targets to the elements of what they iterate; `if` conditions and
`continue` guards that test a loop's parameter or its name mark the parameter set as filtered;
calls to helper functions and methods defined in the same file are followed (inlined with their
arguments, a few levels deep). What the analysis cannot see stays UNKNOWN, and rules stay silent
on UNKNOWN.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator, Optional, Sequence

import libcst as cst

from reglint.analysis.calls import CallEvaluator
from reglint.analysis.expressions import ExpressionEvaluator
from reglint.analysis.facts import (
    Accumulator,
    BackwardCall,
    FileFacts,
    LateAddition,
    OptimizerCall,
)
from reglint.analysis.filters import condition_filter
from reglint.analysis.names import ImportMap, dotted
from reglint.analysis.optimizer_calls import OptimizerEvaluator
from reglint.analysis.state import (
    LOSS_FUNCTION,
    LOSS_NAME,
    MAX_INLINE_DEPTH,
    NO_GRAD_CONTEXTS,
    PENALTY_NAME,
    Frame,
    PenaltyRecord,
)
from reglint.analysis.syntax import (
    argparse_defaults,
    continue_guard,
    decorator_name,
    is_static,
    mentions,
    mentions_any,
    nested_statements,
)
from reglint.analysis.valueops import (
    element_of,
    names_of,
    numeric_name,
    penalty_only,
    scales_of,
    times,
)
from reglint.analysis.values import (
    UNKNOWN,
    AccumulatorStart,
    ListVal,
    Mixed,
    Num,
    OptimizerRef,
    Param,
    ParamName,
    PenaltyRef,
    Terms,
    TupleVal,
    Unknown,
    Value,
    penalty_ids,
)


class FileAnalyzer(ExpressionEvaluator, CallEvaluator, OptimizerEvaluator):
    """Walks one module and collects its facts; see the mixins for expressions, calls, optimizers."""

    def __init__(self, module: cst.Module, source: Optional[str] = None) -> None:
        self.module = module
        self.source = source
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
        if self.source is None or "add_argument" in self.source:
            self.argparse_defaults = argparse_defaults(self.module, self.source)
        self._collect_definitions(self.module.body, self.module_frame)
        self.exec_block(self.module.body, self.module_frame)
        self.flush_late(self.module_frame)
        for function, frame_name, class_name in self._all_functions():
            self.call_function(function, [], {}, frame_name, class_name, standalone=True)
        constants = {
            k: v.value
            for k, v in self.module_frame.env.items()
            if isinstance(v, Num) and v.value is not None
        }
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
                        self.methods.setdefault(item.name.value, []).append(
                            (statement.name.value, item)
                        )
            elif isinstance(statement, (cst.If, cst.Try)):
                # Definitions guarded by `if TYPE_CHECKING` / try-imports still count.
                self._collect_definitions(nested_statements(statement), frame)

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

    def mark_loss(
        self,
        value: Value,
        name: Optional[str] = None,
        add_node: Optional[cst.CSTNode] = None,
        frame: Optional[Frame] = None,
    ) -> None:
        if frame is not None and frame.no_grad:
            return  # a loss computed with gradients off (validation, monitoring) is never trained on
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
            guard = continue_guard(statement)
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
        elif isinstance(statement, cst.Match):
            for case in statement.cases:
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
            qualified = (
                self.imports.qualify(target)
                if isinstance(target, (cst.Name, cst.Attribute))
                else None
            )
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

    def assign(
        self, target: cst.BaseExpression, value: Value, statement: cst.CSTNode, frame: Frame
    ) -> None:
        name = dotted(target)
        if isinstance(value, Terms) and not value.per_element:
            value = self.bind_terms(value, statement, frame)
        if name is not None:
            self._check_late(name, value, statement, frame)
            if isinstance(value, (PenaltyRef, Mixed)):
                self.mark_named(value, name.split(".")[-1])
                if LOSS_NAME.search(name.split(".")[-1]):
                    self.mark_loss(value, name, statement, frame)
            if name in frame.backward_on and not mentions(statement, name):
                # A fresh loss for the next step: backward() no longer applies to this name.
                frame.backward_on.pop(name, None)
        self.bind_target(target, value, frame)

    def exec_augassign(self, statement: cst.AugAssign, frame: Frame) -> None:
        name = dotted(statement.target)
        current = self.ev(statement.target, frame)
        value = self.ev(statement.value, frame)
        if not isinstance(statement.operator, (cst.AddAssign, cst.SubtractAssign)):
            if (
                isinstance(statement.operator, cst.MultiplyAssign)
                and isinstance(current, PenaltyRef)
                and isinstance(value, Num)
            ):
                record = self.records[current.pid]
                record.inner = times(record.inner, value, statement.value)
            return
        result = self.combine_add(current, value, statement, frame, in_place=True)
        if name is None:
            return
        self._check_late(name, result, statement, frame)
        if isinstance(result, (PenaltyRef, Mixed)):
            self.mark_named(result, name.split(".")[-1])
            if LOSS_NAME.search(name.split(".")[-1]) and penalty_ids(value):
                self.mark_loss(result, name, statement, frame)
            elif LOSS_NAME.search(name.split(".")[-1]):
                self.mark_loss(result, name, frame=frame)
        frame.env[name] = result

    def combine_add(
        self, current: Value, value: Value, anchor: cst.CSTNode, frame: Frame, in_place: bool
    ) -> Value:
        """`current + value` where either side may be a penalty: accumulators become penalties."""
        if isinstance(value, Terms) and (
            isinstance(current, PenaltyRef) or not penalty_ids(current)
        ):
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
        if penalty_only(current) and penalty_only(value):
            # `l1_ratio * l1 + (1 - l1_ratio) * l2`: still only penalties, scaled together later.
            return Mixed(pids, scales_of(current) + scales_of(value), pure=True)
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

    def _apply_filter(
        self, frame: Frame, test: cst.BaseExpression, positive: bool
    ) -> list[tuple[str, Value]]:
        """Rebind loop parameters that `test` (or its negation) filters; return what to restore."""
        rebound: list[tuple[str, Value]] = []
        loop_names = {
            name: value
            for name, value in frame.env.items()
            if isinstance(value, (Param, ParamName)) and value.pset is not None
        }
        if not loop_names:
            return rebound
        text = condition_filter(test, set(loop_names), positive)
        if text is None:
            return rebound
        psets = {
            id(v.pset)
            for v in loop_names.values()
            if mentions_any(test, names_of(loop_names, v.pset))
        }
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

    # ------------------------------------------------------------------ functions

    def inline(
        self, function: cst.FunctionDef, call: cst.Call, frame: Frame, class_name: Optional[str]
    ) -> Value:
        positional = [
            self.ev(a.value, frame) for a in call.args if a.keyword is None and not a.star
        ]
        keywords = {
            a.keyword.value: self.ev(a.value, frame) for a in call.args if a.keyword is not None
        }
        if len(self._inline_stack) >= MAX_INLINE_DEPTH or id(function) in self._inline_stack:
            return UNKNOWN
        name = f"{class_name}.{function.name.value}" if class_name else function.name.value
        value = self.call_function(
            function, positional, keywords, name, class_name, standalone=False
        )
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
        if class_name is not None and params and not is_static(function):
            params = params[1:]  # self / cls
        for index, param in enumerate(params):
            value: Value = UNKNOWN
            if index < len(positional):
                value = positional[index]
            elif param.name.value in keywords:
                value = keywords[param.name.value]
            elif standalone and param.default is not None:
                default = self.ev(param.default, self.module_frame)
                value = (
                    Num(None, param.name.value, param.default)
                    if isinstance(default, Num)
                    else UNKNOWN
                )
            elif param.default is not None:
                value = self.ev(param.default, self.module_frame)
            if isinstance(value, Unknown) and standalone:
                value = (
                    Num(None, param.name.value, param)
                    if numeric_name(param.name.value)
                    else UNKNOWN
                )
            frame.env[param.name.value] = value
        for param in function.params.kwonly_params:
            value = keywords.get(param.name.value, UNKNOWN)
            if isinstance(value, Unknown) and numeric_name(param.name.value):
                value = Num(None, param.name.value, param)
            frame.env[param.name.value] = value
        for decorator in function.decorators:
            decorator_qualname = decorator_name(decorator, self.imports)
            if decorator_qualname is not None and decorator_qualname in NO_GRAD_CONTEXTS:
                frame.no_grad += 1
                frame.no_grad_what = (
                    "@" + decorator_qualname.replace("autograd.grad_mode.", "").replace("autograd.", "") + "()"
                )
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
            if class_name is not None and function_name in ("forward", "__call__"):
                self.mark_named(value, class_name)  # class L2Regularizer(nn.Module): def forward
            if LOSS_FUNCTION.search(function_name):
                self.mark_loss(
                    value, function_name, statement if isinstance(value, Mixed) else None, frame
                )
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
