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
from pathlib import Path
from typing import Iterator, Optional, Sequence

import libcst as cst

from reglint.analysis.branches import branch_taken, fixed_by_record, parameter_test_taken
from reglint.analysis.calls import CallEvaluator
from reglint.analysis.classes import (
    ClassInfo,
    builds_only_attributes,
    is_stub,
    parsed_declarations,
    type_vectors,
)
from reglint.analysis.expressions import ExpressionEvaluator, string_value
from reglint.analysis.facts import (
    BackwardCall,
    FileFacts,
    LateAddition,
    Number,
    OptimizerCall,
    ParamGroup,
    ParamSet,
)
from reglint.analysis.filters import condition_filter, module_type_test
from reglint.analysis.inheritance import InheritanceRunner
from reglint.analysis.library_optimizers import (
    TRAINER_DEFAULT_OPTIM,
    TRAINER_OPTIMIZER_HOOKS,
    TRAINERS,
)
from reglint.analysis.linking import ProjectEvaluator
from reglint.analysis.modules import ModuleContext
from reglint.analysis.names import ImportMap, callee_name, dotted
from reglint.analysis.optimizer_calls import OptimizerEvaluator
from reglint.analysis.optimizers import trainer_spec
from reglint.analysis.project import Project, joins_a_trainer, reads_project_code
from reglint.analysis.state import (
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
    nested_functions,
    nested_statements,
)
from reglint.analysis.valueops import (
    any_vectors,
    code_to_run_in_turn,
    either,
    element_of,
    is_code,
    is_none,
    is_param_collection,
    join_params,
    joined_vectors,
    names_of,
    numeric_name,
    one_of,
    penalty_only,
    present_or_none,
    records_in_turn,
    scales_of,
    times,
)
from reglint.analysis.values import (
    UNKNOWN,
    AccumulatorStart,
    ClassRef,
    DictVal,
    FunctionRef,
    Instance,
    KeywordArgs,
    L1Criterion,
    LambdaFunction,
    ListVal,
    Mixed,
    Module,
    Num,
    OneOf,
    OptimizerClass,
    OptimizerRef,
    Param,
    ParamName,
    Partial,
    PenaltyRef,
    Str,
    Submodule,
    Terms,
    TupleVal,
    Unknown,
    Value,
    handed_here,
    penalty_ids,
    without_rows,
)
from reglint.analysis.vocabulary import (
    CALL_METHODS,
    MODULE_BASES,
    TRAINING_STEP_FUNCTIONS,
    hands_rows_to,
    names_a_penalty,
    returns_a_loss,
)
from reglint.analysis.walk import subnodes
from reglint.analysis.wirers import wiring_modules
from reglint.analysis.wiring import WiringEvaluator


def _nonzero_entry_test(test: cst.BaseExpression) -> Optional[tuple[cst.BaseExpression, str]]:
    """(`params`, `"weight_decay"`) of `params["weight_decay"] != 0` or `> 0` (either side)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    comparison = test.comparisons[0]
    left, right = test.left, comparison.comparator
    if isinstance(comparison.operator, cst.LessThan):
        left, right = right, left
    elif not isinstance(comparison.operator, (cst.NotEqual, cst.GreaterThan)):
        return None
    if not (isinstance(right, (cst.Integer, cst.Float)) and float(right.value) == 0):
        return None
    if not (isinstance(left, cst.Subscript) and len(left.slice) == 1 and isinstance(left.slice[0].slice, cst.Index)):
        return None
    key = left.slice[0].slice.value
    text = string_value(key) if isinstance(key, cst.SimpleString) else None
    return (left.value, text) if text else None


def _membership_test(test: cst.BaseExpression) -> bool:
    """`"weight_decay" in params`."""
    return (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.In)
        and isinstance(test.left, cst.SimpleString)
    )


def _rebind(frame: Frame, name: str, old: Value, new: Value) -> None:
    """Bind `name` to `new` in `frame`, and every other name of the frame that holds the very same
    dict (`cfg = __C` before `__C.LR = 1e-4`: one object under two names)."""
    for other, held in list(frame.env.items()):
        if held is old and other != name:
            frame.env[other] = new
    frame.env[name] = new


def _with_item(table: DictVal, path: list[str], value: Value, node: cst.CSTNode) -> Optional[DictVal]:
    """`table` with the key path set to `value` (None where a dict on the way is not known)."""
    key = path[0]
    if len(path) > 1:
        found = table.get(key)
        inner = found[0] if found is not None else None
        if not isinstance(inner, DictVal):
            return None
        replaced = _with_item(inner, path[1:], value, node)
        if replaced is None:
            return None
        value = replaced
    return table.setting(key, value, node)


def _code_in(frame: Frame) -> dict[str, Value]:
    return {name: value for name, value in frame.env.items() if is_code(value)}


def _join_branches(frame: Frame, before: dict[str, Value], after_body: dict[str, Value], has_else: bool) -> None:
    """What a name holds after an `if` whose test the analysis cannot decide, for the code it may
    hold (`before` and `after_body`: the code names held before the `if` and after its body).
    The branches ran one after the other, so the frame holds what the last one bound; where one
    path binds code and the other other code, the name holds both (one_of: `if cfg.l1: reg =
    l1_all` / `else: reg = l2_all`, an elif chain, a default replaced under a flag), and where
    the other binds None, the code (present_or_none)."""
    for name in set(after_body) | set(_code_in(frame)):
        final = frame.env.get(name, UNKNOWN)
        if has_else and (name not in after_body or final is not after_body[name]):
            other = after_body.get(name, UNKNOWN)  # the else branch bound it: the body's value
        else:
            other = before.get(name, UNKNOWN)  # the value where the body did not run
        chosen = one_of([final, other]) if is_code(final) and is_code(other) else None
        if chosen is None:
            chosen = present_or_none(final, other)
        if chosen is not None:
            frame.env[name] = chosen


def _present_over_none(frame: Frame, bound_by_body: dict[str, Value]) -> None:
    """After an `if` whose test the analysis cannot decide, a name its `else` binds to None and
    its body to anything else holds what the body bound: the code after it can only use that
    (`if net_type == "unet": net = UNet(...)` / `else: net = None`, then `net.parameters()`)."""
    for name, final in frame.env.items():
        if is_none(final):
            held = bound_by_body.get(name)
            if held is not None and held is not final and not is_none(held):
                frame.env[name] = held


class FileAnalyzer(ExpressionEvaluator, CallEvaluator, OptimizerEvaluator, ProjectEvaluator, WiringEvaluator, InheritanceRunner):
    """Walks one module and collects its facts; see the mixins for expressions, calls, optimizers
    and the names that come from the project's other modules."""

    def __init__(
        self,
        module: cst.Module,
        source: Optional[str] = None,
        project: Optional[Project] = None,
        file: Optional[Path] = None,
    ) -> None:
        self.home = ModuleContext.of(module, home=True, source=source, file=file)
        self.ctx = self.home  # the module whose code runs now (a project module while inlined)
        self.source = source
        self.project = project if file is not None else None
        self.anchor: Optional[cst.CSTNode] = None  # the linted module's call into other code
        self.callers: list[Optional[str]] = []
        self.loading = 0  # > 0 while a project module's top-level code runs on import
        self.contexts: dict[Path, Optional[ModuleContext]] = {}
        self.dependencies: dict[str, str] = {}  # project modules read: path -> content digest
        # Run the project's other modules' code only for a module that sets up training (see
        # project.reads_project_code); the modules read to decide are dependencies too.
        self.follows_project = False
        self.joins_only = False
        # The project modules that wire this trainer (see wiring.py), and whether their code runs now.
        self.wiring: list[Path] = []
        self.wiring_run = False
        self._wired: dict[tuple[Optional[str], Optional[str]], bool] = {}
        if self.project is not None and file is not None:
            text = source if source is not None else module.code
            self.follows_project, consulted = reads_project_code(text, file)
            self.dependencies.update(consulted)
            self.joins_only = self.follows_project and joins_a_trainer(text)
            self.wiring, consulted = wiring_modules(text, file)
            self.dependencies.update(consulted)
            self.follows_project = self.follows_project or bool(self.wiring)
        self.records: list[PenaltyRecord] = []
        self._record_by_node: dict[tuple[int, int, bool], int] = {}
        self._nodes_of: dict[int, set[int]] = {}  # a function's nodes, for _taken_inside
        self.optimizers: dict[int, OptimizerCall] = {}
        self.backwards: dict[int, BackwardCall] = {}
        self.late: dict[int, LateAddition] = {}
        self.group_dicts: dict[int, ParamGroup] = {}
        # `functools.partial(optim.Adam, weight_decay=1e-5)` written by this file, and those of
        # them some call of the value constructed (calls.ev_partial, optimizer_calls.ev_optimizer).
        self.optimizer_partials: dict[int, tuple[cst.Call, OptimizerClass, Frame]] = {}
        self.called_partials: set[int] = set()
        self._trainers_constructed: set[int] = set()  # classes derived from a transformers trainer
        self.handed_to_trainers: dict[str, set[int]] = {}  # see FileFacts.handed_to_trainers
        self._inline_stack: list[int] = []
        # The functions the wiring modules' runs ran (wiring.py), and for each optimizer
        # construction the functions that ran it, with whether a wiring run did (see
        # _drop_constructions_the_wiring_skips).
        self._ran_by_wiring: set[int] = set()
        self._constructed_in: dict[int, set[tuple[Optional[int], bool]]] = {}
        # Terms a penalty-named helper returns when it runs on its own: they are its penalty
        # unless a call in this module inlines it (the caller binds them): see claim_terms.
        self._inlined: set[int] = set()
        # The code of the definitions asked for more than once (an __init__ for each object made).
        self._renderings: dict[int, tuple[cst.CSTNode, str]] = {}
        self._unclaimed: list[tuple[int, Terms, cst.Return, Frame, str, Optional[str]]] = []
        # Attributes of the instances the analysis follows (Instance.env -> name -> value); each
        # class's generic instance, whose methods run on their own, is made by `class_instance`.
        self.instances: list[dict[str, Value]] = []
        self._class_instances: dict[int, Instance] = {}

    # The current module's parts, read by every evaluator.
    @property
    def module(self) -> cst.Module:
        return self.ctx.module

    @property
    def imports(self) -> ImportMap:
        return self.ctx.imports

    @property
    def module_frame(self) -> Frame:
        return self.ctx.frame

    @property
    def methods(self) -> dict[str, list[tuple[str, cst.FunctionDef]]]:
        return self.ctx.methods

    @property
    def classes(self) -> dict[str, ClassInfo]:
        return self.ctx.classes

    @property
    def argparse_defaults(self) -> dict[str, Optional[float]]:
        return self.ctx.argparse_defaults

    # ------------------------------------------------------------------ driver

    def run(self) -> FileFacts:
        self.load(self.home)
        self.link_setups(self.module_frame)
        ran: set[int] = set()
        for info in self.classes.values():
            init = info.methods.get("__init__")
            if init is not None:
                # A class's attributes first: its other methods read what __init__ assigns.
                ran.add(id(init))
                self.call_function(init, [], {}, f"{info.name}.__init__", info.name, standalone=True)
            else:
                self.run_inherited_init(info)
        for function, frame_name, class_name in self._all_functions():
            if id(function) not in ran:
                self.call_function(function, [], {}, frame_name, class_name, standalone=True)
        for info in list(self.classes.values()):
            if info.context.home:
                self.run_inherited_training(info)
        self.run_wiring_modules()
        self._drop_constructions_the_wiring_skips()
        for function_id, terms, statement, frame, function_name, class_name in self._unclaimed:
            if function_id not in self._inlined:
                self._name_returned(self.bind_terms(terms, statement.value or statement, frame), function_name, class_name)
        self._construct_uncalled_partials()
        self._unconstructed_trainers()
        constants = {
            k: v.value
            for k, v in self.module_frame.env.items()
            if isinstance(v, Num) and v.value is not None
        }
        return FileFacts(
            module=self.module,
            penalties=[record.freeze() for record in self.records if self._reports(record)],
            optimizers=list(self.optimizers.values()),
            backward_calls=list(self.backwards.values()),
            late_additions=[late for late in self.late.values() if self._reports(self.records[late.penalty_index])],
            group_dicts=list(self.group_dicts.values()),
            constants=constants,
            handed_to_trainers={name: frozenset(keys) for name, keys in self.handed_to_trainers.items()},
            dependencies=dict(self.dependencies),
        )

    def _drop_constructions_the_wiring_skips(self) -> None:
        """An optimizer that only the linted file's functions run on their own construct, in a
        function that the scripts wiring it also ran without constructing it, is not made in the
        project's setups: `if learner == "adam":` in a trainer that its script configures with
        "sgd" (branches._held_string). Run alone, the function could not tell which branch runs."""
        for key, runs in self._constructed_in.items():
            if key in self.optimizers and all(
                not by_wiring and function is not None and function in self._ran_by_wiring for function, by_wiring in runs
            ):
                del self.optimizers[key]

    def _construct_uncalled_partials(self) -> None:
        """A partial of an optimizer class that no call the analysis follows constructs (it is
        handed to another module, or kept as a module's setting: `make_optimizer = partial(
        optim.Adam, weight_decay=1e-5)`) still fixes the class and the decay of every optimizer
        it makes: it is read as a construction whose parameters are unknown, so the findings on
        the class and the decay (RL201, RL204) are reported where the partial is written."""
        for key, (node, held, frame) in list(self.optimizer_partials.items()):
            if key not in self.called_partials:
                self.ev_optimizer(node, held.qualified, frame, held=held)

    def _reports(self, record: PenaltyRecord) -> bool:
        """Is `record` this file's to report? Not one built while a project module's top-level
        code ran on import; and for a module that follows the project only because it hands a
        model to a trainer (project.joins_a_trainer), only a penalty no other module's run sees
        whole: over parameters a third module took (the trainer.py reports the rest itself)."""
        if not record.kept or self.reported_by_another_module(record):
            return False
        return not self.joins_only or not record.built_elsewhere or record.joined_here

    def load(self, context: ModuleContext) -> None:
        """Collect a module's definitions and run its module-level code, once."""
        if context.loaded:
            return
        context.loaded = True
        outer, self.ctx = self.ctx, context
        try:
            if context.home:
                if context.source is None or "add_argument" in context.source:
                    context.argparse_defaults = argparse_defaults(context.module, context.source)
                self._collect_definitions(context.module.body, context.frame)
            if context.home:
                self.exec_block(context.module.body, context.frame)
                self.flush_late(context.frame)
            elif context.loaded_module is not None:
                # An imported module gives its declarations (constants, config dicts): its other
                # top-level code (calls, loops, imports of more modules) is not run for an importer.
                for small in parsed_declarations(context.loaded_module, context.declarations):
                    self.exec_small(small, context.frame, small)
        finally:
            self.ctx = outer

    def _collect_definitions(self, body: Sequence[cst.CSTNode], frame: Frame) -> None:
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                frame.functions[statement.name.value] = statement
            elif isinstance(statement, cst.ClassDef):
                info = ClassInfo(statement.name.value, statement, self.ctx)
                self.classes[statement.name.value] = info
                for item in statement.body.body:
                    if isinstance(item, cst.FunctionDef):
                        info.methods[item.name.value] = item
                        self.methods.setdefault(item.name.value, []).append(
                            (statement.name.value, item)
                        )
            elif isinstance(statement, (cst.If, cst.Try)):
                # Definitions guarded by `if TYPE_CHECKING` / try-imports still count.
                self._collect_definitions(nested_statements(statement), frame)

    # ------------------------------------------------------------------ instances

    def new_instance(self, info: ClassInfo) -> Instance:
        self.instances.append(dict(self.class_attributes(info)))
        return Instance(info, len(self.instances) - 1)

    def class_instance(self, info: ClassInfo) -> Instance:
        """The instance a class's methods run on when they run on their own."""
        found = self._class_instances.get(id(info))
        if found is None:
            found = self._class_instances[id(info)] = self.new_instance(info)
        return found

    def find_class(self, node: cst.BaseExpression, frame: Frame) -> Optional[ClassInfo]:
        """The class a name refers to, where the analysis reads its definition (in this module
        or, imported, in another of the project)."""
        if isinstance(node, (cst.Name, cst.Attribute)):
            value = self.ev(node, frame)
            if isinstance(value, ClassRef):
                return value.info
        return None

    def find_method(self, info: ClassInfo, name: str, seen: Optional[set[int]] = None) -> Optional[tuple[ClassInfo, cst.FunctionDef]]:
        """`name` as `info`'s instances see it: its own method or an inherited one."""
        method = info.methods.get(name)
        if method is not None:
            return info, method
        return self.find_inherited(info, name, seen)

    def find_inherited(self, info: ClassInfo, name: str, seen: Optional[set[int]] = None) -> Optional[tuple[ClassInfo, cst.FunctionDef]]:
        """`name` as `info`'s bases define it (what `super().name` is in a method of `info`)."""
        seen = seen if seen is not None else set()
        seen.add(id(info))
        outer, self.ctx = self.ctx, info.context
        try:
            for base in info.bases:
                parent = self.find_class(base, self.module_frame)
                if parent is not None and id(parent) not in seen:
                    found = self.find_method(parent, name, seen)
                    if found is not None:
                        return found
        finally:
            self.ctx = outer
        return None

    def _rendered(self, module: cst.Module, node: cst.CSTNode) -> str:
        """`module`'s code for `node` (one of its definitions), generated once."""
        found = self._renderings.get(id(node))
        if found is None or found[0] is not node:
            found = self._renderings[id(node)] = (node, module.code_for_node(node))
        return found[1]

    def _store_attributes(self, frame: Frame, name: str, instance: Instance) -> None:
        """What `frame` has stored on the object it calls `name` (`self.weights = []`) is the
        object's."""
        prefix = name + "."
        attributes = self.instances[instance.env]
        for key, held in frame.env.items():
            if key.startswith(prefix):
                attributes[key[len(prefix) :]] = held

    def _load_attributes(self, frame: Frame, name: str, instance: Instance) -> None:
        """`frame` sees what the object it calls `name` holds."""
        for attribute, held in self.instances[instance.env].items():
            frame.env[f"{name}.{attribute}"] = held

    @staticmethod
    def _holders(caller: Optional[Frame], instance: Instance) -> list[tuple[Frame, str]]:
        """The caller and each name under which it holds the object a method is called on
        (`self` in the `__init__` that calls `self.add_weights(...)`): what the caller has stored
        on it so far is the object's when the method starts, and what it holds when the method
        returns (`self.weights.append(...)`) is the caller's from then on."""
        if caller is None:
            return []
        return [
            (caller, name)
            for name, value in caller.env.items()
            if isinstance(value, Instance) and value.env == instance.env and "." not in name
        ]

    def instance_vectors(self, instance: Instance, visiting: Optional[set[int]] = None) -> Optional[bool]:
        """Does this object hold 1-D parameters? False only where every attribute its __init__
        assigned is a layer without them (or a plain value) and every base class is known."""
        visiting = visiting if visiting is not None else set()
        if instance.env in visiting:
            return None
        visiting.add(instance.env)
        info = instance.info
        init = info.methods.get("__init__")
        if init is not None and not builds_only_attributes(
            init, lambda node: self._rendered(info.context.module, node), lambda name: self._method_ran(info, name)
        ):
            return None
        found: list[Optional[bool]] = [
            self._held_vectors(value, visiting) for value in self.instances[instance.env].values()
        ]
        if not any(isinstance(v, (Module, Instance)) for v in self.instances[instance.env].values()):
            return None  # no layer seen: nothing shows what the model holds
        outer, self.ctx = self.ctx, info.context
        try:
            for base in info.bases:
                qualified = self.imports.qualify(base) if isinstance(base, (cst.Name, cst.Attribute)) else None
                if qualified in MODULE_BASES:
                    continue
                parent = self.find_class(base, self.module_frame)
                if parent is None:
                    return None
                found.append(self.instance_vectors(self.class_instance(parent), visiting))
        finally:
            self.ctx = outer
        return True if True in found else (None if None in found else False)

    def _method_ran(self, info: ClassInfo, name: str) -> Optional[bool]:
        """Was `self.<name>()`, called in info's __init__, read when __init__ ran? None: not a
        method the analysis knows."""
        found = self.find_method(info, name)
        if found is None:
            return None
        defining, method = found
        return not is_stub(method) and self.runs_foreign_code(defining.context)

    def _held_vectors(self, value: Value, visiting: set[int]) -> Optional[bool]:
        if isinstance(value, Module):
            return value.vectors
        if isinstance(value, Instance):
            return self.instance_vectors(value, visiting)
        if isinstance(value, OneOf):
            return joined_vectors([self._held_vectors(option, visiting) for option in value.options])
        if isinstance(value, (Num, Str)):
            return False
        if isinstance(value, (ListVal, TupleVal)):
            parts = [self._held_vectors(item, visiting) for item in value.items]
            return True if True in parts else (None if None in parts else False)
        return None

    def construct(self, info: ClassInfo, node: cst.Call, frame: Frame) -> Value:
        """`Net(...)`: a new instance, its attributes set by its __init__."""
        instance = self.new_instance(info)
        found = self.find_method(info, "__init__")
        if found is None:
            for arg in node.args:
                self.ev(arg.value, frame)
            self._trainer_construction(info, node, frame, own_init=False)
            return instance
        owner, init = found
        self.inline(init, node, frame, owner.name, instance=instance, context=owner.context)
        self._trainer_construction(info, node, frame, own_init=True)
        return instance

    def _trainer_construction(self, info: ClassInfo, node: cst.Call, frame: Frame, own_init: bool) -> None:
        """A class derived from transformers' Trainer builds the trainer's optimizer."""
        trainer = self.trainer_base(info)
        if trainer is not None:
            self._trainers_constructed.add(id(info))
            self.ev_trainer(node, trainer, frame, own_init=own_init, owner_class=info.name)

    def trainer_base(self, info: ClassInfo, seen: Optional[set[int]] = None) -> Optional[str]:
        """The transformers trainer (library_optimizers.TRAINERS) that `info` derives from, through
        the file's classes (and the project's, where the linted module reads its project's code:
        project.reads_project_code), where none of them builds its own optimizer (overrides
        create_optimizer); None otherwise."""
        seen = seen if seen is not None else set()
        if id(info) in seen or any(hook in info.methods for hook in TRAINER_OPTIMIZER_HOOKS):
            return None
        seen.add(id(info))
        outer, self.ctx = self.ctx, info.context
        try:
            for base in info.bases:
                qualified = self.imports.qualify(base) if isinstance(base, (cst.Name, cst.Attribute)) else None
                if qualified in TRAINERS:
                    return qualified
                parent = self.find_class(base, self.module_frame)
                if parent is None or (parent.context is not info.context and not self.follows_project):
                    continue
                found = self.trainer_base(parent, seen)
                if found is not None:
                    return found
        finally:
            self.ctx = outer
        return None

    def _unconstructed_trainers(self) -> None:
        """A class of this file derived from transformers' Trainer that no code the analysis runs
        constructs still trains with the trainer's optimizer: its class by default (AdamW), its
        decay unknown (the arguments are not seen; the trainer's default is 0.0). It is placed at
        the class."""
        for info in self.classes.values():
            if id(info) in self._trainers_constructed or info.node is None or not info.context.home:
                continue
            trainer = self.trainer_base(info)
            spec = trainer_spec(TRAINER_DEFAULT_OPTIM)
            if trainer is None or spec is None:
                continue
            decay = Number(None, "args.weight_decay", None, default_used=True)
            self.keep_optimizer(
                self._trainer_optimizer(info.node, trainer, spec, decay, None, ("model", info.node), self.module_frame, info.name)
            )

    def _all_functions(self) -> Iterator[tuple[cst.FunctionDef, str, Optional[str]]]:
        """Every function and method of the module, and the functions nested in them (a closure
        handed to LBFGS or scipy is called by code the analysis does not read)."""
        for name, function in self.module_frame.functions.items():
            yield function, name, None
            yield from self._nested(function, name)
        for method_name, entries in self.methods.items():
            for class_name, function in entries:
                yield function, f"{class_name}.{method_name}", class_name
                yield from self._nested(function, f"{class_name}.{method_name}")

    def _nested(self, function: cst.FunctionDef, prefix: str) -> Iterator[tuple[cst.FunctionDef, str, Optional[str]]]:
        for inner in nested_functions(function):
            name = f"{prefix}.{inner.name.value}"
            yield inner, name, None
            yield from self._nested(inner, name)

    # ------------------------------------------------------------------ records

    def record(self, node: cst.CSTNode, frame: Frame) -> int:
        # One record per node; another module's code builds one per call of the linted file that
        # led there (`d_reg = l2_penalty(self.D)` left unused beside `l2_penalty(self.G)` added).
        key = (id(node), id(self.here(node)), frame.no_grad > 0)
        pid = self._record_by_node.get(key)
        if pid is None:
            pid = len(self.records)
            self.records.append(
                PenaltyRecord(
                    node=self.here(node),
                    scope=frame.name,
                    owner_class=frame.class_name,
                    kept=self.records_facts,
                    built_elsewhere=self.foreign,
                    scope_code=frame.code,
                    statement=frame.statement,
                    origin=(self.module, node, self.ctx.path) if self.foreign else None,
                    callers=frozenset(self.callers) if self.foreign else frozenset(),
                )
            )
            self._record_by_node[key] = pid
        frame.created.append(pid)
        return pid

    def link_setups(self, frame: Frame) -> None:
        """Tie each penalty backpropagated in `frame` to the optimizers stepped after that
        backward(): the first steps that follow it, up to the next backward() after them (two
        losses backpropagated before one step both reach it; a critic's backward() and step
        after the actor's are the critic's); any step of the frame when none follows. A frame
        that steps nothing hands its backward() calls to the frame that inlined it."""
        if frame.trains and self.places_facts:
            for pid in frame.created:
                self.records[pid].in_training_step = True
        elif frame.caller is not None:
            # A helper the step calls computes its penalty in the step (`reg = weight_sq(model)`).
            frame.caller.created.extend(frame.created)
        events = frame.events
        steps_anywhere = [value for kind, value in events if kind == "step"]
        for index, (kind, value) in enumerate(events):
            if kind != "backward":
                continue
            following: list[object] = []
            for later_kind, later in events[index + 1 :]:
                if later_kind == "backward" and following:
                    break
                if later_kind == "step":
                    following.append(later)
            steps = following or steps_anywhere
            if not steps:
                if frame.caller is not None:
                    frame.caller.events.append((kind, value))
                continue
            for pid in value:  # type: ignore[attr-defined]
                record = self.records[pid]
                for key in steps:
                    if key is None:
                        record.setup_unknown = True
                    else:
                        record.setup.add(key)  # type: ignore[arg-type]
        frame.events = []

    def bind_terms(self, value: Value, anchor: cst.CSTNode, frame: Frame) -> Value:
        """A Terms value that escapes into a variable, a loss or a return becomes a penalty."""
        if isinstance(value, Terms):
            pid = self.record(anchor, frame)
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
        by_name: bool = False,
        returned_by: Optional[cst.FunctionDef] = None,
    ) -> None:
        """`value` is a loss: its penalties reach it. `by_name`: known only because a loss-like
        name holds it (`loss_with_l1 = loss + reg`), not because it is backpropagated or returned
        as a loss; RL107 still asks whether that name is ever used. `returned_by`: a helper named
        like a loss returns it to its caller, whose use of it RL107 reads."""
        if frame is not None and frame.no_grad:
            return  # a loss computed with gradients off (validation, monitoring) is never trained on
        alone = penalty_only(value)
        if not self.places_facts:
            # A wiring module's own loss: its run reports what it joins (wiring.py), a penalty the
            # linted module only held under a loss's name included (`reg_loss = lam * reg_loss` in
            # a Regularization module, added to the loss by train.py).
            if not alone:
                for pid in penalty_ids(value):
                    if self.records[pid].added_alone:
                        self.records[pid].joined_by_a_wiring_module = True
            return
        self.note_scale(value)
        for pid in penalty_ids(value):
            record = self.records[pid]
            record.reaches_loss = True
            record.trained = record.trained or not by_name
            if not by_name:
                if returned_by is None:
                    record.trained_directly = True
                else:
                    record.returned_by.add(id(returned_by))
            if self.foreign:
                record.loss_elsewhere = True  # its own module sees it reach a loss too
            if name and record.added_to is None:
                record.added_to = name
            # Returned by the function that built it, the penalty is handed on, not yet joined to
            # the data loss (`return l2_reg_loss` of `_get_reg_loss`, whatever else it summed),
            # unless that function returns the model's loss (`return rank_loss + lam * reg_loss`
            # of `calculate_loss`).
            held = alone or (
                isinstance(add_node, cst.Return)
                and frame is not None
                and frame.name == record.scope
                and not returns_a_loss(frame.name.rpartition(".")[2], frame.class_name)
            )
            if add_node is not None and (record.add_node is None or (record.added_alone and not held)):
                # (where it joins the data loss, `loss = ce + l2_loss`, over where it is only held
                # or returned under a loss's name, `l2_loss = lam * model.l2()`)
                if record.joined_by is None or record.added_alone:
                    record.joined_by = self.site()  # (the first join: see wiring.py)
                record.add_node = self.here(add_node)
                record.added_alone = held

    def mark_named(self, value: Value, name: str) -> None:
        if isinstance(value, PenaltyRef) and PENALTY_NAME.search(name):
            record = self.records[value.pid]
            if record.named is None:
                record.named = name
            if self.foreign:
                record.named_elsewhere = True

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
        taken = branch_taken(statement.test, frame)
        if taken is None:
            taken = parameter_test_taken(statement.test, frame, self.imports.qualify)
        before = _code_in(frame) if taken is None else None
        if taken is not False:
            rebound = self._apply_filter(frame, statement.test, positive=True)
            self.exec_suite(statement.body, frame)
            self._restore(frame, rebound)
        after_body = _code_in(frame) if before is not None else None
        bound_by_body = dict(frame.env) if before is not None and statement.orelse is not None else None
        if statement.orelse is not None and taken is not True:
            rebound = self._apply_filter(frame, statement.test, positive=False)
            zeroed = self._zero_where_tested_nonzero(statement.test, frame)
            if isinstance(statement.orelse, cst.If):
                self.exec_if(statement.orelse, frame)
            else:
                self.exec_suite(statement.orelse.body, frame)
            self._restore(frame, rebound)
            for holder, name, held, zero in zeroed:
                if holder.get(name) is zero:
                    holder[name] = held
        if before is not None and after_body is not None:
            _join_branches(frame, before, after_body, statement.orelse is not None)
        if bound_by_body is not None:
            _present_over_none(frame, bound_by_body)

    def exec_for(self, statement: cst.For, frame: Frame) -> None:
        iterable = self.ev(statement.iter, frame)
        code = code_to_run_in_turn(iterable)
        records = [] if code else records_in_turn(iterable)
        for element in code or records or [self._walked(element_of(iterable, self), statement)]:
            self.bind_target(statement.target, element, frame)
            outer = frame.fixed
            if records:  # (what this record holds decides `if l1 > 0:` in this pass)
                frame.fixed = {**outer, **fixed_by_record(statement.target, frame, statement.body)}
            self.exec_suite(statement.body, frame)
            frame.fixed = outer
        if statement.orelse is not None:
            self.exec_suite(statement.orelse.body, frame)

    def _walked(self, element: Value, loop: cst.For) -> Value:
        """A parameter (or a `(name, parameter)` pair) that the linted module's `for` loop takes
        one by one, marked with that loop."""
        if self.foreign:
            return element
        if isinstance(element, Param) and element.pset is not None:
            return replace(element, walked_at=loop.iter)
        if isinstance(element, TupleVal) and any(isinstance(item, Param) for item in element.items):
            return TupleVal(tuple(self._walked(item, loop) for item in element.items))
        return element

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
        frame.statement = small
        if isinstance(small, cst.Assign):
            value = self.ev(small.value, frame)
            if value is UNKNOWN and len(small.targets) == 1:
                kept = self.handed_back(small.targets[0].target, small.value, frame)
                if kept is not None:
                    value = kept
            for target in small.targets:
                self.assign(target.target, value, small, frame)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.assign(small.target, self.ev(small.value, frame), small, frame)
        elif isinstance(small, cst.AugAssign):
            self.exec_augassign(small, frame)
        elif isinstance(small, cst.Expr):
            if isinstance(small.value, cst.Yield):
                self.note_yield(small.value, frame)
            else:
                self.ev(small.value, frame)
        elif isinstance(small, cst.Return):
            if small.value is not None:
                value = self.ev(small.value, frame)
                if not (isinstance(value, Terms) and frame.depth < len(self._inline_stack)):
                    value = self.bind_terms(value, small.value, frame)
                frame.returns.append((value, small))

    def handed_back(self, target: cst.BaseExpression, value: cst.BaseExpression, frame: Frame) -> Optional[Value]:
        """`model = load_model(model, path)`, `net, opt = amp.initialize(net, opt)`: a call the
        analysis cannot read, handed a model (or an optimizer) and bound to the very name it was
        handed under, gives back that object (restored, wrapped, moved): the names keep what they
        held. None where no name keeps a model or an optimizer that way."""
        if not isinstance(value, cst.Call):
            return None
        if isinstance(target, (cst.Tuple, cst.List)) and any(isinstance(element, cst.StarredElement) for element in target.elements):
            return None
        handed = {dotted(argument.value): argument.value for argument in value.args if not argument.star}
        names = [dotted(element.value) for element in target.elements] if isinstance(target, (cst.Tuple, cst.List)) else [dotted(target)]
        kept: list[Value] = []
        for name in names:
            held = self.ev(handed[name], frame) if name is not None and name in handed else UNKNOWN
            kept.append(held if isinstance(held, (Instance, Module, OptimizerRef)) else UNKNOWN)
        if all(item is UNKNOWN for item in kept):
            return None
        return kept[0] if not isinstance(target, (cst.Tuple, cst.List)) else TupleVal(tuple(kept))

    def note_yield(self, node: cst.Yield, frame: Frame) -> None:
        """A generator's items, as a list its yields grow: `yield p` appends, `yield from ps`
        extends (what `items.append(p)` and `items.extend(ps)` make of a list)."""
        if node.value is None:
            return
        if isinstance(node.value, cst.From):
            item, method = self.ev(node.value.item, frame), "extend"
        else:
            item, method = self.ev(node.value, frame), "append"
        current = frame.yielded if frame.yielded is not None else ListVal(())
        frame.yielded = self.grown(current, item, method, node, frame.name)

    def assign(
        self, target: cst.BaseExpression, value: Value, statement: cst.CSTNode, frame: Frame
    ) -> None:
        name = dotted(target)
        if isinstance(value, Terms) and not value.per_element:
            value = self.bind_terms(value, statement, frame)
        if name is not None:
            self._check_late(name, value, statement, frame)
            if isinstance(value, (PenaltyRef, Mixed)):
                if isinstance(target, cst.Name):
                    for pid in penalty_ids(value):
                        self.records[pid].bound.add((frame.code, name, statement))
                self.mark_named(value, name.split(".")[-1])
                if LOSS_NAME.search(name.split(".")[-1]):
                    self.mark_loss(value, name, statement, frame, by_name=True)
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
        if (
            name is not None
            and isinstance(statement.operator, cst.AddAssign)
            and is_param_collection(current)
            and is_param_collection(value)
        ):
            frame.env[name] = join_params([current, value], statement, name)  # params += more
            return
        if name is not None and isinstance(statement.operator, cst.AddAssign) and isinstance(current, ListVal) and isinstance(value, (ListVal, TupleVal)):
            # `params += [{"params": [value], "weight_decay": wd}]`: the list grows, as by extend()
            frame.env[name] = self.grown(current, value, "extend", statement, frame.name)
            return
        result = self.combine_add(current, value, statement, frame, in_place=True)
        if name is None:
            return
        if penalty_only(current) and not penalty_ids(value) and PENALTY_NAME.search(name.split(".")[-1]):
            result = current  # `l2_reg_loss += lam * <a term not read>`: more of the penalty, no data loss
        self._check_late(name, result, statement, frame)
        if isinstance(result, (PenaltyRef, Mixed)):
            if isinstance(statement.target, cst.Name):
                for pid in penalty_ids(result):
                    self.records[pid].bound.add((frame.code, name, statement))
            self.mark_named(result, name.split(".")[-1])
            if LOSS_NAME.search(name.split(".")[-1]) and (penalty_ids(value) or isinstance(value, Terms)):
                self.mark_loss(result, name, statement, frame, by_name=True)
            elif LOSS_NAME.search(name.split(".")[-1]):
                self.mark_loss(result, name, frame=frame, by_name=True)
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
                pid = self.record(anchor, frame)
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
        for start, penalty in ((current, value), (value, current)):
            if isinstance(start, AccumulatorStart) and isinstance(penalty, PenaltyRef):
                # `reg = reg + l2(p)` of `reg = torch.zeros(1)`, the term a helper's penalty (of
                # this file or another module): the sum starts where this code starts it
                record = self.records[penalty.pid]
                if record.accumulator is None:
                    record.accumulator = replace(start.accumulator, in_place=in_place)
                return penalty
        value = self.bind_terms(value, anchor, frame)
        pids = penalty_ids(current) | penalty_ids(value)
        if not pids:
            return UNKNOWN
        for number, penalty in ((current, value), (value, current)):
            if isinstance(number, Num) and penalty_only(penalty):
                return penalty  # `reg_loss = 0` then `reg_loss = reg_loss + l2_reg`: the penalty alone
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
            if isinstance(value, OptimizerClass):
                held = frame.env.get(name)
                if isinstance(held, OptimizerClass) and held != value:
                    value = UNKNOWN  # one class in each branch (`if ...: cls = SGD else: cls = Adam`)
            frame.env[name] = value
            if isinstance(target, cst.Attribute):
                self.store_attribute_item(target, value, frame)
        elif isinstance(target, cst.Subscript):
            self.store_item(target, value, frame)

    def store_item(self, target: cst.Subscript, value: Value, frame: Frame) -> None:
        """`cfg["weight_decay"] = 5e-4`: a config dict filled key by key."""
        owner = dotted(target.value)
        if owner is None or len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
            return
        current = frame.lookup(owner)
        if not isinstance(current, DictVal):
            return
        key = self.ev(target.slice[0].slice.value, frame)
        if not isinstance(key, Str):
            _rebind(frame, owner, current, UNKNOWN)  # a key the analysis cannot read: the dict is no longer known
            return
        _rebind(frame, owner, current, current.setting(key.value, value, target))

    def store_attribute_item(self, target: cst.Attribute, value: Value, frame: Frame) -> None:
        """`__C.OPTIM.WEIGHT_DECAY = 0.5` of `__C = edict()`: an attribute dict (and the ones it
        holds) filled key by key, py-faster-rcnn's config style."""
        path: list[str] = []
        owner: cst.BaseExpression = target
        while isinstance(owner, cst.Attribute):
            path.append(owner.attr.value)
            owner = owner.value
        if not isinstance(owner, cst.Name) or owner.value not in frame.env:
            return
        root = frame.env[owner.value]
        if not isinstance(root, DictVal):
            return
        path.reverse()
        updated = _with_item(root, path, value, target)
        if updated is not None:
            _rebind(frame, owner.value, root, updated)

    # ------------------------------------------------------------------ filters

    def _apply_filter(
        self, frame: Frame, test: cst.BaseExpression, positive: bool
    ) -> list[tuple[str, Value]]:
        """Rebind loop parameters that `test` (or its negation) filters, and loop modules a type
        test chooses; return what to restore."""
        loop_names: dict[str, Param | ParamName] = {}
        loop_modules: set[str] = set()
        for name, value in frame.env.items():
            if isinstance(value, (Param, ParamName)) and value.pset is not None:
                loop_names[name] = value
            elif positive and isinstance(value, Submodule) and value.selected is None:
                loop_modules.add(name)
        rebound = self._choose_modules(frame, test, loop_modules) if loop_modules else []
        if not loop_names:
            return rebound
        found = condition_filter(test, set(loop_names), positive)
        if found is None:
            return rebound
        psets = {
            id(v.pset)
            for v in loop_names.values()
            if mentions_any(test, names_of(loop_names, v.pset))
        }
        for name, value in loop_names.items():
            if value.pset is not None and id(value.pset) in psets and value.pset.unfiltered:
                rebound.append((name, value))
                new_set = replace(
                    value.pset, unfiltered=False, filter_text=found.text, selects=found.selects
                )
                frame.env[name] = replace(value, pset=new_set)
        return rebound

    def _choose_modules(
        self, frame: Frame, test: cst.BaseExpression, loop_modules: set[str]
    ) -> list[tuple[str, Value]]:
        """`for m in model.modules(): if isinstance(m, nn.Embedding): ...`: in the branch, `m` (one
        of `loop_modules`) is a module of the types tested (which torch.nn's tables tell have
        biases or norm gains, or not)."""
        found = module_type_test(test, loop_modules)
        if found is None:
            return []
        name, types = found
        vectors = any_vectors(
            [
                type_vectors(self.imports.qualify(kind) if isinstance(kind, (cst.Name, cst.Attribute)) else None)
                for kind in types
            ]
        )
        module = frame.env[name]
        assert isinstance(module, Submodule)
        frame.env[name] = replace(module, selected=self.module.code_for_node(test), vectors=vectors)
        return [(name, module)]

    def _zero_where_tested_nonzero(
        self, test: cst.BaseExpression, frame: Frame
    ) -> list[tuple[dict[str, Value], str, Value, Value]]:
        """In the `else` of `if params["weight_decay"] != 0:` (or `> 0`, beside `"weight_decay" in
        params` tests), that entry is 0: Lightning Bolts' YOLO builds decay groups only when the
        decay is nonzero, and hands the plain parameters over otherwise. Returns where the dict is
        held (names or an object's attributes, the name), and it before and after, to restore
        after the branch."""
        conjuncts: list[cst.BaseExpression] = []
        pending: list[cst.BaseExpression] = [test]
        while pending:
            part = pending.pop()
            if isinstance(part, cst.BooleanOperation) and isinstance(part.operator, cst.And):
                pending += [part.left, part.right]
            else:
                conjuncts.append(part)
        tested = [found for found in map(_nonzero_entry_test, conjuncts) if found is not None]
        if len(tested) != 1 or len(conjuncts) != 1 + sum(_membership_test(part) for part in conjuncts):
            return []
        owner, key = tested[0]
        found = self._holder(owner, frame)
        current = found[0].get(found[1]) if found is not None else None
        if found is None or not isinstance(current, DictVal) or current.get(key) is None:
            return []
        entries = tuple(
            (k, Num(0.0, "0", None) if k == key else value, key_node, value_node)
            for k, value, key_node, value_node in current.entries
        )
        zeroed = DictVal(current.node, entries)
        found[0][found[1]] = zeroed
        return [(found[0], found[1], current, zeroed)]

    def _holder(self, owner: cst.BaseExpression, frame: Frame) -> Optional[tuple[dict[str, Value], str]]:
        """Where the value of a name or of an object's attribute (`self.optimizer_params`) is held:
        the frame (which also holds the attributes of the object a method runs on), or the object."""
        name = dotted(owner)
        if name is not None and name in frame.env:
            return frame.env, name
        if isinstance(owner, cst.Attribute):
            base = self.ev(owner.value, frame)
            if isinstance(base, Instance):
                return self.instances[base.env], owner.attr.value
        return None

    @staticmethod
    def _restore(frame: Frame, rebound: list[tuple[str, Value]]) -> None:
        for name, value in rebound:
            current = frame.env.get(name)
            if isinstance(current, (Param, ParamName, Submodule)):
                frame.env[name] = value

    # ------------------------------------------------------------------ functions

    def inline(
        self,
        function: cst.FunctionDef,
        call: cst.Call,
        frame: Frame,
        class_name: Optional[str],
        instance: Optional[Instance] = None,
        context: Optional[ModuleContext] = None,
        bound: Optional[Partial] = None,
        enclosing: Optional[Frame] = None,
    ) -> Value:
        positional, keywords, unpacks = self.call_arguments(call, frame, bound)
        if len(self._inline_stack) >= MAX_INLINE_DEPTH or id(function) in self._inline_stack:
            return UNKNOWN
        if not self.runs_foreign_code(context):
            return UNKNOWN
        if self.runs_here(context) and self.ctx.home:
            self._inlined.add(id(function))
        name = f"{class_name}.{function.name.value}" if class_name else function.name.value
        created = len(frame.created)
        outer_call = frame.no_grad_call
        if frame.no_grad and outer_call is None and not self.foreign and self.ctx.home:
            frame.no_grad_call = call  # (what the callee computes has no gradient because of this call)
        try:
            with self.running_in(context or self.ctx, call):
                value = self.call_function(
                    function,
                    positional,
                    keywords,
                    name,
                    class_name,
                    standalone=False,
                    caller=frame,
                    instance=instance,
                    unpacks=unpacks,
                    enclosing=enclosing,
                )
        finally:
            frame.no_grad_call = outer_call
        if not self.foreign:  # (a call in the linted file)
            here = self.here(call)
            dropped = isinstance(frame.statement, cst.Expr) and frame.statement.value is call
            for pid in frame.created[created:]:  # penalties the helper built, handed to this frame
                if here not in self.records[pid].called_at:
                    self.records[pid].called_at.append(here)
                    if dropped:
                        self.records[pid].dropped_at.add(id(here))
        return self._reported_at_call(value, call, context, function)

    def _reported_at_call(
        self, value: Value, call: cst.Call, context: Optional[ModuleContext], function: cst.CSTNode
    ) -> Value:
        """What a called function or lambda computed, as the call's value. A helper that computes
        a term of its argument is reported at the call, where the parameters are chosen, not
        inside the generic helper (and a helper of another module always is: its text is not in
        this file). A term over parameters the helper takes itself (`def weight_norm(self,
        model): return torch.sqrt(sum(p.pow(2).sum() for p in model.parameters()))`) stays where
        it is written: the helper chose them, and the fix is there."""
        if isinstance(value, Terms) and (call.args or not self.runs_here(context)):
            here = self.runs_here(context)
            return Terms(
                tuple(
                    t
                    if here and self._taken_inside(t.param_set, function)
                    else replace(t, node=self.here(call), squarable=t.squarable and not self.foreign)
                    for t in value.terms
                ),
                value.per_element,
            )
        return value

    def _taken_inside(self, pset: Optional[ParamSet], function: cst.CSTNode) -> bool:
        """Were all the parameters of `pset` taken (`m.parameters()`) in `function`'s own code?"""
        if pset is None:
            return False
        inside = self._nodes_of.get(id(function))
        if inside is None:
            inside = self._nodes_of[id(function)] = {id(node) for node in subnodes(function)}
        return all(id(part.node) in inside for part in (pset.parts or (pset,)))

    @staticmethod
    def _runs_like(caller: Frame, frame: Frame) -> None:
        """Code called where gradients are off runs with them off (`with torch.no_grad():
        norm = weight_norm(model)` logs a measurement, not a penalty)."""
        frame.no_grad = caller.no_grad
        frame.no_grad_what = caller.no_grad_what
        frame.no_grad_call = caller.no_grad_call

    def call_arguments(
        self, call: cst.Call, frame: Frame, bound: Optional[Partial] = None
    ) -> tuple[list[Value], dict[str, Value], bool]:
        """A call's positional and keyword arguments, and whether it also unpacks an iterable it
        cannot see into (`f(*xs)`: the positions after it are unknown, and so is what `*args`
        holds). A list or tuple the analysis knows is unpacked in place: `l2_of(*weights)`.
        `bound`: a partial's arguments, which come first (its keywords give way to the call's).
        Rows an embedding layer looked up go only to a callee named like a penalty or a loss
        (vocabulary.hands_rows_to; a partial hands them to none)."""
        positional: list[Value] = [without_rows(value) for value in bound.positional] if bound is not None else []
        unpacks = False
        for argument in call.args:
            if argument.keyword is not None or argument.star == "**":
                continue
            value = self.ev(argument.value, frame)
            if not argument.star:
                positional.append(value)
            elif isinstance(value, (ListVal, TupleVal)) and not unpacks:
                positional.extend(value.items)
            else:
                unpacks = True  # (what follows it is taken one place to the left, as before)
        keywords = {key: without_rows(value) for key, value in bound.keywords} if bound is not None else {}
        keywords.update((a.keyword.value, self.ev(a.value, frame)) for a in call.args if a.keyword is not None)
        strip, mark = not hands_rows_to(callee_name(call)), not self.foreign

        def handed(value: Value) -> Value:
            value = without_rows(value) if strip else value
            return handed_here(value) if mark else value

        if strip or mark:
            positional = [handed(value) for value in positional]
            keywords = {key: handed(value) for key, value in keywords.items()}
        return positional, keywords, unpacks

    def call_lambda(
        self, called: LambdaFunction, call: cst.Call, frame: Frame, bound: Optional[Partial] = None
    ) -> Value:
        """Run a lambda's body with the call's arguments, in the frame and module it was made in."""
        function = called.node
        positional, keywords, unpacks = self.call_arguments(call, frame, bound)
        if len(self._inline_stack) >= MAX_INLINE_DEPTH or id(function) in self._inline_stack:
            return UNKNOWN
        if not self.runs_foreign_code(called.context):
            return UNKNOWN
        made_in = called.frame
        inner = Frame(
            "<lambda>", {}, made_in, made_in.class_name, depth=len(self._inline_stack), caller=frame, code=function
        )
        self._runs_like(frame, inner)
        params = list(function.params.posonly_params) + list(function.params.params)
        self._inline_stack.append(id(function))
        try:
            with self.running_in(called.context, call):
                self.bind_arguments(function.params, params, positional, keywords, inner, False, unpacks, made_in)
                value = self.ev(function.body, inner)
        finally:
            self._inline_stack.pop()
        return self._reported_at_call(value, call, called.context, function)

    def bind_arguments(
        self,
        parameters: cst.Parameters,
        params: list[cst.Param],
        positional: list[Value],
        keywords: dict[str, Value],
        frame: Frame,
        standalone: bool,
        unpacks: bool,
        defaults: Frame,
    ) -> None:
        """Bind a call's arguments in `frame`: `params` (the positional parameters, less a method's
        `self`), `*args` and the keyword-only ones; defaults are evaluated in `defaults`.
        `standalone`: the function runs on its own, with no call (a number-like name is then an
        unknown number)."""
        for index, param in enumerate(params):
            value: Value = UNKNOWN
            if index < len(positional):
                value = positional[index]
            elif param.name.value in keywords:
                value = keywords[param.name.value]
            elif standalone and param.default is not None:
                # With no call, a number is some number, and code the file names (`reg_fn=l1_all`,
                # a lambda) is what runs wherever the caller passes nothing else.
                # (A default of None stands for "not given": `model: Optional[nn.Module] = None`
                # is a model wherever a caller passes one, as an unknown value is.)
                default = self.ev(param.default, defaults)
                if isinstance(default, Num) and not is_none(default):
                    # (a default of 0 is "off unless the caller sets it", and the callers are not
                    # seen: a library's `l2=0.0` decays whenever its users ask; unlike a script's
                    # command-line default, it is no plain run's value)
                    declared = default.as_run or None
                    value = Num(None, param.name.value, param.default, default=declared, parameter=True)
                elif isinstance(default, (FunctionRef, LambdaFunction, OptimizerClass)):
                    value = default
            elif param.default is not None:
                value = self.ev(param.default, defaults)
            if isinstance(value, Unknown) and standalone:
                settings = self.settings_annotated(param, defaults)
                value = (
                    settings
                    if settings is not None
                    else Num(None, param.name.value, param)
                    if numeric_name(param.name.value)
                    else UNKNOWN
                )
            frame.env[param.name.value] = value
        star = parameters.star_arg
        if isinstance(star, cst.Param):
            # `*embeddings` holds the positional arguments after the named ones, as a tuple
            extra = positional[len(params):] if not standalone and not unpacks else None
            frame.env[star.name.value] = TupleVal(tuple(extra)) if extra is not None else UNKNOWN
        for param in parameters.kwonly_params:
            value = keywords.get(param.name.value, UNKNOWN)
            if param.name.value not in keywords and param.default is not None and not standalone and not unpacks:
                value = self.ev(param.default, defaults)  # (`*embeddings, require_pow=False`)
            if isinstance(value, Unknown) and numeric_name(param.name.value):
                value = Num(None, param.name.value, param)
            frame.env[param.name.value] = value
        keyword_star = parameters.star_kwarg
        if isinstance(keyword_star, cst.Param):
            named = {param.name.value for param in params} | {param.name.value for param in parameters.kwonly_params}
            given = tuple((key, value) for key, value in keywords.items() if key not in named)
            frame.env[keyword_star.name.value] = KeywordArgs(given, complete=not standalone and not unpacks)

    def settings_annotated(self, param: cst.Param, defaults: Frame) -> Optional[Instance]:
        """`cfg: OptimConfig` with no call: an object of that settings class as constructing it
        with no arguments makes one (its class body's numbers), as `cfg = OptimConfig()` is read.
        Its strings are left unknown: they name a choice (`regularizer: str = "l2"`, `optimizer:
        str = "adam"`) that a caller may make otherwise, and every branch of it is code that may
        run. Only for a settings class (is_settings_class): a class with an __init__ of its own
        makes what its caller's arguments say."""
        annotation = param.annotation.annotation if param.annotation is not None else None
        if isinstance(annotation, cst.SimpleString):
            written = annotation.evaluated_value
            annotation = cst.Name(written) if isinstance(written, str) and written.isidentifier() else None
        if not isinstance(annotation, (cst.Name, cst.Attribute)):
            return None
        if not (isinstance(annotation, cst.Name) and annotation.value in self.classes) and not self.follows_project:
            return None  # (a class of another module is looked up only where the file runs its project's code)
        info = self.find_class(annotation, defaults)
        if info is None or not self.is_settings_class(info):
            return None
        instance = self.new_instance(info)
        held = self.instances[instance.env]
        for name, value in held.items():
            if isinstance(value, Str):
                held[name] = UNKNOWN
        return instance

    def is_settings_class(self, info: ClassInfo, depth: int = 0) -> bool:
        """A class that holds settings in its body (a dataclass, a plain config class): no
        __init__ of its own or inherited, values in its body, and no base but `object` or
        another such class of the project."""
        if depth > 8 or self.find_method(info, "__init__") is not None:
            return False
        for base in info.bases:
            if isinstance(base, cst.Name) and base.value == "object":
                continue
            found = self.find_class(base, self.module_frame)
            if found is None or not self.is_settings_class(found, depth + 1):
                return False
        return bool(self.class_attributes(info))

    def call_function(
        self,
        function: cst.FunctionDef,
        positional: list[Value],
        keywords: dict[str, Value],
        name: str,
        class_name: Optional[str],
        standalone: bool,
        caller: Optional[Frame] = None,
        instance: Optional[Instance] = None,
        unpacks: bool = False,
        enclosing: Optional[Frame] = None,
    ) -> Value:
        """Run `function` with the arguments given (`unpacks`: the call also unpacks an iterable,
        whose items are not among `positional`; `enclosing`: the frame of the function it is
        defined in, whose names it reads)."""
        frame = Frame(
            name,
            {},
            enclosing if enclosing is not None else self.module_frame,
            class_name,
            depth=len(self._inline_stack),
            caller=caller,
            code=function,
            trains=function.name.value in TRAINING_STEP_FUNCTIONS,
        )
        if caller is not None:
            self._runs_like(caller, frame)
        params = list(function.params.posonly_params) + list(function.params.params)
        self_name: Optional[str] = None
        if class_name is not None and params and not is_static(function):
            self_name = params[0].name.value
            params = params[1:]  # self / cls
            if instance is None and class_name in self.classes:
                instance = self.class_instance(self.classes[class_name])
            if instance is not None:
                for holder, name in self._holders(caller, instance):
                    self._store_attributes(holder, name, instance)
                frame.env[self_name] = instance
                self._load_attributes(frame, self_name, instance)
        self.bind_arguments(function.params, params, positional, keywords, frame, standalone, unpacks, self.module_frame)
        if not standalone:
            frame.given = frozenset(param.name.value for param in (*params, *function.params.kwonly_params))
        for decorator in function.decorators:
            decorator_qualname = decorator_name(decorator, self.imports)
            if decorator_qualname is not None and decorator_qualname in NO_GRAD_CONTEXTS:
                frame.no_grad += 1
                frame.no_grad_what = (
                    "@" + decorator_qualname.replace("autograd.grad_mode.", "").replace("autograd.", "") + "()"
                )
        self._inline_stack.append(id(function))
        if self.wiring_run:
            self._ran_by_wiring.add(id(function))
        code_module = self.ctx.code_modules.get(id(function))
        outer_module = self.ctx.module
        if code_module is not None:
            self.ctx.module = code_module  # a definition read on its own: its own snippet module
        try:
            self._collect_local_functions(function, frame)
            self.exec_suite(function.body, frame)
            self.flush_late(frame)
            # (a penalty-named helper's returned terms are bound first, so that they go to the
            # caller's frame with the rest of what the helper built: RL107 at a step's call)
            frame.returns = [
                (self.claim_terms(value, statement, frame, function, class_name, standalone), statement)
                for value, statement in frame.returns
            ]
            self.link_setups(frame)
        finally:
            self._inline_stack.pop()
            self.ctx.module = outer_module
        if instance is not None and self_name is not None:
            self._store_attributes(frame, self_name, instance)
            for holder, name in self._holders(caller, instance):
                self._load_attributes(holder, name, instance)
        function_name = function.name.value
        # (an L1 criterion is unknown as a value, but a factory that returns one returns it, and
        # a choice of code is a value to call)
        returned = [
            r for r, _ in frame.returns if not isinstance(r, Unknown) or isinstance(r, (L1Criterion, OneOf))
        ]
        for value, statement in frame.returns:
            self._name_returned(value, function_name, class_name)
            if returns_a_loss(function_name, class_name):
                self.mark_loss(
                    value,
                    function_name,
                    statement if isinstance(value, Mixed) else None,
                    frame,
                    returned_by=None if standalone else function,
                )
        if frame.yielded is not None:
            return frame.yielded  # a generator: its items (`def get_1x_lr_params(self): ... yield p`)
        if len(returned) > 1:
            # `if name == "l1": return l1_all` ... `return l2_all`: each is what a call may run
            # (and where the other returns are None, it is what runs where there is one)
            chosen = one_of([r for r in returned if not is_none(r)])
            if chosen is not None:
                return chosen
        return either(returned)

    def _name_returned(self, value: Value, function_name: str, class_name: Optional[str]) -> None:
        self.mark_named(value, function_name)
        if class_name is not None and function_name in CALL_METHODS:
            self.mark_named(value, class_name)  # class L2Regularizer(nn.Module): def forward
        if self.foreign and isinstance(value, PenaltyRef) and names_a_penalty(function_name, class_name):
            # its module runs the helper on its own and reports what it returns (claim_terms)
            self.records[value.pid].returned_named = True

    def claim_terms(
        self,
        value: Value,
        statement: cst.CSTNode,
        frame: Frame,
        function: cst.FunctionDef,
        class_name: Optional[str],
        standalone: bool,
    ) -> Value:
        """Terms a helper returns are its caller's to bind (where a call chooses the parameters),
        except for a helper named like a penalty (`l2_penalty(model)`, `def l2_reg(self)`,
        `class L2Regularizer`'s forward), which is a penalty of its own: run on its own and
        inlined nowhere in this module, it is bound here, at its return; run for another
        module, it is bound in its own module's code (so the caller leaves its form to that
        module, as for a penalty the helper sums itself)."""
        if not isinstance(value, Terms) or value.per_element or not isinstance(statement, cst.Return):
            return value
        function_name = function.name.value
        if not names_a_penalty(function_name, class_name):
            return value
        if standalone:
            self._unclaimed.append((id(function), value, statement, frame, function_name, class_name))
            return value
        if self.foreign:
            return self.bind_terms(value, statement.value or statement, frame)
        return value

    def _collect_local_functions(self, function: cst.FunctionDef, frame: Frame) -> None:
        body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                frame.functions[statement.name.value] = statement
