"""Names that come from other project modules, and running their code for the linted file.

`from losses import l2_reg`, `import config`, `from .model import Net`, `from config import
TrainConfig as C`: the name is looked up in the project module it names (project.py finds the
file), which is read once and whose module-level code is run once (constants, config dicts and
classes, argparse defaults). Its functions and classes are then called as the linted file's own
helpers are: inlined with the caller's arguments, running in their own module (their own imports
and globals). Facts built while such code runs are placed at the linted file's call that led
there (`here`); facts built while a module's own top-level code runs are not the linted file's
and are not kept.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional

import libcst as cst

from reglint.analysis.classes import ClassInfo, is_literal
from reglint.analysis.modules import ModuleContext, indexed_context
from reglint.analysis.names import ImportTarget
from reglint.analysis.state import AnalyzerMixin, Frame
from reglint.analysis.valueops import one_of
from reglint.analysis.values import (
    UNKNOWN,
    ClassRef,
    DictVal,
    FunctionRef,
    ListVal,
    ModuleRef,
    Num,
    OneOf,
    Str,
    TupleVal,
    Value,
)

MAX_REEXPORT_DEPTH = 6
# Project modules read for one file. A training script reads a handful (model, losses, config,
# utils); a file deep in a library can reach hundreds through its imports, and what decides its
# findings sits in the first few it uses.
MAX_PROJECT_MODULES = 12


class ProjectEvaluator(AnalyzerMixin):
    ctx: ModuleContext
    home: ModuleContext
    anchor: Optional[cst.CSTNode]
    loading: int
    follows_project: bool
    callers: list[Optional[str]]  # the modules (their paths) whose code is running, outermost first

    # ------------------------------------------------------------------ contexts

    @contextlib.contextmanager
    def running_in(self, context: ModuleContext, anchor: Optional[cst.CSTNode]) -> Iterator[None]:
        """Run code of `context`; when that leaves the linted module, facts go to `anchor`."""
        outer_context, outer_anchor = self.ctx, self.anchor
        if self.ctx.home and not context.home:
            self.anchor = anchor
        self.ctx = context
        self.callers.append(context.path)
        try:
            yield
        finally:
            self.ctx, self.anchor = outer_context, outer_anchor
            self.callers.pop()

    def here(self, node: cst.CSTNode) -> cst.CSTNode:
        """Where a fact built at `node` is placed: `node` itself in the linted module, else the
        linted module's call that led into the other module's code."""
        if self.ctx.home or self.anchor is None:
            return node
        return self.anchor

    @property
    def foreign(self) -> bool:
        """Running code that is not the linted module's own."""
        return not self.ctx.home

    def runs_foreign_code(self, context: Optional[ModuleContext]) -> bool:
        """May code of `context` run for the linted module? Its own always; another module's only
        when the linted module trains (vocabulary.trains): see the module docstring."""
        return context is None or context is self.ctx or context.home or self.follows_project

    @property
    def names_optimizer_classes(self) -> bool:
        """May the code running now hold an optimizer class as a value (`opt_cls = torch.optim.SGD`,
        `getattr(torch.optim, cfg["type"])`)? The linted file's own code; and a project module's
        code that it runs, since a file that runs its project's code is analyzed whole (the
        triage cuts none of it: triage/decision.reads_the_project), and what that code constructs
        joins the file's training setup (`optimizer = build_optimizer(model, cfg.optimizer)`)."""
        return self.ctx.home or self.follows_project

    def runs_here(self, context: Optional[ModuleContext]) -> bool:
        """Is code of `context` the current module's own?"""
        return context is None or context is self.ctx

    @property
    def recording(self) -> bool:
        """Facts are kept: not while a project module's top-level code runs on import."""
        return self.loading == 0

    # ------------------------------------------------------------------ imports

    def imported(self, name: str) -> Optional[Value]:
        """The value an import binds `name` to in the current module, where it comes from a
        project module (None otherwise: third-party, standard library, not imported)."""
        if self.project is None or self.ctx.file is None:
            return None
        cache = self.ctx.resolved
        if name in cache:
            return cache[name]  # type: ignore[return-value]
        cache[name] = None  # a cycle of re-exports ends here
        found = self._resolve(name)
        cache[name] = found
        return found

    def _resolve(self, name: str) -> Optional[Value]:
        target = self.imports.targets.get(name)
        if target is None:
            for star in self.imports.star_targets:
                context = self.module_context(star.module, star.level)
                if context is not None:
                    found = self.export(context, name)
                    if found is not None:
                        return found
            return None
        return self._target_value(target)

    def _target_value(self, target: ImportTarget) -> Optional[Value]:
        if target.name is None:
            context = self.module_context(target.module, target.level)
            return ModuleRef(context) if context is not None else None
        submodule = ".".join(part for part in (target.module, target.name) if part)
        context = self.module_context(submodule, target.level)
        if context is not None:
            return ModuleRef(context)  # `from . import losses`, `from pkg import utils`
        context = self.module_context(target.module, target.level)
        if context is None:
            return None
        return self.export(context, target.name)

    def module_context(self, module: str, level: int) -> Optional[ModuleContext]:
        """The project module `module` as imported from the current module, read and loaded."""
        assert self.project is not None and self.ctx.file is not None
        path = self.project.module_file(self.ctx.file, module, level)
        if path is None:
            return None
        return self.context_of(path, module)

    def context_of(self, path: Path, name: str) -> Optional[ModuleContext]:
        if self.home.file is not None and path == self.home.file:
            return self.home
        if path in self.contexts:
            return self.contexts[path]
        assert self.project is not None
        if len(self.contexts) >= MAX_PROJECT_MODULES:
            return None  # a library-sized web of imports: what lies beyond stays unknown
        loaded = self.project.load(path)
        if loaded is None:
            return None
        self.dependencies[str(path)] = loaded.digest
        if loaded.tree is None:
            self.contexts[path] = None  # type: ignore[assignment]
            return None
        display = self.project.display(path, self.home.file) if self.home.file is not None else str(path)
        context = indexed_context(loaded, name, display)
        self.contexts[path] = context
        self.loading += 1
        try:
            self.load(context)
        finally:
            self.loading -= 1
        return context

    def export(self, context: ModuleContext, name: str, depth: int = 0) -> Optional[Value]:
        """What `from <context> import name` gives: a function, a class, a module-level value,
        or what the module itself imported under that name (a package's re-export)."""
        function = context.frame.functions.get(name)
        if function is not None:
            return FunctionRef(context, function)
        info = context.classes.get(name)
        if info is not None:
            return ClassRef(info)
        value = context.frame.env.get(name)
        if value is not None:
            return plain_value(value)
        if depth >= MAX_REEXPORT_DEPTH or name not in context.imports.targets and not context.imports.star_targets:
            return None
        with self.running_in(context, None):
            return self.imported(name)

    # ------------------------------------------------------------------ values crossing modules

    def attribute_of(self, base: Value, attribute: str, node: cst.CSTNode) -> Optional[Value]:
        """`utils.reg`, `C.weight_decay`: an attribute of a module or a class the analysis reads.
        A number read this way is placed where it is read."""
        found: Optional[Value] = None
        if isinstance(base, ModuleRef):
            found = self.export(base.context, attribute)
            if found is None and base.context.name is not None and base.context.file is not None:
                submodule = self.module_context(f"{base.context.name}.{attribute}", 0)
                found = ModuleRef(submodule) if submodule is not None else None  # `import a` then a.b.f()
        elif isinstance(base, ClassRef):
            found = self.class_attributes(base.info).get(attribute)  # methods: see ev_method_call
            found = plain_value(found) if found is not None and not base.info.context.home else found
        if isinstance(found, Num):
            return Num(found.value, found.text, self.here(node))
        return found

    def class_attributes(self, info: ClassInfo) -> dict[str, Value]:
        """What a class body assigns (`weight_decay = 0.05`, `lr: float = 1e-3`): config classes
        and dataclass defaults. Evaluated once, in the class's module."""
        if info.attributes is not None:
            return info.attributes
        info.attributes = {}
        frame = Frame(info.name, {}, info.context.frame)
        with self.running_in(info.context, None):
            self.loading += 1
            try:
                for small in info.body_assignments():
                    target: Optional[cst.BaseExpression] = None
                    value: Optional[cst.BaseExpression] = None
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target, value = small.targets[0].target, small.value
                    elif isinstance(small, cst.AnnAssign) and small.value is not None:
                        target, value = small.target, small.value
                    if isinstance(target, cst.Name) and value is not None:
                        nested = self._nested_config(value, info)
                        if nested is not None:
                            # `optim: OptimConfig = field(default_factory=OptimConfig)`: an object of
                            # that config class, its own defaults in it.
                            frame.env[target.value] = info.attributes[target.value] = self.new_instance(nested)
                            continue
                        value = self._field_default(value)
                        if not info.context.home and not is_literal(value):
                            continue  # another module's class body: its declarations only
                        evaluated = self.ev(value, frame)
                        frame.env[target.value] = evaluated
                        info.attributes[target.value] = evaluated
            finally:
                self.loading -= 1
        return info.attributes

    @staticmethod
    def _nested_config(value: cst.BaseExpression, info: ClassInfo) -> Optional[ClassInfo]:
        """The class of `field(default_factory=SomeConfig)` where SomeConfig is another class of
        the same module (a nested config of a dataclass), else None."""
        if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Name) or value.func.value != "field":
            return None
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == "default_factory" and isinstance(arg.value, cst.Name):
                nested = info.context.classes.get(arg.value.value)
                return nested if nested is not None and nested is not info else None
        return None

    @staticmethod
    def _field_default(value: cst.BaseExpression) -> cst.BaseExpression:
        """`field(default=0.05)` of a dataclass is its default."""
        if isinstance(value, cst.Call):
            for arg in value.args:
                if arg.keyword is not None and arg.keyword.value == "default":
                    return arg.value
        return value


def plain_value(value: Value) -> Value:
    """What a module's top-level value is worth to another module: numbers, strings, config
    dicts and lists of them, and references to code; a parameter set or a penalty its own
    top-level code built belongs to that module's run, not to the importer's."""
    if isinstance(value, (Num, Str, ClassRef, FunctionRef, ModuleRef)):
        return value
    if isinstance(value, OneOf):
        return one_of([option for option in value.options if isinstance(option, FunctionRef)]) or UNKNOWN
    if isinstance(value, (ListVal, TupleVal)):
        items = tuple(_placeless(plain_value(item)) for item in value.items)
        return type(value)(items)
    if isinstance(value, DictVal):
        return DictVal(value.node, tuple((k, _placeless(plain_value(v)), kn, vn) for k, v, kn, vn in value.entries))
    return UNKNOWN


def _placeless(value: Value) -> Value:
    """A number inside another module's container: where it is read (`cfg["l2"]`) will say
    where it is (see ExpressionEvaluator.ev_subscript)."""
    return Num(value.value, value.text, None) if isinstance(value, Num) else value
