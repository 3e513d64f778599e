"""Does a module set up training? The question the analysis asks before it runs code of the
project's other modules for a linted module (analysis/project.py), and the triage asks of the
same text (vocabulary.py, "projects"): a module whose own code can construct an optimizer
(`trains`), and of the project modules it imports, one that can (an optimizer factory: the
analysis of a module that follows its project runs the factory's code, which may hold a class as
a value, expressions.optimizer_class)."""

from __future__ import annotations

import ast
from typing import Callable

from reglint.analysis.optimizers import ALL_NAMES, SUBCLASSED_FACTORY_NAMES, mentions_an_optimizer
from reglint.analysis.triage import textcut
from reglint.analysis.triage.flowcut import may_call_an_optimizer_class, parse_ok
from reglint.analysis.triage.textcut import _Unsure, blank
from reglint.analysis.vocabulary import ATTRIBUTE_BY_NAME


def trains(text: str) -> bool:
    """An optimizer class called in the module's code (comments and strings aside), or held as a
    value that a call may call (textcut.may_construct_an_optimizer)."""
    return _asked(text, lambda code: textcut.may_construct_an_optimizer(code, text))


def _asked(text: str, question: Callable[[str], bool]) -> bool:
    if not mentions_an_optimizer(text):
        return False  # a substring test first: most files of a library name no optimizer
    try:
        code = blank(text)  # docstring examples (`opt = AdamW(...)`) are not the module's code
    except _Unsure:
        return _by_syntax(text)
    return question(code)


def _by_syntax(text: str) -> bool:
    """The same question asked of CPython's tree, for a text the blanking does not read: an
    optimizer class called by its name or an alias, or named (or getattr called) and followed to
    a call as a value (flowcut.may_call_an_optimizer_class). True when the text does not parse
    (nothing is ruled out on a guess)."""
    tree = parse_ok(text)
    if tree is None:
        return True
    aliases = {alias.asname: alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names if alias.asname and alias.name in ALL_NAMES}
    named = False
    for node in ast.walk(tree):
        called = isinstance(node, ast.Call)
        target = node.func if called else node  # type: ignore[attr-defined]
        name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else None
        if name in ALL_NAMES or name in aliases:
            if called or aliases.get(name, name) in SUBCLASSED_FACTORY_NAMES:
                return True  # (a trainer class builds its optimizer when subclassed too)
            named = True
        elif called and name == ATTRIBUTE_BY_NAME and isinstance(target, ast.Name):
            named = True  # `getattr(torch.optim, cfg.optimizer)` (optimizers.names_a_class_at_run_time)
    return named and may_call_an_optimizer_class(tree, text)
