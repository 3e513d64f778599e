"""Classes of the linted file derived from project classes of other modules: the base's code runs
on an object of the derived class.

A derived class without an `__init__` of its own has its methods run on an object the base's
`__init__` built (its model and optimizers); a derived class that overrides a hook of a base whose
methods train (`class Train(BaseTrain)` overriding `get_loss`) has the base's training methods run
on an object of its own, so the hooks they call are its own. What that code builds is placed at
the class.
"""

from __future__ import annotations

import libcst as cst

from reglint.analysis.classes import ClassInfo
from reglint.analysis.modules import LazyDefinitions, ModuleContext
from reglint.analysis.optimizers import names_an_optimizer_class
from reglint.analysis.project import names_backward
from reglint.analysis.state import AnalyzerMixin


class InheritanceRunner(AnalyzerMixin):
    ctx: ModuleContext

    def run_inherited_init(self, info: ClassInfo) -> None:
        """A class of this file without an __init__ of its own, derived from a project class of
        another module (`class WGANTrainer(GradientPenaltyMixin, BaseGANTrainer)`): its methods
        run on an object that the base's __init__ built (the model, the optimizers it reads),
        where the file runs its project's code. What that code builds is placed at the class."""
        found = self.find_inherited(info, "__init__")
        if found is None or info.node is None:
            return
        owner, init = found
        if owner.context.home or not self.runs_foreign_code(owner.context):
            return
        with self.running_in(owner.context, info.node):
            self.call_function(
                init, [], {}, f"{info.name}.__init__", owner.name, standalone=True, instance=self.class_instance(info)
            )

    def run_inherited_training(self, info: ClassInfo) -> None:
        """A class of this file that overrides a hook of a project class of another module whose
        own methods train (`class Train(BaseTrain)` overriding `get_loss` to add a penalty, where
        `BaseTrain.run` builds Adam and its `train_epoch` steps it after `self.get_loss(...)`): the
        base's training methods that this class does not override run on an object of this class,
        so the hooks they call are this class's. Those that train are the methods whose code calls
        backward() or names an optimizer class, and those that call one of them on `self`; each
        runs from the outermost (`run`, not the `train_epoch` it calls). What they build is placed
        at the class."""
        if info.node is None or not self.follows_project or not any(name != "__init__" for name in info.methods):
            return
        texts: dict[str, tuple[ClassInfo, cst.FunctionDef, str]] = {}
        for name in self._inherited_names(info):
            found = self.find_method(info, name)
            if found is not None and not found[0].context.home and self.runs_foreign_code(found[0].context):
                texts[name] = (*found, self._method_text(found[0], name, found[1]))
        training = {name for name, (_, _, text) in texts.items() if names_backward(text) or names_an_optimizer_class(text)}
        grown = bool(training)
        while grown:
            callers = {
                name for name, (_, _, text) in texts.items()
                if name not in training and any(f"self.{called}(" in text for called in training)
            }
            training |= callers
            grown = bool(callers)
        outermost = [
            name for name in texts
            if name in training and not any(f"self.{name}(" in texts[other][2] for other in training if other != name)
        ]
        instance = self.class_instance(info) if outermost else None
        for name in outermost:
            owner, method, _ = texts[name]
            with self.running_in(owner.context, info.node):
                self.call_function(method, [], {}, f"{info.name}.{name}", owner.name, standalone=True, instance=instance)

    def _inherited_names(self, info: ClassInfo) -> list[str]:
        """The names of the methods `info`'s project bases define, nearest first."""
        names: list[str] = []
        seen = {id(info)}
        pending = [info]
        while pending:
            current = pending.pop(0)
            outer, self.ctx = self.ctx, current.context
            try:
                parents = [self.find_class(base, self.module_frame) for base in current.bases]
            finally:
                self.ctx = outer
            for parent in parents:
                if parent is None or id(parent) in seen:
                    continue
                seen.add(id(parent))
                pending.append(parent)
                methods = parent.methods
                for name in methods.names() if isinstance(methods, LazyDefinitions) else list(methods):
                    if name not in names:
                        names.append(name)
        return names

    def _method_text(self, owner: ClassInfo, name: str, method: cst.FunctionDef) -> str:
        methods = owner.methods
        text = methods.source(name) if isinstance(methods, LazyDefinitions) else None
        if text is None:
            module = owner.context.code_modules.get(id(method)) or owner.context.module
            text = self._rendered(module, method)
        return text
