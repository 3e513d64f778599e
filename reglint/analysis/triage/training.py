"""Does a module set up training? The question the analysis asks before it runs code of the
project's other modules for a linted module (analysis/project.py), and the triage asks of the
same text (vocabulary.py, "projects"): a module that constructs an optimizer."""

from __future__ import annotations

import ast
import warnings

from reglint.analysis.optimizers import ALL_NAMES, mentions_an_optimizer
from reglint.analysis.triage.textcut import _may_construct_an_optimizer, _Unsure, blank


def trains(text: str) -> bool:
    """An optimizer class named in the module's code (comments and strings aside), called or held
    as a value (textcut._may_construct_an_optimizer)."""
    if not mentions_an_optimizer(text):
        return False  # a substring test first: most files of a library name no optimizer
    try:
        code = blank(text)  # docstring examples (`opt = AdamW(...)`) are not the module's code
    except _Unsure:
        return _trains_by_syntax(text)
    return _may_construct_an_optimizer(code)


def _trains_by_syntax(text: str) -> bool:
    """The same question asked of CPython's tree, for a text the blanking does not read: an
    optimizer class named in code, by its name or an alias. True when the text does not parse
    (nothing is ruled out on a guess)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    aliases = {alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names if alias.asname and alias.name in ALL_NAMES}
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if name in ALL_NAMES or name in aliases:
            return True  # called, or held as a value that a call may call
    return False
