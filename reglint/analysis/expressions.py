"""Expressions: names, attributes, arithmetic on penalties, literals and comprehensions."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence, Union

import libcst as cst

from reglint.analysis import terms as T
from reglint.analysis.facts import (
    ParamGroup,
    ParamSet,
)
from reglint.analysis.names import dotted
from reglint.analysis.optimizers import ALL_NAMES, QUALIFIED, spec_for
from reglint.analysis.state import (
    AnalyzerMixin,
    Frame,
)
from reglint.analysis.syntax import is_none_literal
from reglint.analysis.valueops import (
    carries_penalty,
    chosen_by_key,
    code_to_run_in_turn,
    element_of,
    is_factor,
    is_none,
    is_param_collection,
    join_params,
    one_of,
    penalty_only,
    present_or_none,
    scales_of,
    times,
)
from reglint.analysis.values import (
    UNKNOWN,
    AccumulatorStart,
    BoundMethod,
    ClassRef,
    Closure,
    DictVal,
    Elementwise,
    Flat,
    FunctionRef,
    Instance,
    KeywordArgs,
    LambdaFunction,
    ListVal,
    Mixed,
    Module,
    ModuleRef,
    Num,
    OptimizerClass,
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
from reglint.analysis.vocabulary import (
    COEFFICIENT_WEIGHT_PREFIX,
    MASK_WORD,
    PARAM_ATTRIBUTE_SUFFIX,
    PARAM_ATTRIBUTES,
    PARAM_VIEW_ATTRIBUTES,
    PARAMETER_CLASSES,
    PARSED_ARGUMENT_HOLDERS,
)
from reglint.analysis.walk import subnodes


def _rows_lookup(node: cst.Subscript) -> bool:
    """`w[users]` or `w[users, :]` (every column of the rows looked up)."""
    return all(
        isinstance(element.slice, cst.Slice) and element.slice.lower is None and element.slice.upper is None and element.slice.step is None
        for element in node.slice[1:]
    )


class ExpressionEvaluator(AnalyzerMixin):
    # ------------------------------------------------------------------ expressions

    def ev(self, node: cst.BaseExpression, frame: Frame) -> Value:
        try:
            return self._ev(node, frame)
        except RecursionError:
            return UNKNOWN

    def _ev(self, node: cst.BaseExpression, frame: Frame) -> Value:
        # Dispatch on the node's own class: libcst's classes are ABCs, and a chain of isinstance
        # tests pays an ABC check for each class a node is not.
        method = _EVALUATORS.get(type(node))
        return UNKNOWN if method is None else getattr(self, method)(node, frame)  # type: ignore[no-any-return]

    def ev_number(self, node: Union[cst.Integer, cst.Float], frame: Frame) -> Value:
        try:
            return Num(float(node.value.replace("_", "")), node.value, self.here(node))
        except ValueError:
            return UNKNOWN

    def ev_string(self, node: cst.SimpleString, frame: Frame) -> Value:
        text = string_value(node)
        return UNKNOWN if text is None else Str(text)

    def ev_formatted(self, node: Union[cst.FormattedString, cst.ConcatenatedString], frame: Frame) -> Value:
        """An f-string runs the code in its fields (`print(f"{trainer.train_epoch(loader):.4f}")`
        runs an epoch); the text it makes is unknown."""
        parts: list[cst.CSTNode] = [node.left, node.right] if isinstance(node, cst.ConcatenatedString) else list(node.parts)
        while parts:
            part = parts.pop()
            if isinstance(part, cst.FormattedStringExpression):
                self.ev(part.expression, frame)
                if part.format_spec:
                    parts.extend(part.format_spec)
            elif isinstance(part, (cst.FormattedString, cst.ConcatenatedString)):
                self.ev(part, frame)
        return UNKNOWN

    def ev_name(self, node: cst.Name, frame: Frame) -> Value:
        if node.value in ("True", "False"):
            return Num(1.0 if node.value == "True" else 0.0, node.value, node)
        if node.value == "None":
            return Num(None, "None", node)
        found = frame.lookup(node.value)
        if found is not None:
            return found
        return self.global_name(node, frame)

    def ev_unary(self, node: cst.UnaryOperation, frame: Frame) -> Value:
        operand = self.ev(node.expression, frame)
        if isinstance(node.operator, cst.Minus) and isinstance(operand, Num):
            return Num(-operand.value if operand.value is not None else None, "-" + operand.text, node)
        if isinstance(operand, (Terms, PenaltyRef, Mixed)) and isinstance(node.operator, cst.Minus):
            return self.bind_terms(operand, node, frame)
        return UNKNOWN

    def ev_sequence(self, node: Union[cst.List, cst.Tuple, cst.Set], frame: Frame) -> Value:
        items: list[Value] = []
        for element in node.elements:
            value = self.ev(element.value, frame)
            if isinstance(element, cst.StarredElement):
                if isinstance(value, ListVal):
                    items.extend(value.items)
                    continue
                value = value if isinstance(value, ParamIter) else UNKNOWN
            items.append(value)
        return TupleVal(tuple(items)) if isinstance(node, cst.Tuple) else ListVal(tuple(items))

    def ev_lambda(self, node: cst.Lambda, frame: Frame) -> Value:
        return LambdaFunction(node, frame, self.ctx)

    def ev_boolean(self, node: cst.BooleanOperation, frame: Frame) -> Value:
        self.ev(node.left, frame)
        self.ev(node.right, frame)
        return UNKNOWN

    def ev_named(self, node: cst.NamedExpr, frame: Frame) -> Value:
        value = self.ev(node.value, frame)
        self.bind_target(node.target, value, frame)
        return value

    def ev_await(self, node: cst.Await, frame: Frame) -> Value:
        return self.ev(node.expression, frame)

    def global_name(self, node: cst.Name, frame: Frame) -> Value:
        """A name no assignment bound: a class of the module, or what an import of a project
        module gives (a function, a class, a constant), placed where it is read."""
        found = frame.function_frame(node.value)
        if found is None:
            info = self.classes.get(node.value)
            if info is not None:
                return ClassRef(info)
        elif found[1] is not self.module_frame:
            return Closure(found[0], found[1], self.ctx)  # `return penalty`, a def of this function
        elif self.ctx.home:
            return FunctionRef(self.ctx, found[0])  # `reg_fn = l1_all`: the file's function, as a value
        named = self.optimizer_class(node)
        if named is not None:
            return named
        found = self.imported(node.value)
        if found is None:
            return UNKNOWN
        return Num(found.value, found.text, self.here(node)) if isinstance(found, Num) else found

    def ev_conditional(self, node: cst.IfExp, frame: Frame) -> Value:
        """`a if cond else b`. A penalty on one side and a number (`... if l1_weight else 0`) or
        an unknown value on the other is still the penalty: where the condition holds, it is
        trained on, and the rules speak of that case."""
        from reglint.analysis.branches import parameter_test_taken  # (branches reads this module)

        taken = parameter_test_taken(node.test, frame, self.imports.qualify)
        if taken is not None:
            self.ev(node.test, frame)
            return self.ev(node.body if taken else node.orelse, frame)
        body = self.ev(node.body, frame)
        other = self.ev(node.orelse, frame)
        if body == other:
            return body
        defaulted = _default_when_absent(node)
        if defaulted is not None:
            default, given = (body, other) if defaulted is node.body else (other, body)
            if given is UNKNOWN and is_param_collection(default):
                # `model.parameters() if params is None else params`: the parameters trained where
                # none are given (a number stays unknown: `0 if cfg.wd is None else cfg.wd` is
                # the configured decay wherever one is configured)
                return default
        if isinstance(body, Num) and isinstance(other, Num):
            if body.value == other.value:
                return body
            return Num(None, self.module.code_for_node(node), node)
        for side, rest in ((body, other), (other, body)):
            if carries_penalty(side) and isinstance(rest, (Num, Unknown)):
                return side
            if penalty_ids(side) and penalty_ids(rest) <= penalty_ids(side):
                return side  # `term if total is None else total + term`: the running sum
        present = present_or_none(body, other) or one_of([body, other])
        if present is not None:
            return present  # `reg if cfg.l1 else None`, `l1_all if cfg.l1 else l2_all`
        for side, rest in ((body, other), (other, body)):
            if isinstance(side, Module) and is_none(rest):
                return side  # `self.bias = nn.Parameter(torch.zeros(n)) if bias else None`: a layer the model may hold
        if isinstance(body, ParamIter) and isinstance(other, ParamIter):
            return join_params([body, other], node, self.module.code_for_node(node))
        if isinstance(body, Num) or isinstance(other, Num):
            return Num(None, self.module.code_for_node(node), node)
        return UNKNOWN

    def optimizer_class(self, node: Union[cst.Name, cst.Attribute]) -> Optional[OptimizerClass]:
        """An optimizer class named by the linted file's own code (`torch.optim.Adam`, `Adam`
        from an import), or by a project module's code it runs (names_optimizer_classes); None
        elsewhere. A value that crosses modules does not carry it (linking.plain_value), so the
        triage reads the class name in the file itself (triage/textcut.may_construct_an_optimizer)."""
        last = node.value if isinstance(node, cst.Name) else node.attr.value
        if not self.names_optimizer_classes or last not in ALL_NAMES and not self.imports.aliases.get(last):
            return None
        qualified = self.imports.qualify_call_target(node, QUALIFIED)
        return OptimizerClass(qualified) if qualified is not None and spec_for(qualified) is not None else None

    def explicit_parameter(self, node: cst.CSTNode, text: Optional[str] = None, rows: bool = False) -> Param:
        """One parameter the code names itself (`model.fc.weight`, `self.P`, `tables["user"]`; the
        rows an embedding layer's call looks up): marked as named here where the linted module's
        own code names it (Param.taken_here)."""
        return Param(None, text or self.module.code_for_node(node), taken_here=not self.foreign, rows=rows)

    def ev_attribute(self, node: cst.Attribute, frame: Frame) -> Value:
        text = dotted(node)
        if text is not None:
            found = frame.lookup(text)
            if isinstance(found, Module) and found.layer == "Parameter":
                return self.explicit_parameter(node, text)  # `self.P` of `self.P = nn.Parameter(...)`
            if found is not None:
                return found
        if node.attr.value in ALL_NAMES:
            named = self.optimizer_class(node)
            if named is not None:
                return named
        base = self.ev(node.value, frame)
        attr = node.attr.value
        if isinstance(base, Instance):
            held = self.instances[base.env].get(attr)
            if held is None:
                held = self.class_attributes(base.info).get(attr)
            if isinstance(held, Module) and (
                held.layer == "Parameter" or attr in PARAM_ATTRIBUTES or attr.endswith(PARAM_ATTRIBUTE_SUFFIX)
            ):
                # `self.weight = nn.Parameter(...)`, `self.P = nn.Parameter(torch.randn(n, d))`
                return self.explicit_parameter(node, text)
            if held is not None:
                return Num(held.value, held.text, self.here(node)) if isinstance(held, Num) else held
            found = self.find_method(base.info, attr)
            if found is not None:
                return BoundMethod(base, found[1], found[0].name, found[0].context)  # `model.l1_penalty`
        if isinstance(base, (ModuleRef, ClassRef)):
            crossed = self.attribute_of(base, attr, node)
            if crossed is not None:
                return crossed
        if isinstance(base, DictVal):
            # `cfg.weight_decay` of `cfg = SimpleNamespace(weight_decay=0.0)` (an attribute dict:
            # a plain dict has no such attribute, so code that reads one holds another kind)
            entry = base.get(attr)
            if entry is not None:
                held = entry[0]
                return Num(held.value, held.text, self.here(node)) if isinstance(held, Num) else held
        if (
            isinstance(base, Unknown)
            and (isinstance(node.value, cst.Name) or _holds_parsed_arguments(node.value))
            and attr in self.argparse_defaults
        ):
            # `args.wd` where the file declares `add_argument("--wd", default=...)` (or
            # `self.hparams.wd` of a module handed the parsed arguments).
            # Still a value the user may override on the command line: unknown, but say the default.
            default = self.argparse_defaults[attr]
            return Num(
                None,
                f"{text} (default {default:g})" if default is not None else (text or attr),
                node,
                default=default,
            )
        if isinstance(base, Param):
            if attr == "data":
                return replace(base, gradless=".data")
            if attr in PARAM_VIEW_ATTRIBUTES:
                return base
            return UNKNOWN
        if isinstance(base, Flat) and attr == "data":
            return replace(base, gradless=".data")
        if attr.endswith(PARAM_ATTRIBUTE_SUFFIX) and COEFFICIENT_WEIGHT_PREFIX.match(attr):
            return Num(None, text or self.module.code_for_node(node), node)  # self.reg_weight
        if attr in PARAM_ATTRIBUTES or attr.endswith(PARAM_ATTRIBUTE_SUFFIX):
            if not isinstance(
                base,
                (
                    Num,
                    Str,
                    Terms,
                    PenaltyRef,
                    Mixed,
                    ParamIter,
                    Flat,
                    Elementwise,
                    DictVal,
                    ListVal,
                    TupleVal,
                ),
            ):
                return self.explicit_parameter(node, text)
        return UNKNOWN

    def ev_subscript(self, node: cst.Subscript, frame: Frame) -> Value:
        found = self._ev_subscript(node, frame)
        if isinstance(found, Num) and found.node is None:
            return Num(found.value, found.text, self.here(node))  # placed where it is read
        return found

    def _ev_subscript(self, node: cst.Subscript, frame: Frame) -> Value:
        base = self.ev(node.value, frame)
        if isinstance(base, ParamIter) and base.kind in ("dict", "params"):
            explicit = replace(
                base.pset, unfiltered=False, filter_text=self.module.code_for_node(node)
            )
            return Param(explicit, self.module.code_for_node(node), base.pset.gradless)
        if isinstance(base, Param) and base.pset is None and _rows_lookup(node):
            # `emb0[users]` of `emb0 = self.embedding.weight` (or `[users, :]`): the rows a batch
            # looks up, as a call of the embedding layer gives them (calls.looked_up_rows)
            self.ev_slice(node.slice[0].slice, frame)
            return replace(base, text=self.module.code_for_node(node), rows=True)
        if isinstance(base, KeywordArgs) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = self.ev(node.slice[0].slice.value, frame)
            given = base.value_of(key.value) if isinstance(key, Str) else None
            return given if given is not None else UNKNOWN  # `kwargs["params"]`
        if isinstance(base, Module) and base.layer in PARAMETER_CLASSES and len(node.slice) == 1:
            # `self.embedding_dict['user_emb']` of an `nn.ParameterDict`, `self.ws[i]` of an `nn.ParameterList`
            self.ev_slice(node.slice[0].slice, frame)
            return self.explicit_parameter(node)
        if carries_penalty(base) and len(node.slice) == 1 and _first_or_last(node.slice[0].slice):
            return base  # `l2_reg[0]` of a one-element accumulator (`torch.zeros(1)`): the penalty
        if isinstance(base, (TupleVal, ListVal)) and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index):
                key = self.ev(index.value, frame)
                if isinstance(key, Num) and key.value is not None and float(key.value).is_integer():
                    position = int(key.value)
                    if -len(base.items) <= position < len(base.items):
                        return base.items[position]
        if (
            isinstance(base, DictVal)
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
        ):
            key = self.ev(node.slice[0].slice.value, frame)
            if isinstance(key, Str):
                found = base.get(key.value)
                if found is not None:
                    return found[0]
            else:
                return chosen_by_key(base, self.module.code_for_node(node))
        return UNKNOWN

    def ev_slice(self, index: cst.BaseSlice, frame: Frame) -> None:
        """Evaluate what an index or a slice runs."""
        if isinstance(index, cst.Index):
            self.ev(index.value, frame)
        elif isinstance(index, cst.Slice):
            for part in (index.lower, index.upper, index.step):
                if part is not None:
                    self.ev(part, frame)

    def ev_dict(self, node: cst.Dict, frame: Frame) -> Value:
        entries: list[tuple[Optional[str], Value, Optional[cst.CSTNode], cst.CSTNode]] = []
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = self.ev(element.key, frame)
                value = self.ev(element.value, frame)
                key_text = key.value if isinstance(key, Str) else None
                if key_text == "loss":
                    self.mark_loss(self.bind_terms(value, element.value, frame), "loss")
                entries.append((key_text, value, element.key, self.value_site(value, element.value)))
            else:
                expanded = self.ev(element.value, frame)
                if isinstance(expanded, DictVal):
                    entries.extend(expanded.entries)
                else:
                    entries.append((None, UNKNOWN, None, element.value))
        if not self.foreign and self.recording and id(node) not in self.group_dicts:
            self.note_group_dict(node, entries)
        return DictVal(self.here(node), tuple(entries))

    def note_group_dict(self, node: cst.Dict, entries: list[tuple[Optional[str], Value, Optional[cst.CSTNode], cst.CSTNode]]) -> None:
        """A dict of the file's code whose "params" entry holds parameters or a list: a param group,
        whose keys RL205 judges even where the analysis loses which optimizer it goes to. Only the
        keys written as plain one-line literals count: what the triage finds in the text
        (optimizers.may_hold_a_misspelt_group_key)."""
        plain = [
            (text, value, key_node)
            for key, value, key_node, _ in entries
            if key_node is not None and (text := _plain_key(key_node)) is not None and text == key
        ]
        held = next((value for key, value, _ in plain if key == "params"), None)
        if isinstance(held, (ParamIter, ListVal, Param)):
            keys = tuple((key, key_node) for key, _, key_node in plain)
            self.group_dicts[id(node)] = ParamGroup(node=node, params=None, weight_decay=None, keys=keys)

    def value_site(self, value: Value, node: cst.CSTNode) -> cst.CSTNode:
        """Where a finding about a container's entry is reported: the entry itself, or, in another
        module's code (whose nodes this file cannot report at), where the number it holds was
        read in this file (`make_groups(model, cfg.weight_decay)`), if it was."""
        if self.foreign and isinstance(value, Num) and value.node is not None:
            return value.node
        return node

    def ev_binary(self, node: cst.BinaryOperation, frame: Frame) -> Value:
        if isinstance(node.left, cst.BinaryOperation):
            return self.ev_binary_chain(node, frame)
        return self.binary_value(node, self.ev(node.left, frame), self.ev(node.right, frame), frame)

    def ev_binary_chain(self, node: cst.BinaryOperation, frame: Frame) -> Value:
        """A left-leaning chain (`a + b - c * d + ...`, libcst nests it one level per operand)
        evaluated in a loop, in the order the recursion would (innermost left operand, then each
        right operand and its operation): no stack frame per operand, one pass."""
        spine: list[cst.BinaryOperation] = []
        operand: cst.BaseExpression = node
        while isinstance(operand, cst.BinaryOperation):
            spine.append(operand)
            operand = operand.left
        value = self.ev(operand, frame)
        for level in reversed(spine):
            value = self.binary_value(level, value, self.ev(level.right, frame), frame)
        return value

    def binary_value(self, node: cst.BinaryOperation, left: Value, right: Value, frame: Frame) -> Value:
        """The value of `node` from the values of its operands."""
        op = node.operator
        if isinstance(op, cst.Power):
            if isinstance(right, Num) and right.value == 2:
                squared = T.square(left, self.here(node))
                if squared is not None:
                    return squared
            if isinstance(right, Num) and right.value == 0.5:
                rooted = T.sqrt(left, self.here(node), self.records)
                if rooted is not None:
                    return rooted
            powered = T.power(left, right, self.here(node))
            if powered is not None:
                return powered
            if (
                isinstance(left, Num)
                and isinstance(right, Num)
                and left.value is not None
                and right.value is not None
            ):
                try:
                    return Num(
                        float(left.value**right.value), self.module.code_for_node(node), node
                    )
                except (OverflowError, ZeroDivisionError):
                    return UNKNOWN
            return UNKNOWN
        if isinstance(op, cst.Multiply):
            if left == right and isinstance(left, (Param, Flat)):
                return Elementwise(left, "sq")
            masked = self.masked_parameter(node, left, right)
            if masked is not None:
                return masked
            return self.scale(left, right, node, frame)
        if isinstance(op, cst.Divide):
            if isinstance(left, Num) and isinstance(right, Num):
                if left.value is not None and right.value:
                    return Num(left.value / right.value, self.module.code_for_node(node), node)
                return Num(None, self.module.code_for_node(node), node)
            if isinstance(right, Num):
                return self.scale(
                    left,
                    Num(
                        None if not right.value else 1 / right.value, "1/" + right.text, right.node
                    ),
                    node,
                    frame,
                )
            if carries_penalty(left) and is_factor(right):
                return self.scale(left, Num(None, "1/?", node), node, frame)
            return UNKNOWN
        if isinstance(op, cst.Subtract):
            distance = anchored(left, right)
            if distance is not None:
                return distance
        if isinstance(op, (cst.Add, cst.Subtract)):
            if isinstance(left, Num) and isinstance(right, Num):
                if left.value is not None and right.value is not None:
                    total = (
                        left.value + right.value
                        if isinstance(op, cst.Add)
                        else left.value - right.value
                    )
                    return Num(total, self.module.code_for_node(node), node)
                return Num(None, self.module.code_for_node(node), node)
            if isinstance(left, Terms) and isinstance(right, Terms):
                return Terms(left.terms + right.terms)
            if isinstance(op, cst.Add) and is_param_collection(left) and is_param_collection(right):
                return join_params([left, right], node, self.module.code_for_node(node))
            if isinstance(left, ListVal) and isinstance(right, ListVal):
                return ListVal(left.items + right.items)
            if isinstance(left, (AccumulatorStart, Num)) and isinstance(right, Terms):
                return self.combine_add(left, right, node, frame, in_place=False)
            result = (
                self.combine_add(left, right, node, frame, in_place=False)
                if (penalty_ids(left) or isinstance(right, Terms))
                else None
            )
            if result is None and (penalty_ids(right) or isinstance(left, Terms)):
                result = self.combine_add(right, left, node, frame, in_place=False)
            if result is not None:
                # `loss = loss + reg` after `loss.backward()`: remembered for RL104.
                return result
            return UNKNOWN
        return UNKNOWN

    def masked_parameter(self, node: cst.BinaryOperation, left: Value, right: Value) -> Optional[Param]:
        """`masks[name] * w`, `w * self.mask`: a parameter of a walked set times a pruning mask is
        that parameter's kept entries, so a norm of it is a penalty on the parameter (sparse
        training penalizes the surviving weights). Only a factor whose code names a mask counts:
        `x * self.weight` in a forward is an activation, and a walked parameter times anything
        else (its gradient, a Fisher weight) is a score, not the parameter."""
        for value, other, other_node in ((left, right, node.right), (right, left, node.left)):
            if (
                isinstance(value, Param)
                and value.pset is not None
                and not isinstance(other, (Param, Flat, Terms))
                and _names_a_mask(other_node)
            ):
                return value
        return None

    def scale(self, left: Value, right: Value, node: cst.CSTNode, frame: Frame) -> Value:
        """`coefficient * penalty` keeps the penalty and remembers the coefficient."""
        for factor, other in ((left, right), (right, left)):
            if not is_factor(factor):
                continue
            if isinstance(factor, Param):
                factor = Num(None, factor.text, node)  # `self.reg_weight`-like: a coefficient
            if isinstance(other, Terms) and isinstance(factor, (Num, Unknown)):
                return replace(other, coefficient=times(other.coefficient, factor, node))
            if isinstance(other, Elementwise) and isinstance(factor, (Num, Unknown)):
                return other
            if isinstance(other, PenaltyRef) and isinstance(factor, (Num, Unknown)):
                return replace(other, scale=times(other.scale, factor, node))
            if isinstance(other, Mixed) and other.pure and isinstance(factor, (Num, Unknown)):
                scaled = tuple((pid, times(scale, factor, node)) for pid, scale in other.scales)
                return Mixed(other.pids, scaled, pure=True)
            if isinstance(other, Mixed):
                return other
        if isinstance(left, Num) and isinstance(right, Num):
            if left.value is not None and right.value is not None:
                return Num(left.value * right.value, self.module.code_for_node(node), node)
            return Num(None, self.module.code_for_node(node), node)
        return UNKNOWN

    def penalty_sum(self, items: Sequence[Value]) -> Value:
        """`torch.stack([l1, l2]).sum()`, `sum([reg_a, reg_b])`: the penalties together."""
        pids = frozenset().union(*(penalty_ids(i) for i in items))
        if all(penalty_only(i) for i in items):
            return Mixed(pids, tuple(s for i in items for s in scales_of(i)), pure=True)
        for item in items:
            self.note_scale(item)  # the penalties meet the data loss here
        return Mixed(pids)

    def note_scale(self, value: Value) -> None:
        """Where a scaled penalty meets the loss, its factor becomes one of the record's coefficients."""
        for pid, scale in scales_of(value):
            if scale is None:
                continue
            record = self.records[pid]
            if all(existing is not scale for existing in record.outers):
                record.outers.append(scale)

    # ------------------------------------------------------------------ comprehensions

    def ev_comprehension(
        self,
        node: Union[cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp],
        frame: Frame,
    ) -> Value:
        inner = Frame(
            frame.name,
            {},
            frame,
            frame.class_name,
            depth=frame.depth,
            no_grad=frame.no_grad,
            no_grad_what=frame.no_grad_what,
            no_grad_call=frame.no_grad_call,
        )
        clause: Optional[cst.CompFor] = node.for_in
        filters: list[str] = []
        while clause is not None:
            iterable = self.ev(clause.iter, inner)
            if clause is node.for_in and not clause.ifs and clause.inner_for_in is None and not isinstance(node, cst.DictComp):
                in_turn = code_to_run_in_turn(iterable)
                if in_turn:
                    return self._each_in_turn(node, clause, in_turn, inner)
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
            return (
                ParamIter(element.pset, "params")
                if element.gradless is None
                else ParamIter(replace(element.pset, gradless=element.gradless), "params")
            )
        if isinstance(element, Param) and element.pset is None:
            return ParamIter(
                ParamSet(owner=element.text, origin="explicit", node=node, unfiltered=False),
                "params",
            )
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
        if isinstance(element, (PenaltyRef, Mixed)) and penalty_ids(element):
            # `sum(sum(p.pow(2).sum() for p in m.parameters()) for m in blocks)`: each element is
            # the same penalty (one record for the inner sum), for the outer sum to add up.
            return ListVal((element,))
        return UNKNOWN

    def _each_in_turn(
        self, node: Union[cst.ListComp, cst.GeneratorExp, cst.SetComp], clause: cst.CompFor, items: list[Value], frame: Frame
    ) -> Value:
        """`sum(t(mats) for t in terms.values())` over different code to call (valueops.
        code_to_run_in_turn): the element for each item, as the loop computes them."""
        elements = []
        for item in items:
            self.bind_target(clause.target, item, frame)
            elements.append(self.ev(node.elt, frame))
        if all(isinstance(element, Terms) for element in elements):
            return Terms(tuple(t for element in elements for t in element.terms), per_element=True)  # type: ignore[attr-defined]
        if any(isinstance(element, Terms) or penalty_ids(element) for element in elements):
            return ListVal(tuple(self.bind_terms(element, node.elt, frame) for element in elements))
        return UNKNOWN


def _plain_key(node: cst.CSTNode) -> Optional[str]:
    """A dict key written as a plain literal on one line (`"weight_decay"`, `'lr'`): its text."""
    if not isinstance(node, cst.SimpleString) or "\\" in node.value or "\n" in node.value or "\r" in node.value:
        return None
    return string_value(node)


def string_value(node: cst.SimpleString) -> Optional[str]:
    """The value of a string literal ("" for bytes); None if it cannot be evaluated. Plain
    literals without escapes are read directly: most strings in a file are, and evaluating one
    costs a parse of its own."""
    raw = node.value
    if raw[:1] in ("'", '"') and "\\" not in raw and "\r" not in raw:
        quote = 3 if raw[:3] in ("'''", '"""') and len(raw) >= 6 else 1
        return raw[quote:-quote]
    try:
        value = node.evaluated_value
    except Exception:
        return None
    return value if isinstance(value, str) else ""


# The method that evaluates each class of expression node (by name: a subclass may override it).
_EVALUATORS: dict[type, str] = {
    cst.Integer: "ev_number",
    cst.Float: "ev_number",
    cst.SimpleString: "ev_string",
    cst.FormattedString: "ev_formatted",
    cst.ConcatenatedString: "ev_formatted",
    cst.Name: "ev_name",
    cst.Attribute: "ev_attribute",
    cst.Call: "ev_call",
    cst.BinaryOperation: "ev_binary",
    cst.UnaryOperation: "ev_unary",
    cst.List: "ev_sequence",
    cst.Tuple: "ev_sequence",
    cst.Set: "ev_sequence",
    cst.Dict: "ev_dict",
    cst.ListComp: "ev_comprehension",
    cst.GeneratorExp: "ev_comprehension",
    cst.SetComp: "ev_comprehension",
    cst.DictComp: "ev_comprehension",
    cst.Subscript: "ev_subscript",
    cst.IfExp: "ev_conditional",
    cst.Lambda: "ev_lambda",
    cst.BooleanOperation: "ev_boolean",
    cst.NamedExpr: "ev_named",
    cst.Await: "ev_await",
}


def _first_or_last(index: cst.BaseSlice) -> bool:
    """`[0]` or `[-1]`."""
    if not isinstance(index, cst.Index):
        return False
    value = index.value
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        return isinstance(value.expression, cst.Integer) and value.expression.value == "1"
    return isinstance(value, cst.Integer) and value.value == "0"


def _names_a_mask(node: cst.CSTNode) -> bool:
    """Does a name or an attribute in `node` hold MASK_WORD (triage/flowcut reads the same)?"""
    return any(type(part) is cst.Name and MASK_WORD in part.value.lower() for part in subnodes(node))  # type: ignore[attr-defined]


def anchored(left: Value, right: Value) -> Optional[Value]:
    """`p - p0`, `w - self.means[n]`, `current - global_weights`: a parameter's distance from an
    anchor (FedProx's global weights, EWC's means, L2-SP's pretrained weights). Its squares and
    norms are terms of a proximal penalty (PenaltyTerm.anchored), as a parameter's are of a decay.
    The parameter is the left side where both are parameters (`w - w0` of a frozen copy's).
    A parameter the code names itself (`self.r` of `self.r = nn.Parameter(r)`) is anchored only
    to a copy of parameters: against anything else it is a fitted tensor in a data loss
    (`torch.norm(x - x_hat - self.r)`, a residual; `x - self.centers`, center loss)."""
    for value, other in ((left, right), (right, left)):
        if isinstance(value, Param) and value.rows:
            continue  # a codebook's looked-up rows against the encoder's output: VQ-VAE's loss
        if isinstance(value, Param) and value.pset is None and not isinstance(other, (Param, Flat)):
            continue
        if isinstance(value, (Param, Flat)) and not value.anchored and not isinstance(other, _NOT_AN_ANCHOR):
            return replace(value, anchored=True)
    return None


_NOT_AN_ANCHOR = (ParamIter, ListVal, TupleVal, Terms, PenaltyRef, Mixed, DictVal, Elementwise, AccumulatorStart)


def _holds_parsed_arguments(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value in PARSED_ARGUMENT_HOLDERS


def _default_when_absent(node: cst.IfExp) -> Optional[cst.BaseExpression]:
    """The default side of `default if x is None else x` (or `x if x is not None else default`):
    what the value is where no `x` is given. None for any other condition."""
    test = node.test
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return None
    target = test.comparisons[0]
    if not is_none_literal(target.comparator):
        return None
    tested = dotted(test.left)
    if tested is None:
        return None
    if isinstance(target.operator, cst.Is) and dotted(node.orelse) == tested:
        return node.body
    if isinstance(target.operator, cst.IsNot) and dotted(node.body) == tested:
        return node.orelse
    return None
