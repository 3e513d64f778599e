"""Calls: torch functions, tensor methods, builtins, parameter iterables and helper functions."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional, Union

import libcst as cst

from reglint.analysis import terms as T
from reglint.analysis.classes import ClassInfo, is_container, layer_vectors
from reglint.analysis.facts import (
    Accumulator,
    BackwardCall,
    LateAddition,
    ParamSet,
)
from reglint.analysis.filters import condition_filter
from reglint.analysis.library_optimizers import FACTORIES, NETS, TRAINERS, TRAINING_ARGUMENTS
from reglint.analysis.names import dotted
from reglint.analysis.optimizers import QUALIFIED, spec_for
from reglint.analysis.state import (
    BACKWARD_FUNCTIONS,
    MAX_INLINE_DEPTH,
    AnalyzerMixin,
    Frame,
)
from reglint.analysis.syntax import (
    adds_name,
    is_true,
)
from reglint.analysis.valueops import (
    Enumerated,
    Zipped,
    append_item,
    carries_penalty,
    chosen_by_key,
    either,
    is_none,
    is_param_collection,
    join_params,
    joined_vectors,
    one_of,
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
    L1Criterion,
    LambdaFunction,
    LightningTrainer,
    ListVal,
    Mixed,
    Module,
    ModuleRef,
    Num,
    OneOf,
    OptimizerClass,
    OptimizerRef,
    Param,
    ParamIter,
    Partial,
    Passing,
    PenaltyRef,
    RowNorms,
    Str,
    Submodule,
    Submodules,
    Terms,
    TupleVal,
    Unknown,
    Value,
    Zeros,
    penalty_ids,
    without_rows,
)
from reglint.analysis.vocabulary import (
    ABS_CALLS,
    ATTRIBUTE_BY_NAME,
    ATTRIBUTE_DICTS,
    CALL_METHODS,
    CHAIN_FUNCTIONS,
    CONTAINER_METHODS,
    COPY_FUNCTIONS,
    DROPOUT_FUNCTIONS,
    GROWING_METHODS,
    L1_LOSS_CLASSES,
    L1_LOSS_FUNCTIONS,
    LIGHTNING_FIT_RUNS,
    LIGHTNING_TRAINERS,
    MODULE_METHODS,
    MODULE_SELF_METHODS,
    MODULE_WRAPPERS,
    NORM_FUNCTIONS,
    NORM_METHODS,
    PARAMETER_FACTORIES,
    PASSING_OBJECT_METHODS,
    PASSING_OBJECTS,
    RETYPING_METHODS,
    REWRAPPING_FUNCTIONS,
    ROW_LAYERS,
    SCALAR_REDUCTIONS,
    SHAPE_FUNCTIONS,
    SHAPE_METHODS,
)
from reglint.analysis.vocabulary import BUILTINS as _BUILTINS
from reglint.analysis.vocabulary import COMMON_METHODS as _COMMON_METHODS

# Values a call runs code of: a function (of another module, of this file, nested in a function),
# a class, an instance (its forward / __call__), a bound method, an optimizer class held as a value,
# a lambda, a partial of one of these, a choice of several.
CALLABLE = (FunctionRef, ClassRef, Instance, OptimizerClass, LambdaFunction, Closure, BoundMethod, Partial, OneOf)


# String methods whose result the analysis computes (an optimizer's name is compared lower-cased).
_CASE_METHODS: dict[str, Callable[[str], str]] = {"lower": str.lower, "upper": str.upper, "strip": str.strip, "casefold": str.casefold}

# Methods that return the same tensor, moved or retyped: an accumulator's start stays one.
_MOVING_METHODS = frozenset({"to", "cuda", "float", "double"})


def _names_a_dtype(argument: cst.Arg) -> bool:
    """`dtype=...`, or a dtype written as `torch.float32` / `torch.float` / `torch.double`."""
    if argument.keyword is not None:
        return argument.keyword.value == "dtype"
    value = argument.value
    return isinstance(value, cst.Attribute) and value.attr.value.startswith(("float", "double", "half", "bfloat"))


class CallEvaluator(AnalyzerMixin):
    # ------------------------------------------------------------------ calls

    def ev_call(self, node: cst.Call, frame: Frame) -> Value:
        func = node.func
        qualified = (
            self.imports.qualify_call_target(func, QUALIFIED)
            if isinstance(func, (cst.Name, cst.Attribute))
            else None
        )
        args = [a for a in node.args if a.keyword is None and not a.star]
        if qualified is not None and spec_for(qualified) is not None:
            return self.ev_optimizer(node, qualified, frame)
        if qualified in CHAIN_FUNCTIONS:
            return self.ev_chain(node, qualified, frame)
        if qualified in COPY_FUNCTIONS and len(args) == 1 and len(node.args) == 1:
            return self.ev(args[0].value, frame)
        if qualified in ATTRIBUTE_DICTS:
            made = self.ev_dict_like(node, args, frame)
            if made is not None:
                return made
        if qualified in PASSING_OBJECTS or qualified in LIGHTNING_TRAINERS:
            for argument in node.args:
                self.ev(argument.value, frame)
            return Passing() if qualified in PASSING_OBJECTS else LightningTrainer()
        if qualified == "functools.partial":
            return self.ev_partial(node, frame)
        if qualified in TRAINING_ARGUMENTS:
            return self.ev_training_arguments(node, frame)
        if qualified in TRAINERS or qualified in NETS:
            for argument in node.args:
                self.ev(argument.value, frame)
            (self.ev_trainer if qualified in TRAINERS else self.ev_net)(node, qualified, frame)
            return UNKNOWN
        if qualified in FACTORIES:
            return self.ev_factory(node, qualified, frame)
        base: Optional[Value] = None  # the receiver's value, evaluated once (f().g().h() is linear)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            base = (
                self.ev(func.value, frame)
                if qualified is None or not qualified.startswith("torch")
                else UNKNOWN
            )
            result = self.ev_method(node, base, method, args, frame)
            if result is not None:
                return result
        if qualified is not None and qualified.startswith("torch."):
            return self.ev_torch(node, qualified, args, frame)
        if isinstance(func, cst.Name):
            builtin = self.ev_builtin(node, func.value, args, frame)
            if builtin is not None:
                return builtin
            found = frame.function_frame(func.value)
            if found is not None:
                local, defined_in = found
                enclosing = defined_in if defined_in is not self.module_frame else None
                return self.inline(local, node, frame, None, enclosing=enclosing)
            called = self.ev(func, frame)
            if isinstance(called, CALLABLE):
                value = self.call_value(called, node, frame)
                if self.foreign and func.value in frame.given:
                    value = self.handed_in(value, node, frame)
                return value
            if isinstance(called, L1Criterion):
                return self.l1_loss_term(node, called.summed, frame)
            if isinstance(called, Module) and called.layer in ROW_LAYERS:
                return self.looked_up_rows(node, frame)  # emb = nn.Embedding(n, d) ... emb(ids)
        if isinstance(func, cst.Attribute):
            return self.ev_method_call(node, func, frame, base)
        if isinstance(func, (cst.Subscript, cst.Call)):
            # `OPTIMIZERS["adam"](params, ...)`, `self.terms["l2"](model)`, `Squared(1e-4)(ps)`
            called = self.ev(func, frame)
            if isinstance(called, CALLABLE):
                return self.call_value(called, node, frame)
        for arg in node.args:
            self.ev(arg.value, frame)
        return UNKNOWN

    def run_step_closure(self, args: list[cst.Arg], frame: Frame) -> None:
        """`optimizer.step(closure)` (LBFGS's, or any optimizer's): the step calls the closure,
        which computes the loss and calls backward(), before it updates the weights. The closure
        runs here, in the frame it was defined in (it reads that frame's names: the model, the
        coefficients, their defaults), so its backward() comes before this step."""
        given = [a for a in args if (a.keyword is None and not a.star) or (a.keyword is not None and a.keyword.value == "closure")]
        if len(given) != 1 or not isinstance(given[0].value, cst.Name):
            return  # (a closure is handed by its name; anything else would be evaluated twice)
        closure = self.ev(given[0].value, frame)
        if isinstance(closure, Closure):
            function, enclosing, context = closure.function, closure.frame, closure.context
        elif isinstance(closure, FunctionRef):
            function, enclosing, context = closure.function, None, closure.context
        else:
            return
        if context is not self.ctx or function.params.params or len(self._inline_stack) >= MAX_INLINE_DEPTH or id(function) in self._inline_stack:
            return  # (a closure takes no arguments; one of another module is run where it is defined)
        self.call_function(function, [], {}, function.name.value, None, standalone=False, caller=frame, enclosing=enclosing)

    def call_value(self, called: Value, node: cst.Call, frame: Frame) -> Value:
        """Call a function of another module, a class (a new instance), an instance (its
        forward / __call__: `regularizer(model)`), or an optimizer class held as a value."""
        bound: Optional[Partial] = None
        if isinstance(called, Partial):
            bound, called = called, called.function  # (a function, lambda or closure: ev_partial)
        if isinstance(called, OptimizerClass):
            return self.ev_optimizer(node, called.qualified, frame, held=called)
        if isinstance(called, FunctionRef):
            return self.inline(called.function, node, frame, None, context=called.context, bound=bound)
        if isinstance(called, ClassRef):
            return self.construct(called.info, node, frame)
        if isinstance(called, LambdaFunction):
            return self.call_lambda(called, node, frame, bound=bound)
        if isinstance(called, Closure):
            return self.inline(
                called.function, node, frame, None, context=called.context, bound=bound, enclosing=called.frame
            )
        if isinstance(called, BoundMethod):
            return self.inline(
                called.function, node, frame, called.class_name, instance=called.instance, context=called.context
            )
        if isinstance(called, OneOf):
            # (classes make one of their objects)
            results = [self.call_value(option, node, frame) for option in called.options]
            made = one_of(results) if all(isinstance(option, ClassRef) for option in called.options) else None
            return made or self.either_result(results, node, frame)
        if isinstance(called, Instance):
            for name in CALL_METHODS:
                found = self.find_method(called.info, name)
                if found is not None:
                    defining, method = found
                    # A module's output is an activation, not rows of its embedding tables:
                    # `self.position_embeddings(ids)` (the rows its forward looked up, a method
                    # called by name returns: RecBole's `self.forward(user, item)`).
                    return without_rows(
                        self.inline(method, node, frame, defining.name, instance=called, context=defining.context)
                    )
        for arg in node.args:
            self.ev(arg.value, frame)
        return UNKNOWN

    def lightning_fit(self, node: cst.Call, frame: Frame) -> Value:
        """`trainer.fit(model, loaders)`: Lightning runs the module's optimizer hook and its
        training step on that object (vocabulary.LIGHTNING_FIT_RUNS)."""
        given = [self.ev(argument.value, frame) for argument in node.args]
        keywords = {a.keyword.value: value for a, value in zip(node.args, given) if a.keyword is not None}
        positional = [value for a, value in zip(node.args, given) if a.keyword is None and not a.star]
        module = keywords.get("model", positional[0] if positional else None)
        if isinstance(module, Instance):
            for hook in LIGHTNING_FIT_RUNS:
                found = self.find_method(module.info, hook)
                if found is not None and self.runs_foreign_code(found[0].context):
                    defining, method = found
                    with self.running_in(defining.context, node):
                        self.call_function(
                            method, [], {}, f"{defining.name}.{hook}", defining.name, standalone=False, caller=frame, instance=module
                        )
        return UNKNOWN

    def looked_up_rows(self, node: cst.Call, frame: Frame) -> Value:
        """A call of an embedding layer (vocabulary.ROW_LAYERS) is the rows of its weight that the
        indices select: values of that parameter, with its gradient, so a norm of them is a
        penalty on the table (`self.embed_user(u).norm()`)."""
        for argument in node.args:
            self.ev(argument.value, frame)
        return self.explicit_parameter(node, rows=True)

    def either_result(self, results: list[Value], node: cst.Call, frame: Frame) -> Value:
        """What a call of one of several pieces of code gives (valueops.either): terms an option
        computes are a penalty of their own at the call, not merged away."""
        return either([self.bind_terms(r, node, frame) if isinstance(r, Terms) else r for r in results])

    def gradless_copy(self, value: Union[Terms, PenaltyRef, Mixed], reason: str) -> Value:
        """What a conversion that cuts the gradient (`.item()`, `float(...)`) makes of terms, or
        of bound penalties (one, or what may be any of several: `float(reg_fn(model))` with
        `reg_fn` picked by name): a copy of the terms they hold so far (PenaltyTerm.copied), the
        penalties themselves left as they are (`log(l1.item())` beside `loss + lam * l1` is fine)."""
        if isinstance(value, (PenaltyRef, Mixed)):
            pids = [value.pid] if isinstance(value, PenaltyRef) else sorted(value.pids)
            value = Terms(tuple(replace(term, copied=True) for pid in pids for term in self.records[pid].terms))
        return T.gradless(value, reason) if value.terms else UNKNOWN

    def handed_in(self, value: Value, node: cst.Call, frame: Frame) -> Value:
        """What another module's code computed by calling a value the linted module gave it
        (`reg_fn(model)`, `reg_fn` a parameter): a penalty that code never builds on its own, so
        its file cannot report it (PenaltyRecord.handed_in)."""
        value = self.bind_terms(value, node, frame)
        for pid in penalty_ids(value):
            self.records[pid].handed_in = True
        return value

    def ev_partial(self, node: cst.Call, frame: Frame) -> Value:
        """`functools.partial(optim.Adam, weight_decay=1e-4)`: the class with keywords bound (no
        other positional argument: the parameters come with the call); `partial(l1_penalty,
        lam=1e-4)`, `partial(norm_of, model.parameters())`: the function (or lambda) with its
        arguments bound. Anything else is unknown."""
        values = [self.ev(argument.value, frame) for argument in node.args]
        positional = [argument for argument in node.args if argument.keyword is None]
        if not positional or node.args[0] is not positional[0] or any(argument.star for argument in node.args):
            return UNKNOWN
        held = values[0]
        if len(positional) == 1 and isinstance(held, OptimizerClass) and held.bound is None:
            if not self.foreign:
                self.optimizer_partials.setdefault(id(node), (node, held, frame))
            return replace(held, bound=node, bound_frame=frame)
        if isinstance(held, (FunctionRef, LambdaFunction, Closure)):
            arguments = list(zip(node.args, values))[1:]
            return Partial(
                held,
                tuple(value for argument, value in arguments if argument.keyword is None),
                tuple((argument.keyword.value, value) for argument, value in arguments if argument.keyword is not None),
            )
        return UNKNOWN

    def ev_chain(self, node: cst.Call, qualified: str, frame: Frame) -> Value:
        """`itertools.chain(a.parameters(), b.parameters())` and `chain.from_iterable([...])`."""
        values = [self.ev(a.value, frame) for a in node.args]
        if any(a.star or a.keyword is not None for a in node.args):
            return UNKNOWN
        if qualified.endswith("from_iterable"):
            if len(values) != 1 or not isinstance(values[0], (ListVal, TupleVal)):
                return UNKNOWN
            values = list(values[0].items)
        return join_params(values, node, self.module.code_for_node(node))

    def ev_method_call(
        self, node: cst.Call, func: cst.Attribute, frame: Frame, receiver: Optional[Value] = None
    ) -> Value:
        name = func.attr.value
        owner = func.value
        if receiver is None:
            receiver = self.ev(owner, frame)
        inherited = self._method_of_super(owner, name, frame)
        if inherited is not None:
            instance, (defining, method) = inherited
            return self.inline(method, node, frame, defining.name, instance=instance, context=defining.context)
        if isinstance(receiver, Instance):
            found = self.find_method(receiver.info, name)
            if found is not None:
                defining, method = found
                return self.inline(
                    method, node, frame, defining.name, instance=receiver, context=defining.context
                )
            held = self.instances[receiver.env].get(name)
            if isinstance(held, CALLABLE):
                return self.call_value(held, node, frame)  # self.reg_fn(model), self.optimizer_fn(ps)
            if isinstance(held, Module) and held.layer in ROW_LAYERS:
                return self.looked_up_rows(node, frame)  # self.user_embedding(users)
            if isinstance(held, L1Criterion):
                return self.l1_loss_term(node, held.summed, frame)  # self.l1_crit(p, zeros)
        if isinstance(receiver, OneOf):
            # `reg.penalty(model)`, `reg` one of several penalty objects: each one's method
            methods = [
                (option, found)
                for option in receiver.options
                if isinstance(option, Instance) and (found := self.find_method(option.info, name)) is not None
            ]
            if len(methods) == len(receiver.options):
                results = [
                    self.inline(method, node, frame, defining.name, instance=option, context=defining.context)
                    for option, (defining, method) in methods
                ]
                return self.either_result(results, node, frame)
        if isinstance(receiver, (ModuleRef, ClassRef)):
            attribute = self.attribute_of(receiver, name, func)
            if isinstance(attribute, CALLABLE):
                return self.call_value(attribute, node, frame)
        if (
            isinstance(owner, cst.Name)
            and owner.value in ("self", "cls")
            and frame.class_name is not None
        ):
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

    def _method_of_super(
        self, owner: cst.BaseExpression, name: str, frame: Frame
    ) -> Optional[tuple[Instance, tuple[ClassInfo, cst.FunctionDef]]]:
        """`super().__init__(...)` (or `super(Cls, self).__init__(...)`) in a method whose `self`
        is an object the analysis follows: the `__init__` the bases of the method's class define,
        run on that object (it sets the attributes the base's methods read: DeepCTR's
        `self.regularization_weight = []`). Other methods are not followed through super(): a
        subclass's `fit` calling the library's whole `super().fit()` is costly, and the penalty
        and the optimizer are in what the subclass's own methods run."""
        if name != "__init__" or not (
            isinstance(owner, cst.Call) and isinstance(owner.func, cst.Name) and owner.func.value == "super"
        ):
            return None
        instance = frame.env.get("self")
        if not isinstance(instance, Instance) or "super" in frame.env or "super" in self.module_frame.env:
            return None
        class_name = frame.class_name
        if len(owner.args) == 2 and isinstance(owner.args[0].value, cst.Name) and not owner.args[0].keyword:
            class_name = owner.args[0].value.value
        elif owner.args:
            return None
        info = self.classes.get(class_name) if class_name is not None else None
        found = self.find_inherited(info, name) if info is not None else None
        return (instance, found) if found is not None else None

    def ev_method(
        self,
        node: cst.Call,
        base: Value,
        method: str,
        args: list[cst.Arg],
        frame: Frame,
    ) -> Optional[Value]:
        """Methods whose meaning the analysis knows, on the value they are called on."""
        if isinstance(base, DictVal) and method == "values" and not node.args:
            return ListVal(tuple(value for _, value, _, _ in base.entries))  # `losses.values()`
        if isinstance(base, Str) and method in _CASE_METHODS and not node.args:
            return Str(_CASE_METHODS[method](base.value))  # `self.learner.lower()`
        if isinstance(base, L1Criterion) and method in RETYPING_METHODS:
            return base  # nn.L1Loss(reduction="sum").cuda()
        if isinstance(base, AccumulatorStart) and method in _MOVING_METHODS:
            return self.moved_accumulator(node, base, method)
        if method == "step":
            stepped = base
            if not isinstance(base, OptimizerRef) and len(args) == 1:
                stepped = self.ev(args[0].value, frame)  # GradScaler.step(optimizer)
            if isinstance(stepped, OptimizerRef):
                if stepped is base:
                    self.run_step_closure(list(node.args), frame)
                frame.events.append(("step", stepped.key))
                return UNKNOWN
            if isinstance(base, Unknown) and not isinstance(node.func.value, cst.Call):  # type: ignore[attr-defined]
                self.run_step_closure(list(node.args), frame)
                frame.events.append(("step", None))  # an optimizer the analysis cannot see
        if method in ("parameters", "named_parameters", "state_dict") and not isinstance(
            base, (ParamIter, Param, Num, Str)
        ):
            owner = dotted(node.func.value) if isinstance(node.func, cst.Attribute) else None  # type: ignore[union-attr,attr-defined]
            owner = owner or self.module.code_for_node(node.func.value)  # type: ignore[union-attr,attr-defined]
            keep_vars = any(
                a.keyword is not None and a.keyword.value == "keep_vars" and is_true(a.value)
                for a in node.args
            )
            gradless = "state_dict() values" if method == "state_dict" and not keep_vars else None
            # The modules a type test chose, of types the analysis does not know: some of the
            # parameters, which ones is not known (a filter, as `if "emb" in name` is).
            chosen_by = base.selected if isinstance(base, Submodule) and base.vectors is None else None
            pset = ParamSet(
                owner=owner,
                origin=method,
                node=self.here(node),
                unfiltered=chosen_by is None,
                filter_text=chosen_by,
                gradless=gradless,
                has_vectors=self.has_vectors(base),
                taken_in=self.ctx.path if self.foreign else None,
            )
            kind = {"parameters": "params", "named_parameters": "pairs", "state_dict": "dict"}[
                method
            ]
            return ParamIter(pset, kind)
        if method in MODULE_METHODS:
            owner = dotted(node.func.value) if isinstance(node.func, cst.Attribute) else None  # type: ignore[union-attr,attr-defined]
            return Submodules(owner or "module", named=method.startswith("named_"))
        if isinstance(base, ParamIter):
            if method == "items" and base.kind == "dict":
                return ParamIter(base.pset, "pairs")
            if method == "values" and base.kind == "dict":
                return ParamIter(base.pset, "params")
            if method == "keys" and base.kind == "dict":
                return ParamIter(base.pset, "names")
            if method in GROWING_METHODS and node.args:
                self.grow_collection(node, base, method, frame)
                return UNKNOWN
            if method == "copy":
                return base
            return UNKNOWN
        if isinstance(base, ListVal) and method in GROWING_METHODS and node.args:
            self.grow_collection(node, base, method, frame)
            return UNKNOWN
        if isinstance(base, Module) and method in CONTAINER_METHODS and node.args:
            # nn.ModuleList().append(nn.Linear(...)): the container holds what is added
            name = dotted(node.func.value)  # type: ignore[attr-defined]
            added = self.ev(node.args[-1].value, frame)
            items = added.items if method == "extend" and isinstance(added, (ListVal, TupleVal)) else (added,)
            held = [base.vectors] + [self.has_vectors(item) for item in items]
            if method == "extend" and not isinstance(added, (ListVal, TupleVal)):
                held.append(None)
            if name is not None:
                frame.env[name] = Module(base.text, True if True in held else (None if None in held else False))
            return UNKNOWN
        if isinstance(base, (Instance, Module)) and method in MODULE_SELF_METHODS:
            if not (isinstance(base, Instance) and self.find_method(base.info, method)):
                for arg in node.args:
                    self.ev(arg.value, frame)
                return base  # `Net(...).to(device)`
        if (
            isinstance(base, OneOf)
            and method in MODULE_SELF_METHODS
            and all(isinstance(option, Instance) and not self.find_method(option.info, method) for option in base.options)
        ):
            for arg in node.args:
                self.ev(arg.value, frame)
            return base  # `MODELS[name](config).to(device)`: whichever model it is
        if isinstance(base, (Param, Flat)):
            return self.ev_tensor_method(node, base, method, args, frame)
        if isinstance(base, (Elementwise, Terms, PenaltyRef, RowNorms)):
            return self.ev_term_method(node, base, method, args, frame)
        if method == "backward" and not args:
            self.note_backward(node, base, node.func.value, frame)  # type: ignore[union-attr,attr-defined]
            return UNKNOWN
        if isinstance(base, LightningTrainer) and method == "fit":
            return self.lightning_fit(node, frame)
        if isinstance(base, Passing) and method in PASSING_OBJECT_METHODS and args and len(args) == len(node.args):
            given = [self.ev(argument.value, frame) for argument in args]
            return given[0] if len(given) == 1 else TupleVal(tuple(given))  # accelerator.prepare(model, opt)
        if method in BACKWARD_FUNCTIONS and args:
            loss_node = args[0].value
            self.note_backward(node, self.ev(loss_node, frame), loss_node, frame)
            return UNKNOWN
        if method == "scale" and len(args) == 1 and isinstance(base, Unknown):
            # GradScaler.scale(loss)
            return self.ev(args[0].value, frame)
        if isinstance(base, Mixed) and (method in SHAPE_METHODS or method in SCALAR_REDUCTIONS):
            return base
        if isinstance(base, Mixed) and method in ("item", "detach", "cpu", "tolist"):
            return UNKNOWN
        if isinstance(base, DictVal) and method in ("values", "items") and not node.args:
            # `for fn in self.terms.values()`: what the dict holds, each key with its value
            if method == "values":
                return ListVal(tuple(value for _, value, _, _ in base.entries))
            return ListVal(
                tuple(TupleVal((UNKNOWN if key is None else Str(key), value)) for key, value, _, _ in base.entries)
            )
        if isinstance(base, KeywordArgs) and method in ("get", "pop") and len(args) in (1, 2):
            return self.keyword_or_default(base, args, frame)
        if isinstance(base, DictVal) and method in ("get", "pop") and args:
            key = self.ev(args[0].value, frame)
            if isinstance(key, Str):
                found = base.get(key.value)
                if method == "pop" and isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
                    # `name = opt_cfg.pop("name")`: the dict holds the rest (`**opt_cfg` below)
                    frame.env[node.func.value.value] = base.without(key.value)
                return found[0] if found is not None else UNKNOWN
            return chosen_by_key(base, self.module.code_for_node(node))
        return None

    def keyword_or_default(self, given: KeywordArgs, args: list[cst.Arg], frame: Frame) -> Value:
        """`kwargs.pop("weight_decay", self.weight_decay)`, `kwargs.get("params")`: the keyword
        the call gave, else the default (none: unknown). Where the keywords are not all known (a
        function run on its own, a call that unpacks a dict), a number in the default is some
        number and code the file names is what runs, as for a parameter's default
        (interpreter.bind_arguments); any other default holds."""
        if any(arg.keyword is not None or arg.star for arg in args):
            return UNKNOWN
        key = self.ev(args[0].value, frame)
        if not isinstance(key, Str):
            return UNKNOWN
        found = given.value_of(key.value)
        if found is not None:
            return found
        if len(args) < 2:
            return UNKNOWN
        default = self.ev(args[1].value, frame)
        if not given.complete and isinstance(default, Num) and not is_none(default):
            return Num(None, key.value, args[1].value)
        return default

    def grow_collection(
        self, node: cst.Call, base: Union[ParamIter, ListVal], method: str, frame: Frame
    ) -> None:
        """`params.extend(head.parameters())`, `params.append(p)`: rebind the list to what it
        holds now. An item the analysis cannot see makes the list unknown from here on."""
        name = dotted(node.func.value)  # type: ignore[attr-defined]
        item = self.ev(node.args[-1].value, frame)
        if name is not None:
            frame.env[name] = self.grown(base, item, method, node, name)

    @staticmethod
    def grown(base: Value, item: Value, method: str, node: cst.CSTNode, name: str) -> Value:
        """What a list or a collection of parameters holds once `item` is appended (or, for
        `extend`, its items are)."""
        if isinstance(base, ListVal):
            return append_item(base, item, method)
        added: Value = item if method == "extend" else ListVal((item,))
        return join_params([base, added], node, name) if is_param_collection(added) else UNKNOWN

    def ev_tensor_method(
        self,
        node: cst.Call,
        base: Union[Param, Flat],
        method: str,
        args: list[cst.Arg],
        frame: Frame,
    ) -> Optional[Value]:
        if method in (
            "view",
            "flatten",
            "reshape",
            "ravel",
            "contiguous",
            "view_as",
            "float",
            "double",
            "to",
            "cuda",
            "squeeze",
            "unsqueeze",
            "t",
        ):
            return base
        if method in ("detach", "numpy", "cpu", "tolist", "clone") and method != "clone":
            if method == "cpu":
                return base
            return replace(base, gradless=f".{method}()")
        if method == "clone":
            return base
        if method in ABS_CALLS:
            return Elementwise(base, "abs")
        if method in ("square",):
            return Elementwise(base, "sq")
        if method == "pow" and args:
            exponent = self.ev(args[0].value, frame)
            if isinstance(exponent, Num) and exponent.value == 2:
                return Elementwise(base, "sq")
            return UNKNOWN
        if method in NORM_METHODS:
            return T.norm_term(node, base, node.args, frame, self, tensor_first=False)
        return UNKNOWN

    def ev_term_method(
        self,
        node: cst.Call,
        base: Value,
        method: str,
        args: list[cst.Arg],
        frame: Frame,
    ) -> Optional[Value]:
        if method in SCALAR_REDUCTIONS and isinstance(base, Elementwise) and not args and not T.over_dimensions(node):
            return T.reduce(base, node, frame, self, mean=method == "mean")
        if method == "sum" and isinstance(base, Terms) and base.per_element and not args:
            # torch.stack([term(p) for p in params]).sum()
            return self.bind_terms(Terms(base.terms), node, frame)
        if isinstance(base, Elementwise) and method in SCALAR_REDUCTIONS:
            return partial_reduction(base, method)
        if method == "sqrt":
            return T.sqrt(base, self.here(node), self.records) or UNKNOWN
        if method in ("pow",) and args:
            exponent = self.ev(args[0].value, frame)
            if isinstance(exponent, Num) and exponent.value == 2:
                return T.square(base, self.here(node)) or UNKNOWN
            if isinstance(exponent, Num) and exponent.value == 0.5:
                return T.sqrt(base, self.here(node), self.records) or UNKNOWN
            return T.power(base, exponent, self.here(node)) or UNKNOWN
        if method == "square":
            return T.square(base, self.here(node)) or UNKNOWN
        if method in ("item", "tolist", "detach", "numpy") and isinstance(base, (Terms, PenaltyRef, Mixed)):
            return self.gradless_copy(base, f".{method}()")
        if method in SHAPE_METHODS:
            return base
        if method in SCALAR_REDUCTIONS and not args and isinstance(base, (Terms, PenaltyRef)):
            return base  # `l2_reg.sum()` of a scalar penalty is the penalty
        if method in ("item", "detach", "tolist"):
            return UNKNOWN
        return None

    def ev_torch(self, node: cst.Call, qualified: str, args: list[cst.Arg], frame: Frame) -> Value:
        name = qualified[len("torch.") :]
        first = self.ev(args[0].value, frame) if args else UNKNOWN
        if name in ABS_CALLS:
            return Elementwise(first, "abs") if isinstance(first, (Param, Flat)) else UNKNOWN
        if name == "square":
            if isinstance(first, (Param, Flat)):
                return Elementwise(first, "sq")
            return T.square(first, self.here(node)) or UNKNOWN
        if name == "pow" and len(args) >= 2:
            exponent = self.ev(args[1].value, frame)
            if isinstance(exponent, Num) and exponent.value == 2:
                if isinstance(first, (Param, Flat)):
                    return Elementwise(first, "sq")
                return T.square(first, self.here(node)) or UNKNOWN
            return T.power(first, exponent, self.here(node)) or UNKNOWN
        if name in SCALAR_REDUCTIONS and len(node.args) > 1 and isinstance(first, Elementwise):
            return partial_reduction(first, name)  # torch.sum(w ** 2, dim=1)
        if name in SCALAR_REDUCTIONS and len(node.args) == 1:
            if isinstance(first, Elementwise):
                return T.reduce(first, node, frame, self, mean=name == "mean")
            if isinstance(first, Terms) and first.per_element:
                return self.bind_terms(Terms(first.terms), node, frame)
            if carries_penalty(first):
                return first
            return UNKNOWN
        if name in SHAPE_FUNCTIONS and carries_penalty(first):
            return first  # torch.squeeze(l2_reg) * 1e-3
        if name in DROPOUT_FUNCTIONS and isinstance(first, Param):
            return first
        if name == "sqrt":
            return T.sqrt(first, self.here(node), self.records) or UNKNOWN
        if name in NORM_FUNCTIONS:
            if isinstance(first, (Param, Flat)):
                matrix_orders = name == "linalg.norm"
                return T.norm_term(node, first, node.args[1:], frame, self, tensor_first=True, matrix_orders=matrix_orders)
            return UNKNOWN
        if (
            name
            in ("nn.utils.parameters_to_vector", "nn.utils.convert_parameters.parameters_to_vector")
            and args
        ):
            if isinstance(first, ParamIter) and first.kind == "params":
                return Flat(first.pset, node, first.pset.gradless)
            return UNKNOWN
        if name in ("cat", "concat", "concatenate", "hstack") and args:
            if isinstance(first, ParamIter) and first.kind == "params":
                return Flat(first.pset, node, first.pset.gradless)
            grown = _grown_flat(first, node)
            if grown is not None:
                return grown
            return UNKNOWN
        if name == "stack" and args:
            if isinstance(first, Terms):
                return first
            if (
                isinstance(first, ListVal)
                and first.items
                and all(isinstance(i, (PenaltyRef, Mixed)) for i in first.items)
            ):
                return self.penalty_sum(first.items)
            if (
                isinstance(first, ListVal)
                and all(isinstance(i, Terms) for i in first.items)
                and first.items
            ):
                return Terms(tuple(t for i in first.items for t in i.terms), per_element=True)  # type: ignore[union-attr,attr-defined]
            return UNKNOWN
        if name == "flatten" and isinstance(first, (Param, Flat)):
            return first
        if name in MODULE_WRAPPERS and isinstance(first, (Instance, Module)):
            for extra in node.args[1:]:
                self.ev(extra.value, frame)
            return first  # DDP(model), torch.compile(model): the same parameters
        last = name.rsplit(".", 1)[-1]
        if last in L1_LOSS_CLASSES and name in (f"nn.{last}", f"nn.modules.loss.{last}"):
            return L1Criterion(_sums(node))
        if last in L1_LOSS_FUNCTIONS and name == f"nn.functional.{last}":
            return self.l1_loss_term(node, _sums(node), frame)
        if name == "nn.parameter.Parameter":
            return self.ev_layer(node, "Parameter", first, frame)
        if name.startswith("nn.") and name.count(".") == 1:
            return self.ev_layer(node, name[len("nn.") :], first, frame)
        if name in ("autograd.Variable", "autograd.variable.Variable") and isinstance(first, AccumulatorStart):
            return self.wrapped_accumulator(node, first)
        if name in REWRAPPING_FUNCTIONS:
            copied = self.rewrapped_terms(first, f"torch.{name}(...)")
            if copied is not None:
                return copied  # torch.as_tensor([term, ...]) copies values: no gradient flows back
        if name in (
            "tensor",
            "zeros",
            "Tensor",
            "FloatTensor",
            "scalar_tensor",
            "as_tensor",
            "ones",
            "zeros_like",
            "empty",
        ):
            started = self.accumulator_start(node, name, frame)
            if name in ("zeros", "zeros_like") and type(started) is Unknown:
                return Zeros()
            return started
        return UNKNOWN

    def l1_loss_term(self, node: cst.Call, summed: bool, frame: Frame) -> Value:
        """An L1 loss of a parameter against zeros (either way round) is its L1 term."""
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        given = [
            positional[0] if positional else keywords.get("input"),
            positional[1] if len(positional) > 1 else keywords.get("target"),
        ]
        values = [self.ev(argument, frame) if argument is not None else UNKNOWN for argument in given]
        for argument in node.args:
            if argument.value not in given:
                self.ev(argument.value, frame)
        for tensor, other in ((values[0], values[1]), (values[1], values[0])):
            if isinstance(tensor, (Param, Flat)) and _is_zeros(other):
                return T.reduce(Elementwise(tensor, "abs"), node, frame, self, mean=not summed)
        return UNKNOWN

    def ev_layer(self, node: cst.Call, name: str, first: Value, frame: Frame) -> Value:
        """`nn.Linear(3, 4, bias=False)`, `nn.Sequential(...)`, `nn.Parameter(...)`: a layer, and
        whether it holds 1-D parameters. `first` is the first positional argument's value."""
        positional = [a for a in node.args if a.keyword is None and not a.star]
        values = [first] + [self.ev(a.value, frame) for a in positional[1:]] if positional else []
        for arg in node.args:
            if arg.keyword is not None or arg.star:
                self.ev(arg.value, frame)
        text = (self.module, node)
        if name == "Parameter" and positional:
            return Module(text, self.parameter_vectors(positional[0].value), layer="Parameter")
        if not is_container(name):
            return Module(text, layer_vectors(name, node), layer=name)
        if any(a.star or a.keyword is not None for a in node.args):
            return Module(text, None)
        if len(values) == 1 and isinstance(values[0], (ListVal, TupleVal)):
            values = list(values[0].items)
        elif len(values) == 1 and isinstance(values[0], DictVal):
            values = [value for _, value, _, _ in values[0].entries]
        found = [self.has_vectors(value) for value in values]
        return Module(text, True if True in found else (None if None in found else False))

    def parameter_vectors(self, data: cst.BaseExpression) -> Optional[bool]:
        """`nn.Parameter(torch.randn(a, b))` is a matrix, `nn.Parameter(torch.zeros(n))` 1-D; also
        through an initializer (`nn.init.xavier_uniform_(torch.empty(a, b))`) and a move or cast
        (`torch.Tensor(a, b).type(dtype)`, `.to(device)`, `.float()`), which keep the shape."""
        data = self._shape_source(data)
        if not isinstance(data, cst.Call) or not isinstance(data.func, (cst.Name, cst.Attribute)):
            return None
        if self.imports.qualify(data.func) not in PARAMETER_FACTORIES:
            return None
        if any(a.star for a in data.args):
            return None
        sizes = [a.value for a in data.args if a.keyword is None]
        keyword = next((a.value for a in data.args if a.keyword is not None and a.keyword.value == "size"), None)
        if keyword is not None and not sizes:
            sizes = [keyword]
        if len(sizes) == 1 and isinstance(sizes[0], (cst.Tuple, cst.List)):
            sizes = [element.value for element in sizes[0].elements]
        elif len(sizes) == 1 and not isinstance(sizes[0], cst.Integer) and keyword is None:
            return None  # one argument that may be a shape tuple held in a name
        if len(sizes) == 1:
            return True
        if len(sizes) >= 2:
            return False
        return None

    def _shape_source(self, data: cst.BaseExpression) -> cst.BaseExpression:
        """The tensor construction under shape-keeping wrappers, as far as they go."""
        for _ in range(8):
            if not isinstance(data, cst.Call) or any(a.star for a in data.args):
                return data
            func = data.func
            if isinstance(func, cst.Attribute) and func.attr.value in RETYPING_METHODS and isinstance(func.value, cst.Call):
                data = func.value  # torch.empty(a, b).type(torch.FloatTensor), .to(device), .cuda()
                continue
            qualified = self.imports.qualify(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
            if qualified is not None and qualified.startswith("torch.nn.init.") and data.args and data.args[0].keyword is None:
                data = data.args[0].value  # nn.init.xavier_uniform_(torch.empty(a, b))
                continue
            return data
        return data

    def has_vectors(self, value: Value) -> Optional[bool]:
        """Does this module hold 1-D parameters (biases, norm gains)? None: not known."""
        if isinstance(value, Module):
            return value.vectors
        if isinstance(value, Instance):
            return self.instance_vectors(value)
        if isinstance(value, Submodule):
            return value.vectors
        if isinstance(value, OneOf):
            return joined_vectors([self.has_vectors(option) for option in value.options])
        return None

    @staticmethod
    def rewrapped_terms(value: Value, how: str) -> Optional[Value]:
        """Terms put into a new tensor (`torch.tensor([...])`): the same terms, without gradient."""
        if isinstance(value, Terms):
            return T.gradless(Terms(value.terms), how)
        if isinstance(value, (ListVal, TupleVal)) and value.items and all(isinstance(i, Terms) for i in value.items):
            terms = tuple(t for item in value.items if isinstance(item, Terms) for t in item.terms)
            return T.gradless(Terms(terms), how)
        return None

    def accumulator_start(self, node: cst.Call, name: str, frame: Frame) -> Value:
        """`torch.tensor(0.)`, `torch.zeros(1)`, `torch.zeros(())`, `torch.Tensor([0])`, and the size forms
        `torch.Tensor(1)` / `torch.empty(1)` (one element of uninitialized memory): where a penalty
        sum may start."""
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        positional = [a.value for a in node.args if a.keyword is None]
        if name in ("zeros_like", "ones") or len(positional) != 1:
            return UNKNOWN
        uninitialized = False
        if name in ("zeros", "empty"):
            size = positional[0]
            # `torch.zeros(())` / `torch.zeros([])`: a 0-dim start; `torch.zeros(1)`: one element.
            zero_dim = isinstance(size, (cst.List, cst.Tuple)) and not size.elements
            if not zero_dim and not self._size_one(size, frame):
                return UNKNOWN
            integer, uninitialized = False, name == "empty"
        elif name in ("Tensor", "FloatTensor") and isinstance(positional[0], cst.Integer):
            # A bare int is a size: torch.Tensor(1) has one element of uninitialized memory
            # (torch.Tensor(0) is an empty tensor; it is read as a zero start, as before).
            size = self.ev(positional[0], frame)
            if not isinstance(size, Num) or size.value not in (0, 1):
                return UNKNOWN
            zero_dim, integer, uninitialized = False, False, size.value == 1
        elif name in ("tensor", "scalar_tensor", "as_tensor", "Tensor", "FloatTensor"):
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
            integer = (
                isinstance(data, cst.Integer)
                and name in ("tensor", "as_tensor")
                and "dtype" not in keywords
            )
        else:
            return UNKNOWN
        accumulator = Accumulator(
            name="",
            node=node,
            device_less="device" not in keywords,
            integer=integer,
            leaf_requires_grad=is_true(keywords["requires_grad"]) if "requires_grad" in keywords else False,
            text=self.module.code_for_node(node),
            zero_dim=zero_dim,
            uninitialized=uninitialized,
        )
        # (Another module's start is that module's finding, unless the penalty it starts is not:
        # accumulator_off_device reports it at this file's call then.)
        return AccumulatorStart(accumulator)

    def _size_one(self, size: cst.BaseExpression, frame: Frame) -> bool:
        """`1`, `[1]` or `(1,)` as a tensor size."""
        if isinstance(size, (cst.List, cst.Tuple)):
            if len(size.elements) != 1:
                return False
            size = size.elements[0].value
        value = self.ev(size, frame)
        return isinstance(value, Num) and value.value == 1

    def moved_accumulator(self, node: cst.Call, inner: AccumulatorStart, method: str) -> Value:
        """`torch.zeros(1).to(device)`, `Variable(torch.FloatTensor(1)).cuda()`: moved to a device
        (or maybe moved: `.to(x)`), the start is no longer off the device."""
        old = inner.accumulator
        moved = method in ("to", "cuda")
        # (`.float()`, `.double()`, `.to(torch.float32)`, `.to(dtype=...)`: no longer an int tensor)
        cast = method in ("float", "double") or (method == "to" and any(_names_a_dtype(a) for a in node.args))
        started = self._restarted(node, old, old.device_less and not moved, old.leaf_requires_grad)
        if cast and isinstance(started, AccumulatorStart):
            return AccumulatorStart(replace(started.accumulator, integer=False))
        return started

    def wrapped_accumulator(self, node: cst.Call, inner: AccumulatorStart) -> Value:
        """`Variable(torch.Tensor(1), requires_grad=True)` (the old autograd wrapper)."""
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        old = inner.accumulator
        requires_grad = "requires_grad" in keywords and is_true(keywords["requires_grad"])
        return self._restarted(node, old, old.device_less, old.leaf_requires_grad or requires_grad)

    def _restarted(self, node: cst.Call, old: Accumulator, device_less: bool, leaf_requires_grad: bool) -> Value:
        """The same start, reported (and fixed) as the whole expression `node` that wraps it."""
        text = self.module.code_for_node(node)
        return AccumulatorStart(replace(old, node=node, text=text, device_less=device_less, leaf_requires_grad=leaf_requires_grad))

    def ev_builtin(
        self, node: cst.Call, name: str, args: list[cst.Arg], frame: Frame
    ) -> Optional[Value]:
        """Builtins the analysis understands; None (nothing evaluated) for any other name, so the
        caller evaluates the arguments once: evaluating them here too would double the work at
        every level of `f(f(f(...)))`."""
        if name not in _BUILTINS or frame.function(name) is not None:
            return None
        if name == "dict":
            return self.ev_dict_like(node, args, frame)
        if name == ATTRIBUTE_BY_NAME:
            named = self.class_named_at_run_time(node, frame)
            if named is not None:
                return named
        if name == "filter" and len(args) == 2:
            iterable = self.ev(args[1].value, frame)
            predicate = args[0].value
            if isinstance(iterable, ParamIter) and isinstance(predicate, cst.Lambda):
                params = [p.name.value for p in predicate.params.params]
                found = condition_filter(predicate.body, set(params))
                return iterable if found is None else iterable.filtered(found.text, found.selects)
            return iterable if isinstance(iterable, ParamIter) else UNKNOWN
        if name in ("list", "set") and not node.args:
            return ListVal(())  # `params_list = list()`, grown by append as `[]` is
        first = self.ev(args[0].value, frame) if args else UNKNOWN
        rest = [self.ev(extra.value, frame) for extra in node.args[1:]]
        if name == "sum":
            if isinstance(first, Terms):
                return self.bind_terms(Terms(first.terms), node, frame)
            if (
                isinstance(first, ListVal)
                and first.items
                and all(isinstance(i, Terms) for i in first.items)
            ):
                terms = tuple(t for i in first.items if isinstance(i, Terms) for t in i.terms)
                return self.bind_terms(Terms(terms), node, frame)
            if isinstance(first, (ListVal, TupleVal)) and any(penalty_ids(i) for i in first.items):
                # `sum([l1, l2])`, and a dict of losses summed (`sum(losses.values())`)
                return self.penalty_sum(first.items)
            return UNKNOWN
        if name == "abs":
            return Elementwise(first, "abs") if isinstance(first, (Param, Flat)) else UNKNOWN
        if name in ("list", "tuple", "iter", "sorted", "set"):
            return first if isinstance(first, (ParamIter, ListVal)) else UNKNOWN
        if name == "float" and isinstance(first, (Terms, PenaltyRef, Mixed)):
            return self.gradless_copy(first, "float()")
        if name == "float" and isinstance(first, Num):
            return first
        if name == "enumerate" and isinstance(first, (ParamIter, ListVal)):
            return Enumerated(first)
        if name == "zip" and len(args) == len(node.args) and any(isinstance(v, (ParamIter, ListVal)) for v in (first, *rest)):
            return Zipped((first, *rest))  # `zip(old.parameters(), model.parameters())`
        return UNKNOWN

    def ev_dict_like(self, node: cst.Call, args: list[cst.Arg], frame: Frame) -> Optional[Value]:
        """`dict(lr=1e-3)`, `dict(cfg, lr=1e-3)` (a copy, with the keywords added), and the same of
        a class whose objects hold their keys as attributes (vocabulary.ATTRIBUTE_DICTS); None
        (for the caller to evaluate) for any other shape."""
        if not args:
            return self.ev_dict_call(node, frame)
        if len(args) == 1 and not args[0].star:
            copied = self.ev(args[0].value, frame)
            if isinstance(copied, DictVal):
                added = self.ev_dict_call(node, frame)
                assert isinstance(added, DictVal)
                kept = copied.without(*(key for key, *_ in added.entries))
                return DictVal(copied.node, kept.entries + added.entries)
            for argument in node.args[1:]:
                self.ev(argument.value, frame)
            return UNKNOWN
        return None

    def ev_dict_call(self, node: cst.Call, frame: Frame) -> Value:
        entries = []
        for arg in node.args:
            if arg.keyword is not None:
                value = self.ev(arg.value, frame)
                entries.append((arg.keyword.value, value, arg.keyword, self.value_site(value, arg.value)))
        return DictVal(self.here(node), tuple(entries))

    def note_backward(
        self,
        node: cst.Call,
        loss: Value,
        loss_node: cst.BaseExpression,
        frame: Frame,
    ) -> None:
        self.mark_loss(loss)
        frame.trains = True
        pids = tuple(sorted(penalty_ids(loss)))
        frame.events.append(("backward", pids))  # (one with no penalty still ends a step: link_setups)
        if id(node) not in self.backwards and self.records_facts:
            self.backwards[id(node)] = BackwardCall(node=self.here(node), scope=frame.name, penalties=pids)
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
        """RL104: `loss = loss + reg` / `loss += reg` after `loss.backward()`. Each penalty the
        value holds is noted with whether the loss held it already when it was backpropagated
        (that one was trained; only the others are added late: see flush_late)."""
        new = penalty_ids(value)
        if not new or frame.no_grad or self.foreign:
            return  # with gradients off this is monitoring, not training
        held = frame.lookup(name)
        trained = penalty_ids(held) if held is not None else frozenset()
        sources = [n for n in frame.backward_on if adds_name(statement, n)]
        for source in sources:
            for pid in new:
                if not any(entry[0] == pid and entry[1] is statement for entry in frame.late):
                    frame.late.append((pid, statement, frame.backward_on[source], name, source, pid not in trained))

    def flush_late(self, frame: Frame) -> None:
        """The statements that add a penalty after backward() (RL104, one each), and the penalties
        added only there (Penalty.added_late). A penalty the loss held before its backward() is not
        late for being in the sum again (the same helper's penalty may be added both before and
        after: one record for both)."""
        for pid, statement, backward, _target, source, fresh in sorted(frame.late, key=lambda entry: not entry[5]):
            record = self.records[pid]
            if not adds_name(statement, source):
                continue
            if fresh:
                if record.add_node is None:
                    record.add_node = statement
                    record.joined_by = self.site()
                record.added_late = True
            if id(statement) not in self.late:
                self.late[id(statement)] = LateAddition(pid, statement, backward, source)
        frame.late = []


def _is_zeros(value: Value) -> bool:
    if isinstance(value, Zeros):
        return True
    if isinstance(value, AccumulatorStart):
        return True  # torch.zeros(1), torch.tensor(0.)
    return isinstance(value, Num) and value.value == 0


def _sums(node: cst.Call) -> bool:
    """Does this L1 loss sum (`reduction="sum"`, or the old `size_average=False`) rather than
    average, as it does by default?"""
    for argument in node.args:
        if argument.keyword is None:
            continue
        key, value = argument.keyword.value, argument.value
        if key == "reduction" and isinstance(value, cst.SimpleString):
            return value.evaluated_value == "sum"
        if key == "size_average" and isinstance(value, cst.Name):
            return value.value == "False"
    return False


def _grown_flat(pieces: Value, node: cst.CSTNode) -> Optional[Flat]:
    """`torch.cat((flat, torch.flatten(p)))` in a loop over a parameter set: the copy grown by one
    parameter of the set each pass is a flat copy of the whole set (the loop body runs once). The
    pieces are that parameter and, before it, what the copy held (nothing yet, or the copy of the
    same set); None for anything else."""
    if not isinstance(pieces, (ListVal, TupleVal)) or len(pieces.items) != 2:
        return None
    held, added = pieces.items
    if not isinstance(added, Param) or added.pset is None or added.anchored or added.rows:
        return None
    if isinstance(held, Flat) and held.pset is not added.pset:
        return None
    if isinstance(held, (Param, ParamIter, Elementwise, Terms, PenaltyRef, Mixed)):
        return None
    return Flat(added.pset, node, added.gradless)


def partial_reduction(elementwise: Elementwise, method: str) -> Elementwise:
    """A sum or mean of |w| or w² over some dimensions (or with arguments the analysis does not
    read): still entries of |w| or w², summed or averaged in groups; a later full reduction makes
    the term (`w.pow(2).sum(dim=1).mean()`). (A square root of it is no norm of the tensor: no term.)"""
    return replace(elementwise, averaged=elementwise.averaged or method == "mean")
