"""IPython syntax in notebook cells, read as Jupyter runs it, and cells that are not Python at all.

IPython transforms a cell before Python sees it (IPython.core.inputtransformer2). The transforms
that matter for reading a cell, mirrored here so that a cell Jupyter runs is never a syntax error:

- a cell whose first line is indented has that indentation removed from every line that starts
  with it (`leading_indent`): a cell pasted from inside a function runs;
- a statement that starts with `%` (line magic), `!` (shell), `?`/`??` (help), or `/`, `,`, `;`
  (autocall), one that ends with `?`/`??` (help: `obj?`, `model.forward??`, the wildcard search
  `torch.*Tensor?`; IPython takes any statement whose last token is `?`), and `x = %magic ...` /
  `x = !cmd` assignments;
- automagic: `pip install torch`, `cd data`, `matplotlib inline` run as their `%` magics.

Each such statement becomes `pass` at its indentation (a `\\`-continued magic or shell line takes
its continuation lines with it, left empty), so lines and blocks keep their numbers. Only a line
that starts a statement is a candidate (not one inside brackets or a string), and this runs only
on a cell that does not parse as written.

A cell that still does not parse is either Python with a mistake (reported as RL000 at the cell)
or not Python at all, and then skipped like a `%%bash` cell: it holds a template placeholder
(`???`, `<your code here>`), every line reads as YAML (or an INI section header), or its first
statement alone is not Python (prose, a shell command without `!`, Python 2's `print "x"`).
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass
from typing import Optional

# Cell magics whose body is Python executed in the notebook's namespace.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})

# Line magics and shell aliases that IPython runs without their `%` (automagic is on by default).
AUTOMAGICS = frozenset({
    "alias", "autoawait", "autocall", "autoreload", "bookmark", "cat", "cd", "clear", "conda", "config",
    "cp", "debug", "dhist", "dirs", "env", "gui", "history", "killbgscripts", "ldir", "less", "lf",
    "lk", "ll", "load", "load_ext", "loadpy", "logoff", "logon", "logstart", "logstate", "logstop",
    "ls", "lsmagic", "lx", "macro", "magic", "man", "matplotlib", "mamba", "micromamba", "mkdir",
    "more", "mv", "notebook", "page", "pastebin", "pdb", "pdef", "pdoc", "pfile", "pinfo", "pinfo2",
    "pip", "popd", "pprint", "precision", "prun", "psearch", "psource", "pushd", "pwd", "pycat",
    "pylab", "quickref", "recall", "rehashx", "reload_ext", "rep", "rerun", "reset", "reset_selective",
    "rm", "rmdir", "run", "save", "sc", "set_env", "store", "sx", "system", "tb", "tensorboard",
    "time", "timeit", "unalias", "unload_ext", "who", "who_ls", "whos", "xdel", "xmode",
})

_ESCAPES = ("%", "!", "?", "/", ",", ";")
_MAGIC_ASSIGN = re.compile(r"^\s*[\w.]+(\s*,\s*[\w.]+)*\s*=\s*[%!]")
_PLACEHOLDER = re.compile(r"\?\?\?|<\s*(?:your|fill|insert|todo|replace|enter)\b[^<>\n]*>", re.IGNORECASE)
_CONFIG_LINE = re.compile(r"""^\s*(?:-(?:\s|$)|---\s*$|\.\.\.\s*$|[\w.\-"' ]+:(?:\s|$)|\[[^\]]*\]\s*$)""")
_INDENT = re.compile(r"^[ \t]+")


@dataclass(frozen=True)
class CellText:
    """A cell's lines as Python, and per line the columns removed from its start (leading indent)."""

    lines: list[str]
    offsets: list[int]


def dedent_leading(lines: list[str]) -> CellText:
    """IPython's `leading_indent`: when the first non-blank line is indented, remove that
    indentation from every line that starts with it."""
    first = next((line for line in lines if line.strip()), "")
    match = _INDENT.match(first)
    if match is None:
        return CellText(list(lines), [0] * len(lines))
    indent = match.group(0)
    out, offsets = [], []
    for line in lines:
        if line.startswith(indent):
            out.append(line[len(indent) :])
            offsets.append(len(indent))
        else:
            out.append(line)
            offsets.append(0)
    return CellText(out, offsets)


class _Scanner:
    """Tracks, line by line, whether the next line starts a statement: not inside brackets, a
    string, or a backslash continuation. An approximation of Python's tokenizer, enough to tell
    an IPython escape at a statement's start from an operator on a continuation line."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: Optional[str] = None
        self.continued = False

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        code_end = n
        while i < n:
            char = line[i]
            if self.quote is not None:
                if char == "\\":
                    i += 2
                elif line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                else:
                    i += 1
                continue
            if char == "#":
                code_end = i
                break
            if char in "'\"":
                self.quote = line[i : i + 3] if line[i : i + 3] in ("'''", '"""') else char
                i += len(self.quote)
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(self.depth - 1, 0)
            i += 1
        if self.quote in ("'", '"'):
            self.quote = None  # a one-line string cannot run past its line
        self.continued = self.quote is None and line[:code_end].rstrip().endswith("\\")


def is_ipython_statement(line: str) -> bool:
    """Whether `line`, starting a statement, is IPython syntax rather than Python."""
    stripped = line.lstrip()
    if not stripped:
        return False
    if stripped.startswith(_ESCAPES) or _MAGIC_ASSIGN.match(line):
        return True
    code = stripped.rstrip()
    if code.endswith("?") and "#" not in code and code.rstrip("?").strip():
        return True  # help: IPython takes any statement whose last token is `?`
    word, _, rest = stripped.partition(" ")
    return word in AUTOMAGICS and bool(rest.strip()) and not _parses(stripped)


def strip_ipython(lines: list[str]) -> list[str]:
    """Replace each IPython statement with `pass` at its indentation (continuation lines of a
    `\\`-continued magic or shell line become empty), keeping every other line as written."""
    out: list[str] = []
    scanner = _Scanner()
    continued_magic = False
    for line in lines:
        if continued_magic:
            out.append("")
            continued_magic = line.rstrip().endswith("\\")
            continue
        if scanner.at_statement_start and is_ipython_statement(line):
            stripped = line.lstrip()
            out.append(line[: len(line) - len(stripped)] + "pass")
            continued_magic = line.rstrip().endswith("\\")
            continue
        out.append(line)
        scanner.feed(line)
    return out


def not_python(lines: list[str]) -> bool:
    """Whether a cell that does not parse is not Python at all (see the module's docstring)."""
    text = "\n".join(lines)
    if _PLACEHOLDER.search(text):
        return True
    code = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not code:
        return False
    if all(_CONFIG_LINE.match(line) and line.split(None, 1)[0].rstrip(":") not in keyword.kwlist for line in code):
        return True
    return _first_statement_is_not_python(lines)


def _first_statement_is_not_python(lines: list[str]) -> bool:
    scanner = _Scanner()
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        scanner.feed(line)
        if not scanner.at_statement_start:
            return False  # it goes on past its line: cannot judge it alone, treat it as Python
        if stripped.startswith("@") or re.split(r"\W", stripped, maxsplit=1)[0] in keyword.kwlist:
            return False  # a decorator (its function follows) or a Python keyword: Python with a mistake
        statement = stripped + ("\n    pass" if stripped.endswith(":") else "")
        return not _parses(statement)
    return False


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True
