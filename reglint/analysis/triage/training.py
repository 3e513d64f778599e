"""Does a module set up training? The question the analysis asks before it runs code of the
project's other modules for a linted module (analysis/project.py), and the triage asks of the
same text (vocabulary.py, "projects"): a module whose own code can construct an optimizer
(`trains`); of the project modules it imports, one that calls an optimizer class
(`calls_an_optimizer`: code of another module holds no class as a value, values.OptimizerClass)."""

from __future__ import annotations

import ast
import warnings
from typing import Callable

from reglint.analysis.optimizers import ALL_NAMES, mentions_an_optimizer
from reglint.analysis.triage import textcut
from reglint.analysis.triage.textcut import _Unsure, blank


def trains(text: str) -> bool:
    """An optimizer class named in the module's code (comments, strings and import statements
    aside), called or held as a value (textcut._may_construct_an_optimizer)."""
    return _asked(text, textcut._may_construct_an_optimizer, called_only=False)


def calls_an_optimizer(text: str) -> bool:
    """An optimizer class called in the module's code, by its name or an import's alias."""
    return _asked(text, textcut.calls_an_optimizer, called_only=True)


def _asked(text: str, question: Callable[[str], bool], called_only: bool) -> bool:
    if not mentions_an_optimizer(text):
        return False  # a substring test first: most files of a library name no optimizer
    try:
        code = blank(text)  # docstring examples (`opt = AdamW(...)`) are not the module's code
    except _Unsure:
        return _by_syntax(text, called_only)
    return question(code)


def _by_syntax(text: str, called_only: bool) -> bool:
    """The same question asked of CPython's tree, for a text the blanking does not read: an
    optimizer class named in code (an attribute or a name, not an import's), by its name or an
    alias; with `called_only`, called. True when the text does not parse (nothing is ruled out on
    a guess)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    aliases = {alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names if alias.asname and alias.name in ALL_NAMES}
    for node in ast.walk(tree):
        if called_only:
            if not isinstance(node, ast.Call):
                continue
            node = node.func
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if name in ALL_NAMES or name in aliases:
            return True
    return False
