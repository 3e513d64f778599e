"""Which project modules wire a trainer: the scripts whose code the trainer's analysis runs.

A trainer's file (it calls backward()) or a loss module is handed its model and optimizer by a
script that builds them; wiring.py runs that script's code for the trainer's analysis, and the
triage keeps such a trainer whole (triage/decision.reads_the_project). Both ask `wiring_modules`,
which reads text only (no libcst): the scripts are found by where they are, what they import and
call, and whether they set up training (project.reads_project_code).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Optional

from reglint.analysis.optimizers import constructs_from_a_name, mentions_an_optimizer
from reglint.analysis.project import (
    PENALTY_SPELLINGS,
    LoadedModule,
    Project,
    _code_names_backward,
    _code_only,
    _imported,
    adds_a_penalty_to_a_loss,
    project_for,
    reads_project_code,
)
from reglint.analysis.triage.training import trains
from reglint.analysis.vocabulary import LOSS_NAME

# A directory with more Python files than this is a library's package, not a project's scripts:
# its modules are not read to find the scripts that wire a trainer (see wiring_modules).
MAX_WIRING_DIRECTORY = 40
MAX_WIRING_MODULES = 3
_NOT_WIRING = ("test_", "conftest")


def wiring_modules(text: str, file: Path) -> tuple[list[Path], dict[str, str]]:
    """The project modules that wire a training setup around this module's code: the trainer's
    file (it calls backward()) is handed a model and an optimizer by a script that builds them
    (`engine = Engine(model, optimizer)` in train.py, `train_one_epoch(model, loader, opt)` in
    main.py), and so is a loss module that adds a penalty to its loss (`criterion =
    RegularizedLoss(model, l2=1e-4)`). Only that script's run shows which model's penalty the
    step adds, and which optimizer it steps, so the analysis of the trainer (or of the loss) runs
    the script's code too (wiring.py) and reports what its own code does there.

    A wiring module sits next to the trainer, one directory above it, or at the project's root
    (a directory that holds a library's worth of modules is not searched); it imports a name
    from this module and calls it, and it sets up training with its project's modules
    (reads_project_code). Tests are not wiring modules. Also returns the modules read to decide
    (path -> digest): those that name this module or its package. The answer holds while they are
    unchanged; a new module, or one that starts to name this module, is not noticed (the cache
    lints this file again when it, or a module it read, changes)."""
    consulted: dict[str, str] = {}
    if file.name == "__init__.py" or not _may_be_wired(text):
        return [], consulted
    project = project_for(file)
    home = file.resolve()
    wiring: list[Path] = []
    # (a module outside the package may import this one through the package's __init__.py)
    package = home.parent.name if "__init__.py" in project._listing(home.parent) else None
    home_trains: Optional[bool] = None
    for candidate in _wiring_candidates(project, home):
        loaded = project.load(candidate)
        if loaded is None or loaded.text is None:
            continue
        if home.stem not in loaded.text and (package is None or candidate.parent == home.parent or package not in loaded.text):
            continue  # it names neither this module nor, from outside, its package
        consulted[str(candidate)] = loaded.digest
        called = _calls_into(project, loaded, home, consulted)
        if called:
            follows, read = loaded.derived("reads project code", _reads_project_code_of)
            if not follows and _constructs(loaded, called):
                # (a trainer that builds its own optimizer, handed its model by a script that
                # sets up nothing else itself)
                if home_trains is None:
                    home_trains = trains(text)
                follows = home_trains
            if follows:
                consulted.update(read)
                wiring.append(candidate)
                if len(wiring) == MAX_WIRING_MODULES:
                    break
    return wiring, consulted


def _may_be_wired(text: str) -> bool:
    """A trainer's code (it names backward()), or code that adds a penalty to a loss on one
    line (`loss = loss + self.l2_coef * l2`, `return mf_loss + self.reg_weight * reg_loss`), or
    a class named like a loss in code that names a penalty (`class RegularizedLoss(nn.Module)`,
    whose forward returns a loss: vocabulary.returns_a_loss), or an optimizer factory that is
    handed its decay (`build_optimizer(cfg, model)` with `weight_decay=cfg.weight_decay`) or its
    parameters (`AdamW(params, lr=cfg.lr)`: AdamW's default decay on whatever the script hands
    it, `SGD(param_groups, ...)` with the groups' decay)."""
    if _code_names_backward(text):
        return True
    # (blanking strings and comments only removes matches: the text is asked first, the code only
    # where the text holds one, and made at most once)
    code: Optional[str] = None
    if adds_a_penalty_to_a_loss(text) or _loss_class_with_a_penalty(text):
        code = _code_only(text)
        if adds_a_penalty_to_a_loss(code) or _loss_class_with_a_penalty(code):
            return True
    if (_hands_a_decay(text) or constructs_from_a_name(text)) and mentions_an_optimizer(text):
        code = code if code is not None else _code_only(text)
        return _hands_a_decay(code) or constructs_from_a_name(code)
    return False


# An optimizer factory's decay as it is handed in (`weight_decay=cfg.weight_decay`, `"weight_decay":
# wd`): only the script that calls the factory shows its value (RL201 "if it is > 0", RL204).
# The pattern starts with its literal, so the search skips to each `weight_decay` (an
# alternation or a look-behind in front would try every position of the text).
_GIVEN_DECAY = re.compile(r"""weight_decay(["']?)\s*[=:]\s*[A-Za-z_]""")


def _hands_a_decay(text: str) -> bool:
    """`weight_decay=name` as a keyword, or `"weight_decay": name` as a dict entry."""
    for match in _GIVEN_DECAY.finditer(text):
        before = text[match.start() - 1] if match.start() else ""
        quote = match.group(1)
        separator = text[match.end(1):match.end()].strip()[0]
        if quote:
            if before and before in "\"'" and separator == ":":
                return True
        elif separator == "=" and not (before.isalnum() or before == "_"):
            return True
    return False


def _loss_class_with_a_penalty(text: str) -> bool:
    for match in _CLASS_NAME.finditer(text):
        if (match.start() == 0 or text[match.start() - 1] in " \t\n") and LOSS_NAME.search(match.group(1)):
            lowered = text.lower()
            return any(stem in lowered for stem in PENALTY_SPELLINGS)
    return False


# (led by its literal: the search skips from one `class` to the next)
_CLASS_NAME = re.compile(r"class[ \t]*(\w+)")




# Where a project keeps its entry scripts, beside its package: `tools/train.py` (mmdetection),
# `scripts/run_adam.py`.
SCRIPT_DIRECTORIES = ("tools", "scripts", "experiments", "bin")


def _wiring_candidates(project: Project, home: Path) -> Iterator[Path]:
    directories = [home.parent]
    if home.parent != project.root and home.parent.parent.is_relative_to(project.root):
        directories.append(home.parent.parent)
    if project.root not in directories:
        directories.append(project.root)
    directories += [
        base / name
        for base in dict.fromkeys((project.root, home.parent, home.parent.parent))
        if base.is_relative_to(project.root)
        for name in SCRIPT_DIRECTORIES
        if name in project._listing(base) and base / name not in directories
    ]
    for directory in directories:
        names = sorted(name for name in project._listing(directory) if name.endswith(".py"))
        if len(names) > MAX_WIRING_DIRECTORY:
            continue
        for name in names:
            candidate = directory / name
            if candidate != home and name != "__init__.py" and not name.startswith(_NOT_WIRING) and project._project_file(candidate):
                yield candidate


def _calls_into(project: Project, loaded: LoadedModule, home: Path, consulted: dict[str, str]) -> set[str]:
    """The names the module imports from `home` (or from a package whose __init__.py imports them
    from `home`: `from engine import Trainer`) that its code calls (`Engine(`, `engine.fit(`).
    The package's __init__.py read goes to `consulted`."""
    taken: set[str] = set()
    for path, names in loaded.derived("imports", _imports_of):
        if path == home:
            taken.update(names)
        elif path.name == "__init__.py" and path.parent == home.parent:
            package = project.load(path)
            if package is not None:
                consulted[str(path)] = package.digest
            if package is not None and package.text is not None and home.stem in package.text:
                exported = {name for found, names in package.derived("imports", _imports_of) if found == home for name in names}
                taken.update(exported.intersection(names))
    if not taken:
        return set()
    code = loaded.derived("code", _code_of)
    return {name for name in taken if re.search(rf"(?<![\w.]){re.escape(name)}\s*[(.]", code)}


def _constructs(loaded: LoadedModule, called: set[str]) -> bool:
    """Is the module a script (it runs code at its top level, or under `if __name__ ==
    "__main__":`) that makes an object of a class it takes from the trainer's module (`bpr =
    utils.BPRLoss(model, config)`, `Trainer(model)` under any name)? It hands that object its model
    and settings, whatever else it does (LightGCN's main.py builds the model from a registry and
    loops over epochs in another module). A library module that makes one inside its own
    functions is not a setup."""
    code = loaded.derived("code", _code_of)
    script = "__main__" in (loaded.text or "")
    for name in called:
        made = re.escape(name) if name[:1].isupper() else re.escape(name) + r"\s*\.\s*[A-Z]\w*"
        at_top = r"^(?:[\w.]+\s*(?:,\s*[\w.]+\s*)*=\s*)?"  # (a statement of the module's own code)
        if re.search(rf"(?<![\w.]){made}\s*\(", code) and (script or re.search(rf"{at_top}{made}\s*\(", code, re.M)):
            return True
    return False


def _imports_of(loaded: LoadedModule) -> list[tuple[Path, list[str]]]:
    assert loaded.text is not None
    return [(path.resolve(), names) for path, names in _imported(loaded.text, loaded.path)]


def _code_of(loaded: LoadedModule) -> str:
    assert loaded.text is not None
    return _code_only(loaded.text)


def _reads_project_code_of(loaded: LoadedModule) -> tuple[bool, dict[str, str]]:
    assert loaded.text is not None
    return reads_project_code(loaded.text, loaded.path, loss_helpers=False)
