"""Inert functions: the units values reach but never leave (components.py's sinks).

The cuts join units along every channel between them, and a join is symmetric. So a method that
only reads what `__init__` stored (`nn.init.zeros_(self.proj.bias)` in `reset_parameters`) was
joined with `__init__`, and through it with every other method of the class: the parameter it
names met the reductions of `forward` and the loss names of another method, and a model file
with no penalty reached the flow cut. But values leave a function, for the analysis, only:
- by what it stores: an assignment, an augmented assignment or a `:=` whose target is not a plain
  local name, a loop or `with` target that is an attribute or a subscript, a call of a method
  that stores under its receiver's name (vocabulary.STORING_METHODS), `global` or `nonlocal`;
- by what it returns or yields;
- by the arguments of the calls it makes that run the file's code: a function or method of the
  file (its name), or an object's `forward`/`__call__` (a call of an attribute or a name that may
  hold one).
A function with none of these is inert: values reach it (from the units that call it, from the
methods of its class that store on `self`, from the code that names its class, from the module)
and leave it for nowhere. components.py joins it with nothing and keeps it where what reaches it
and what it holds make a penalty possible there, except where a penalty can reach it: the
analysis holds a penalty as a record that any function it reaches may change in place (`total +=
term`), so there an inert function is joined like any other (components.component_roots).

What this module takes for inert, from the text or the syntax tree (both ask the same), is a
function (not a dunder, `forward` or `__call__`: the analysis calls those implicitly) with no
decorator, no call in its header (defaults run in the module), and a body with
- no assignment to anything but plain names, no `:=`, no loop or `with` target holding a `.` or a
  `[`;
- no `return` with a value, `yield`, `await`, `lambda`, `global`, `nonlocal`, `import`, nested
  `def` or `class`;
- only calls `x.m(...)` of a method name m that the file writes nowhere else than as such a call
  (so the file defines no m and stores nothing under m: the analysis finds no code to run) and
  that does not store, and calls of INERT_BUILTINS that the file writes nowhere else than as a
  call; no call of a call's or a subscript's result;
in a file that spells none of HIDDEN_STORES (`setattr(self, name, block)` stores an attribute
that no text shows). Whether a function is inert is asked only of units holding a parameter
source: a unit's inertness matters only for what it sends away, and an inert unit without one
sends away nothing a penalty needs that joining it would not also bring.
"""

from __future__ import annotations

import ast
import keyword
import re
from typing import Callable, Iterable, Optional, Protocol, Sequence, TypeVar

from reglint.analysis.triage.words import whole_words
from reglint.analysis.vocabulary import CALL_METHODS, HIDDEN_STORES, INERT_BUILTINS, STORING_METHODS

_KEYWORDS = frozenset(keyword.kwlist)
_HIDDEN_STORE_TEXT = re.compile(r"\b(?:" + "|".join(sorted(HIDDEN_STORES)) + r")\b", re.A)
_SENDING_WORDS = re.compile(r"\b(?:global|nonlocal|yield|await|lambda|import|def|class|async)\b", re.A)
_RETURNED_VALUE = re.compile(r"\breturn\b[ ]*[^ \n;]", re.A)
_ASYNC = re.compile(r"\basync\b", re.A)
_CALL_OF_RESULT = re.compile(r"[)\]]\s*\(")
_CALLEE = re.compile(r"(\.\s*)?\b(\w+)\s*\(", re.A)
# A loop target runs from `for` to the next `in`; an `as` target to its line's end or `:`.
_FOR_OR_AS = re.compile(r"\b(?:for|as)\b", re.A)
_IN = re.compile(r"\bin\b", re.A)
_DOT_BEFORE = re.compile(r"\.\s*\Z")
_DEFINED_BEFORE = re.compile(r"\b(?:def|class)\s+\Z", re.A)
_CALLED_AFTER = re.compile(r"\s*\(")
_LONGEST_BODY = 20_000  # characters: past it, a body is not worth the scan (and is not inert)


class _Marked(Protocol):
    inert: bool


_Unit = TypeVar("_Unit", bound=_Marked)
# A unit that may be inert, with the method names and the builtins it calls.
Candidate = tuple[_Unit, set[str], set[str]]


def mark(candidates: Sequence[Candidate[_Unit]], call_only: Callable[[set[str], set[str]], set[str]]) -> None:
    """Mark inert the candidates whose calls the file writes nowhere else than as calls
    (`call_only(methods, builtins)`: those of them it writes so, asked once for all)."""
    if not candidates:
        return
    called = call_only(
        set().union(*(methods for _, methods, _ in candidates)), set().union(*(names for _, _, names in candidates))
    )
    for unit, methods, names in candidates:
        unit.inert = methods <= called and names <= called


def may_be_inert_name(name: Optional[str]) -> bool:
    return name is not None and name not in CALL_METHODS and not (name.startswith("__") and name.endswith("__"))


def _local_stores_only(body: str, brackets: str) -> bool:
    """Every assignment in `body` (blanked, and `brackets`: its round_brackets()) stores to plain
    names only: from its statement's start to its `=`, no `.` and no `[`; no `:=`."""
    position = body.find("=")
    # The bracket depth at `counted`, and the start of the last line that begins outside
    # brackets (where the statement holding `counted` starts), both moved forward only.
    depth, counted, statement_start = 0, 0, 0
    while position != -1:
        following = body[position + 1 : position + 2]
        before = body[position - 1] if position else ""
        if following == "=":
            position = body.find("=", position + 2)  # `==`
            continue
        if before == ":":
            return False  # `:=`
        if before in ("!", "<", ">") and not (before in "<>" and position >= 2 and body[position - 2] == before):
            position = body.find("=", position + 1)  # `!=`, `<=`, `>=` (not `<<=`, `>>=`)
            continue
        line_end = body.find("\n", counted, position)
        while line_end != -1:
            depth += brackets.count("(", counted, line_end) - brackets.count(")", counted, line_end)
            counted = line_end + 1
            if depth == 0:
                statement_start = counted
            line_end = body.find("\n", counted, position)
        depth += brackets.count("(", counted, position) - brackets.count(")", counted, position)
        counted = position
        if depth == 0:
            target = body[statement_start:position]
            if "." in target or "[" in target:
                return False
        position = body.find("=", position + 1)
    return True


def _plain_targets(body: str) -> bool:
    """Every loop and `with`/`except` target in `body` is plain names (no `.`, no `[`): from
    `for` to the next `in`, from `as` to its line's end or first `:`, whatever the spacing."""
    for word in _FOR_OR_AS.finditer(body):
        if word.group() == "for":
            end = _IN.search(body, word.end())
            if end is None:
                return False
            target = body[word.end() : end.start()]
        else:
            line_end = body.find("\n", word.end())
            target = body[word.end() : len(body) if line_end == -1 else line_end].split(":", 1)[0]
        if "." in target or "[" in target:
            return False
    return True


def text_candidate(blanked: str, brackets: str, start: int, colon: int, end: int) -> Optional[tuple[set[str], set[str]]]:
    """For a function whose header runs from `start` to its `colon` and whose block ends at
    `end` (in the blanked text and its round_brackets()): None if it surely sends values away,
    else the method names and the builtin names it calls, which the file must write nowhere
    else than as calls (`call_only`) for it to be inert."""
    header = blanked[start:colon]
    if header.count("(") != 1 or "lambda" in header or _ASYNC.search(header) or end - colon > _LONGEST_BODY:
        return None
    body = blanked[colon + 1 : end]
    if _SENDING_WORDS.search(body) or _RETURNED_VALUE.search(body) or _CALL_OF_RESULT.search(body):
        return None
    if not _local_stores_only(body, brackets[colon + 1 : end]):
        return None
    if not _plain_targets(body):
        return None
    methods: set[str] = set()
    builtins: set[str] = set()
    for call in _CALLEE.finditer(body):
        name = call.group(2)
        if call.group(1):
            if name in STORING_METHODS:
                return None
            methods.add(name)
        elif name not in _KEYWORDS:
            if name not in INERT_BUILTINS:
                return None
            builtins.add(name)
    return methods, builtins


def call_only(blanked: str, methods: Iterable[str], builtins: Iterable[str]) -> set[str]:
    """Of `methods` and `builtins`, those the blanked text writes only as calls: `.m(` for a
    method, `b(` (not after a dot, a `def` or a `class`) for a builtin. Nothing in a file that
    spells one of HIDDEN_STORES."""
    methods, builtins = set(methods), set(builtins)
    if _HIDDEN_STORE_TEXT.search(blanked):
        return set()
    written_otherwise = methods & builtins  # `.type(` and `type(`: one is written otherwise
    for method in methods - builtins:
        if blanked.count(method) == blanked.count(f".{method}("):
            continue  # every occurrence, even inside a longer word, is `.m(`
        # (counted in C: every whole-word occurrence must be one of `.m(`)
        word = re.escape(method)
        anywhere = len(re.findall(rf"(?<!\w){word}(?!\w)", blanked, re.A))
        if len(re.findall(rf"\.\s*{word}(?!\w)\s*\(", blanked, re.A)) != anywhere:
            written_otherwise.add(method)
    for offset, word in whole_words(blanked, builtins - methods, ascii_words=True):
        if word in written_otherwise:
            continue
        before = blanked[max(0, offset - 16) : offset]
        called = _CALLED_AFTER.match(blanked, offset + len(word)) is not None
        if not called or _DOT_BEFORE.search(before) is not None or _DEFINED_BEFORE.search(before) is not None:
            written_otherwise.add(word)
    return (methods | builtins) - written_otherwise


# ---------------------------------------------------------------------------- the syntax tree


def _names_only(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_names_only(item) for item in target.elts)
    return isinstance(target, ast.Starred) and _names_only(target.value)


_SENDING_NODES = (
    ast.Yield, ast.YieldFrom, ast.Await, ast.Lambda, ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom,
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.NamedExpr, ast.AsyncFor, ast.AsyncWith,
)


def syntax_candidate(function: ast.AST) -> Optional[tuple[set[str], set[str]]]:
    """text_candidate's question on a function's syntax tree."""
    if not isinstance(function, ast.FunctionDef) or function.decorator_list:
        return None
    if any(isinstance(node, (ast.Call, ast.Lambda)) for node in ast.walk(function.args)):
        return None
    if function.returns is not None and any(isinstance(node, ast.Call) for node in ast.walk(function.returns)):
        return None
    methods: set[str] = set()
    builtins: set[str] = set()
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, _SENDING_NODES):
                return None
            if isinstance(node, ast.Return) and node.value is not None:
                return None
            if isinstance(node, ast.Assign) and not all(_names_only(target) for target in node.targets):
                return None
            if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension)) and not _names_only(node.target):
                return None
            if isinstance(node, ast.withitem) and node.optional_vars is not None and not _names_only(node.optional_vars):
                return None
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr not in STORING_METHODS:
                    methods.add(func.attr)
                elif isinstance(func, ast.Name) and func.id in INERT_BUILTINS:
                    builtins.add(func.id)
                else:
                    return None
    return methods, builtins


def syntax_call_only(tree: ast.Module, methods: Iterable[str], builtins: Iterable[str]) -> set[str]:
    """call_only's question on the file's syntax tree: every identifier the tree holds counts."""
    methods, builtins = set(methods), set(builtins)
    wanted = methods | builtins
    called: set[int] = set()
    written_otherwise = methods & builtins  # `.type(` and `type(`: one is written otherwise
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called.add(id(node.func))
    for node in ast.walk(tree):
        names: Sequence[Optional[str]]
        if isinstance(node, ast.Attribute):
            if node.attr in wanted and not (id(node) in called and node.attr in methods):
                written_otherwise.add(node.attr)
            if node.attr in HIDDEN_STORES:
                return set()
            continue
        if isinstance(node, ast.Name):
            if node.id in HIDDEN_STORES:
                return set()
            if node.id in wanted and not (id(node) in called and node.id in builtins):
                written_otherwise.add(node.id)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, ast.keyword):
            names = [node.arg]
        elif isinstance(node, ast.alias):
            names = [*node.name.split("."), node.asname]
        elif isinstance(node, ast.ImportFrom):
            names = (node.module or "").split(".")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names = node.names
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)):
            names = [node.name]
        elif isinstance(node, ast.MatchMapping):
            names = [node.rest]
        elif isinstance(node, ast.MatchClass):
            names = node.kwd_attrs
        elif isinstance(node, ast.ExceptHandler):
            names = [node.name]
        else:
            continue
        for name in names:
            if name in HIDDEN_STORES:
                return set()
            if name in wanted:
                written_otherwise.add(name)
    return wanted - written_otherwise
