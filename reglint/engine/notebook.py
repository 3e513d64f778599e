"""Lint Jupyter notebooks (`.ipynb`): the code cells, as one module, with findings mapped back.

How a notebook is read:

- Cells are numbered 1-based among *all* cells of the notebook (markdown and raw cells count), so
  "cell 4" is the fourth cell a reader sees from the top, and `cells[3]` in the JSON.
- The code cells are joined, in order, into one virtual module and analysed together, because
  training notebooks spread one setup over several cells (the model in cell 1, the optimizer in
  cell 3, the loop in cell 5). Each finding is mapped back to its cell and to the line and column
  within that cell (`Finding.cell`, `Finding.line`, `Finding.column`).
- IPython syntax is not Python. A cell that parses as Python is linted exactly as written. One
  that does not is read as IPython reads it (ipython.py): its leading indentation removed, and
  its IPython statements replaced by `pass` at the same indentation (so line numbers and blocks
  stay intact): line magics (`%matplotlib inline`, `x = %time f()`, automagic `pip install x`),
  shell lines (`!pip install torch`, `files = !ls`), help (`?torch.norm`, `model??`,
  `torch.*Tensor?`). Cell magics (`%%bash`, `%%writefile`, ...) skip the whole cell, except
  those whose body is Python run in the notebook (`%%time`, `%%timeit`, `%%capture`, `%%prun`),
  whose body is linted.
- A code cell that still does not parse and is not Python at all (a `???` placeholder, YAML, a
  first statement that is no Python) is skipped, as is every cell that does not parse in a
  Python 2 notebook; otherwise it gives one RL000 finding at that cell. The other cells are
  linted without it. Invalid notebook JSON gives one RL000 finding for the file.
- Notebooks whose kernel language is not Python are skipped.

Each finding also carries `data["file_line"]` / `data["file_end_line"]`: where the reported
source line sits in the `.ipynb` file itself, for tools that annotate files by line (GitHub
annotations, SARIF). They are left out when the file's layout does not allow a sure answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Sequence

import libcst as cst

from reglint.engine.cells import Cell, NotebookError, load_cell_sources, read_cells
from reglint.engine.config import Settings
from reglint.engine.ipython import (
    PYTHON_CELL_MAGICS,
    CellText,
    dedent_leading,
    not_python,
    strip_ipython,
)
from reglint.engine.runner import FileResult, lint_text, parse, parse_error
from reglint.model import Edit, Finding, Note
from reglint.registry import PARSE_ERROR


@dataclass
class NotebookResult(FileResult):
    """A FileResult for a notebook, with what is needed to map the virtual module back to cells.

    The base fields `module` and `reports` stay empty so that code written for `.py` files (which
    rewrites `path` from `module`) never writes Python over the notebook's JSON; the virtual module
    and its reports are kept here instead.
    """

    cells: list[Cell] = field(default_factory=list)
    virtual_source: str = ""
    # line_map[i] is (cell index, line within that cell) of line i + 1 of the virtual module, and
    # column_offsets[i] the columns IPython's leading-indent removal took from the start of that line.
    line_map: list[tuple[int, int]] = field(default_factory=list)
    column_offsets: list[int] = field(default_factory=list)
    virtual_module: Optional[cst.Module] = None

    @property
    def cell_sources(self) -> dict[int, list[str]]:
        """Each cell's source lines by cell index: what a code frame under a finding shows."""
        return {cell.index: cell.source.splitlines() for cell in self.cells}


def lint_notebook(data: bytes, path: str, settings: Settings, enabled: frozenset[str]) -> NotebookResult:
    """Lint the code cells of the notebook `data` (the bytes of `path`)."""
    result = NotebookResult(path=path)
    report_parse_errors = PARSE_ERROR.code in enabled and PARSE_ERROR.code not in settings.ignored_for(path)
    try:
        text = data.decode("utf-8-sig")
        document = json.loads(text)
        cells = read_cells(document)
    except UnicodeDecodeError as exc:
        if report_parse_errors:
            byte_line = data[: exc.start].count(b"\n") + 1
            result.findings.append(parse_error(path, "notebook is not valid UTF-8", byte_line))
        return result
    except json.JSONDecodeError as exc:
        if report_parse_errors:
            result.findings.append(parse_error(path, f"notebook is not valid JSON: {exc.msg}", exc.lineno, exc.colno))
        return result
    except NotebookError as exc:
        if report_parse_errors:
            result.findings.append(parse_error(path, f"not a Jupyter notebook: {exc}"))
        return result
    result.cells = cells
    if not is_python(document):
        return result

    sources: dict[int, CellText] = {}
    python2 = is_python2(document)
    for cell in cells:
        if cell.kind != "code":
            continue
        code, error = cell_text(cell, path)
        if error is not None:
            if report_parse_errors and not python2:
                result.findings.append(replace(error, cell=cell.index))
            continue
        if code is not None and code.lines:
            sources[cell.index] = code

    virtual: list[str] = []
    for index, code in sources.items():
        for number, (text_line, offset) in enumerate(zip(code.lines, code.offsets), start=1):
            virtual.append(text_line)
            result.line_map.append((index, number))
            result.column_offsets.append(offset)
    result.virtual_source = "".join(line + "\n" for line in virtual)
    if virtual:
        line_map = result.line_map
        linted = lint_text(
            result.virtual_source,
            path,
            settings,
            enabled,
            line_label=lambda line: f"cell {line_map[line - 1][0]}, line {line_map[line - 1][1]}"
            if 1 <= line <= len(line_map)
            else f"line {line}",
        )
        if any(f.code == PARSE_ERROR.code for f in linted.findings):
            # Cannot happen when every cell parses alone; lint cell by cell rather than report
            # an error in a module the user never wrote.
            result.findings.extend(_lint_cells_separately(sources, path, settings, enabled))
        else:
            result.virtual_module = linted.module
            result.dependencies = linted.dependencies
            result.findings.extend(_to_cell(f, result.line_map, result.column_offsets) for f in linted.findings)

    positions = file_positions(text, document)
    if virtual:
        result.notes = [_note_to_cell(note, result.line_map, positions) for note in linted.notes]
    result.findings = [_with_file_lines(f, positions) for f in result.findings]
    result.findings.sort(key=lambda f: f.sort_key)
    return result


def is_python(document: dict[str, Any]) -> bool:
    """False only when the notebook says its kernel runs another language."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, field_name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field_name), str):
            return section[field_name].strip().lower() in ("python", "python3", "python2", "ipython")
    return True


def is_python2(document: dict[str, Any]) -> bool:
    """Whether the notebook says its kernel is Python 2 (its cells are not Python 3)."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return False
    info, spec = metadata.get("language_info"), metadata.get("kernelspec")
    version = info.get("version") if isinstance(info, dict) else None
    if isinstance(version, str) and version.strip().startswith("2"):
        return True
    return isinstance(spec, dict) and spec.get("name") == "python2"


def cell_text(cell: Cell, path: str) -> tuple[Optional[CellText], Optional[Finding]]:
    """The cell's lines as Python (IPython syntax replaced, see ipython.py); None when the cell
    has nothing to lint (empty, a cell magic, not Python at all); or a parse error at the cell."""
    lines = cell.source.splitlines()
    if not any(line.strip() for line in lines):
        return None, None
    first = next(i for i, line in enumerate(lines) if line.strip())
    head = lines[first].strip()
    if head.startswith("%%"):
        name = head[2:].split(None, 1)[0] if len(head) > 2 else ""
        if name not in PYTHON_CELL_MAGICS:
            return None, None
        lines = lines[:first] + [""] + lines[first + 1 :]
    module, error = parse("\n".join(lines) + "\n", path)
    if module is not None:
        return CellText(lines, [0] * len(lines)), None
    dedented = dedent_leading(lines)
    cleaned = strip_ipython(dedented.lines)
    module, _ = parse("\n".join(cleaned) + "\n", path)
    if module is not None:
        return CellText(cleaned, dedented.offsets), None
    if not_python(dedented.lines):
        return None, None
    return None, error


def python_lines(cell: Cell, path: str) -> tuple[list[str], Optional[Finding]]:
    """The cell's lines as Python, or a parse error at the cell (see `cell_text`)."""
    code, error = cell_text(cell, path)
    return (code.lines if code is not None else []), error


def _to_cell(finding: Finding, line_map: list[tuple[int, int]], offsets: Sequence[int] = ()) -> Finding:
    """Move a finding from virtual-module coordinates to (cell, line and column within the cell)."""
    if finding.line is None or not (1 <= finding.line <= len(line_map)):
        return finding
    cell, line = line_map[finding.line - 1]
    column = _shift(finding.column, offsets, finding.line)
    end_line, end_column = finding.end_line, _shift(finding.end_column, offsets, finding.end_line)
    if end_line is not None and 1 <= end_line <= len(line_map):
        end_cell, end_line = line_map[end_line - 1]
        if end_cell != cell:  # a span cannot really cross cells; keep it on the start line
            end_line, end_column = line, column
    fix = finding.fix
    if fix is not None and fix.edits:
        edits = _edits_to_cells(fix.edits, line_map, offsets)
        fix = replace(fix, edits=edits) if edits is not None else None
    return replace(finding, cell=cell, line=line, column=column, end_line=end_line, end_column=end_column, fix=fix)


def _shift(column: Optional[int], offsets: Sequence[int], line: Optional[int]) -> Optional[int]:
    """A virtual-module column as a column of the cell's own line (before leading-indent removal)."""
    if column is None or line is None or not (1 <= line <= len(offsets)):
        return column
    return column + offsets[line - 1]


def _edits_to_cells(
    edits: Sequence[Edit], line_map: list[tuple[int, int]], offsets: Sequence[int] = ()
) -> Optional[tuple[Edit, ...]]:
    """A fix's edits in (cell, line within the cell) coordinates, as its finding; None when an edit
    spans two cells (such a fix cannot be applied to a notebook, and `--fix` does not offer it)."""
    out: list[Edit] = []
    for edit in edits:
        if not (1 <= edit.line <= len(line_map) and 1 <= edit.end_line <= len(line_map)):
            return None
        cell, line = line_map[edit.line - 1]
        end_cell, end_line = line_map[edit.end_line - 1]
        if end_cell != cell:
            return None
        column, end_column = _shift(edit.column, offsets, edit.line), _shift(edit.end_column, offsets, edit.end_line)
        assert column is not None and end_column is not None
        out.append(replace(edit, line=line, column=column, end_line=end_line, end_column=end_column, cell=cell))
    return tuple(out)


def _lint_cells_separately(
    sources: dict[int, CellText], path: str, settings: Settings, enabled: frozenset[str]
) -> list[Finding]:
    findings: list[Finding] = []
    for index, code in sources.items():
        linted = lint_text("".join(line + "\n" for line in code.lines), path, settings, enabled)
        line_map = [(index, number) for number in range(1, len(code.lines) + 1)]
        findings.extend(_to_cell(f, line_map, code.offsets) for f in linted.findings)
    return findings


# --- where a cell's source lines sit in the .ipynb file -------------------------------------

_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


def file_positions(text: str, document: Any) -> dict[tuple[int, int], int]:
    """Map (cell index, line within cell) to the 1-based line of the `.ipynb` file holding it.

    Only filled in where it is certain: a `source` given as a list of strings, one string per
    source line, each on its own file line (the layout Jupyter writes), or as one string (then
    every source line sits on that string's file line). Empty when the file has another shape.
    """
    try:
        strings = _source_string_lines(text)
    except (ValueError, IndexError):
        return {}
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return {}
    out: dict[tuple[int, int], int] = {}
    for number, raw in enumerate(cells, start=1):
        source = raw.get("source") if isinstance(raw, dict) else None
        lines_of = strings.get(number - 1)
        if lines_of is None:
            continue
        if isinstance(source, str):
            for line in range(1, source.count("\n") + 2):
                out[(number, line)] = lines_of[0]
        elif isinstance(source, list) and len(lines_of) == len(source):
            if not all(isinstance(part, str) for part in source):
                continue
            # A source line lives on the file line of the string in which it starts.
            line, at_line_start = 1, True
            for part, file_line in zip(source, lines_of):
                for char in part:
                    if at_line_start:
                        out[(number, line)] = file_line
                        at_line_start = False
                    if char == "\n":
                        line, at_line_start = line + 1, True
    return out


def _source_string_lines(text: str) -> dict[int, list[int]]:
    """For each top-level cell (0-based), the file lines of the strings in its `source`."""
    found: dict[int, list[int]] = {}
    stack: list[Any] = []  # containers: ["obj", key] or ["arr", index]
    line = 1
    position = 0
    expect_key = False
    for match in _TOKEN.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        token = match.group()
        if token in "{[":
            stack.append(["obj", None] if token == "{" else ["arr", 0])
            expect_key = token == "{"
        elif token in "}]":
            stack.pop()
            expect_key = False
        elif token == ":":
            expect_key = False
        elif token == ",":
            if stack and stack[-1][0] == "arr":
                stack[-1][1] += 1
            expect_key = bool(stack) and stack[-1][0] == "obj"
        elif expect_key:
            stack[-1][1] = json.loads(token)
        elif token.startswith('"'):
            path = [entry[1] for entry in stack]
            if len(path) >= 3 and path[0] == "cells" and path[2] == "source" and isinstance(path[1], int):
                found.setdefault(path[1], []).append(line)
    return found


def _note_to_cell(note: Note, line_map: list[tuple[int, int]], positions: dict[tuple[int, int], int]) -> Note:
    """A note on the virtual module, on the notebook's own line, naming the cell and its line."""
    if not (1 <= note.line <= len(line_map)):
        return note
    cell, line = line_map[note.line - 1]
    return replace(note, line=positions.get((cell, line), 1), message=f"cell {cell}, line {line}: {note.message}")


def _with_file_lines(finding: Finding, positions: dict[tuple[int, int], int]) -> Finding:
    if finding.cell is None or finding.line is None:
        return finding
    start = positions.get((finding.cell, finding.line))
    end = positions.get((finding.cell, finding.end_line or finding.line))
    if start is None or end is None:
        return finding
    return replace(finding, data={**finding.data, "file_line": start, "file_end_line": end})


__all__ = [
    "Cell", "NotebookError", "NotebookResult", "cell_text", "is_python2", "lint_notebook", "load_cell_sources",
    "python_lines", "read_cells", "strip_ipython",
]
