"""The scripts that wire the linted trainer: their code runs, and the trainer's code reports.

A trainer's file (`engine.py`: a class or a loop that calls backward() and steps an optimizer) is
handed its model and its optimizer by a script (`train.py`: `engine = Engine(model, optimizer)`;
`main.py`: `train_one_epoch(model, loader, opt)`). Alone, the trainer sees neither: the penalty
its step adds (`self.model.l2_penalty()`) and the optimizer it steps are unknown. The script's
run sees both, but the mistake is written in the trainer's step (a penalty added after
backward(), an L2 term next to a decaying Adam), where a reader looks for it.

So the analysis of a trainer's file (or of a loss module that adds a penalty to its loss) also
runs the code of the project modules that wire it (wirers.wiring_modules): their top-level code
and each of their functions, as the linted file's own are run. Their calls into the linted module
run its code with the model and the optimizer they build; facts built while the linted module's
code runs (and the code it calls) are its findings. What the script's own code builds or joins to
a loss is not recorded (the script reports it), except the optimizers: they are the trainer's
setup, named in its messages at their own file and line.

Each penalty is reported by one module: the one whose code joined it to the loss, where that
module is wired by the code that started the run (`reported_by_another_module`): the script
leaves to the trainer what the trainer's step joins, and the trainer leaves to the loss module
what its forward joins. (The cache lints the trainer again when a wiring module changes; a new
script next to it, or one that starts to import it, is not noticed until the trainer or a module
it read changes.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import libcst as cst

from reglint.analysis.modules import ModuleContext
from reglint.analysis.state import AnalyzerMixin, PenaltyRecord, Site
from reglint.analysis.syntax import argparse_defaults
from reglint.analysis.wirers import wiring_modules


class WiringEvaluator(AnalyzerMixin):
    wiring: list[Path]
    wiring_run: bool

    def run_wiring_modules(self) -> None:
        for path in self.wiring:
            self._run_wiring_module(path)

    def _run_wiring_module(self, path: Path) -> None:
        assert self.project is not None and self.home.file is not None
        loaded = self.project.load(path)
        known = self.contexts.get(path)
        if loaded is None or loaded.text is None or known is not None and known.loaded_module is None:
            return  # (a module this one imports is read lazily for its definitions: it still runs whole)
        try:
            module = cst.parse_module(loaded.text)
        except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
            return
        self.dependencies[str(path)] = loaded.digest
        context = ModuleContext.of(
            module,
            home=False,
            path=self.project.display(path, self.home.file),
            source=loaded.text,
            name=path.stem,
            file=path,
        )
        if "add_argument" in loaded.text:
            context.argparse_defaults = argparse_defaults(module, loaded.text)
        context.loaded = True
        self.contexts[path] = context
        self.wiring_run = True
        try:
            # (what the wiring module's own code builds is placed in its own tree: nowhere in the
            # linted module, whose findings are never placed there)
            with self.running_in(context, module):
                self._collect_definitions(module.body, context.frame)
                self.exec_block(module.body, context.frame)
                self.flush_late(context.frame)
                self.link_setups(context.frame)  # (a script's top-level loop steps the optimizer it built)
                for function, frame_name, class_name in list(self._all_functions()):
                    self.call_function(function, [], {}, frame_name, class_name, standalone=True)
        finally:
            self.wiring_run = False

    @property
    def places_facts(self) -> bool:
        """Can a fact be placed where the code running now is? Not in a wiring module's own code
        (nor in code it calls without going through the linted module's): it has no place in the
        linted module."""
        return not self.wiring_run or self.ctx.home or None in self.callers

    @property
    def records_facts(self) -> bool:
        """Are penalties and backward() calls built now the linted module's? Not while a project
        module's top-level code runs on import; and while a wiring module's code runs, only
        those that the linted module's code builds, itself or through the code it calls."""
        return not self.loading and self.places_facts

    def site(self) -> Site:
        """Whose code runs now, for `Site`."""
        return Site(self.callers[0] if self.callers else None, None if self.ctx.home else self.ctx.path)

    def reported_by_another_module(self, record: PenaltyRecord) -> bool:
        """Does another module's run report `record`, at its own code? The module whose code
        first joined it to a loss (or returned it as one) reports it, where that module is wired
        by the code that started the run (wirers.wiring_modules), as it runs that code too: the
        trainer that adds a model's penalty to its loss reports it, not the script that makes the
        trainer; the loss module whose forward adds it, not the trainer that calls the loss."""
        site = record.joined_by
        if site is None or site.module is None:
            return False  # joined by the linted module's own code, or by none
        if site.outermost is not None and site.outermost in self._wiring_displays():
            return self._wired_by(site.module, site.outermost)
        return self._wired_by(site.module, None)

    def _wiring_displays(self) -> set[Optional[str]]:
        """How the wiring modules are shown (ModuleContext.path), as `Site.outermost` names them."""
        return {context.path for path, context in self.contexts.items() if path in self.wiring and context is not None}

    def _wired_by(self, module: Optional[str], wiring: Optional[str]) -> bool:
        """Is the project module shown as `module` wired by the module shown as `wiring` (None:
        the linted module)?"""
        key = (module, wiring)
        found = self._wired.get(key)
        if found is None:
            found = self._wired[key] = self._find_wired_by(module, wiring)
        return found

    def _find_wired_by(self, module: Optional[str], wiring: Optional[str]) -> bool:
        assert self.project is not None
        paths = {context.path: path for path, context in self.contexts.items() if context is not None}
        path = paths.get(module)
        wiring_path = self.home.file if wiring is None else paths.get(wiring)
        if module is None or path is None or wiring_path is None or path == wiring_path:
            return False
        loaded = self.project.load(path)
        if loaded is None or loaded.text is None:
            return False
        wirers, _ = loaded.derived("wiring modules", _wiring_modules_of)
        return wiring_path in wirers


def _wiring_modules_of(loaded: object) -> tuple[list[Path], dict[str, str]]:
    from reglint.analysis.project import LoadedModule

    assert isinstance(loaded, LoadedModule) and loaded.text is not None
    return wiring_modules(loaded.text, loaded.path)
