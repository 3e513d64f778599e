"""Applying fixes: `reglint check --fix`, `--unsafe-fixes`, `--diff`.

A pass lints the text, takes the fixes of its (enabled, unsuppressed) findings whose applicability
is asked for, drops those that overlap a fix already taken (outermost first, in source order; two
findings that share the very same edits are fixed once), applies the rest by span, and re-parses
the result: a fix whose result does not parse is dropped, never written. Passes repeat on the fixed
text until no fix applies (at most `MAX_PASSES`), so a second `--fix` changes nothing.

Files are written atomically: a temporary file in the same directory, fsync, the original mode,
then `os.replace`. Nothing is written if the file changed on disk since it was read.

The layers, from the inside out, so that notebooks (whose cells are texts of their own) can use
the same machinery:

    apply_fixes(text, findings, unsafe)      one pass over one text
    fix_source(text, lint, unsafe=...)       any text and a function that lints it, to a fixpoint
    fix_text(text, path, settings, enabled)  Python source, linted as `reglint check` does
    fix_cells(cells, lint, unsafe=...)       a notebook's code cells, linted together, each cell
                                             given back with its own fixed text
    fix_notebook(data, path, ...)            an .ipynb: cells out of the JSON and back in
    fix_file(path, ...)                      read, fix, and write (or diff) one file
    fix_check_run(results, ...)              every file of a `check` run that has a fix to apply
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import io
import json
import os
import re
import stat
import tempfile
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from reglint.engine.config import ConfigResolver, Overrides, Settings
from reglint.engine.runner import FileResult, decode, lint_bytes, lint_text, read
from reglint.engine.source import edit_context, physical_lines
from reglint.model import Applicability, Edit, Finding, Fix

MAX_PASSES = 5

Lint = Callable[[str], FileResult]


# --------------------------------------------------------------------------- selecting fixes


def wanted(fix: Optional[Fix], unsafe: bool) -> bool:
    """Whether `--fix` applies this fix: safe ones always, unsafe ones with `--unsafe-fixes`."""
    if fix is None:
        return False
    return fix.applicability is Applicability.SAFE or (unsafe and fix.applicability is Applicability.UNSAFE)


def fixable(findings: Iterable[Finding], unsafe: bool) -> list[Finding]:
    return [f for f in findings if wanted(f.fix, unsafe)]


@dataclass
class _Candidate:
    """One set of edits, and every finding that proposed exactly these edits."""

    edits: tuple[Edit, ...]
    fix: Fix
    findings: list[Finding]
    ranges: list[tuple[int, int, str]] = field(default_factory=list)  # offsets into the text

    @property
    def start(self) -> int:
        return min(r[0] for r in self.ranges)

    @property
    def end(self) -> int:
        return max(r[1] for r in self.ranges)


MISPLACED = "the text at its position is not the code it was computed from (the parser's positions are off there)"


class _Lines:
    """(line, column) -> offset, with Python's newlines (\\r\\n, \\r, \\n) and 1-based columns."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._physical: Optional[list[str]] = None
        self.starts = [0]
        self.ends: list[int] = []  # where each line's text ends (before its newline)
        for match in re.finditer(r"\r\n|\r|\n", text):
            self.ends.append(match.start())
            self.starts.append(match.end())
        self.ends.append(len(text))
        self.length = len(text)

    def offset(self, line: int, column: int) -> Optional[int]:
        if line == len(self.starts) + 1 and column == 1:
            return self.length  # just past the last line (deleting or appending at the end)
        if not (1 <= line <= len(self.starts)) or column < 1:
            return None
        start = self.starts[line - 1]
        # Column len(line)+1 is the end of the line; the next line's column 1 is past its newline.
        if start + column - 1 > self.ends[line - 1]:
            return None
        return start + column - 1

    def context(self, line: int, column: int, end_line: int) -> str:
        """What `Edit.context` must equal for an edit from (`line`, `column`) to `end_line` here."""
        if self._physical is None:
            self._physical = physical_lines(self.text)
        return edit_context(self._physical, line, column, end_line)


def _candidates(
    text: str, findings: Iterable[Finding], unsafe: bool
) -> tuple[list[_Candidate], list[Finding], list[Finding]]:
    """Group the wanted fixes by their edits. Fixes whose positions do not fit the text are
    invalid; fixes whose edits do not find, around their positions, the lines they were computed
    from are misplaced (the parser's positions were off): neither is applied."""
    lines = _Lines(text)
    groups: dict[tuple[Edit, ...], _Candidate] = {}
    invalid: list[Finding] = []
    misplaced: list[Finding] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or not wanted(fix, unsafe):
            continue
        found = tuple(sorted(set(fix.edits_for(finding)), key=lambda e: (e.line, e.column, e.end_line, e.end_column)))
        if not found:
            invalid.append(finding)
            continue
        if found in groups:
            groups[found].findings.append(finding)
            continue
        ranges, problem = _ranges(lines, found)
        if problem == "misplaced":
            misplaced.append(finding)
        elif problem is not None or _overlapping(ranges):
            invalid.append(finding)
        else:
            groups[found] = _Candidate(found, fix, [finding], ranges)
    # Outermost first: by start, then the longest span; then by rule code for a stable order.
    ordered = sorted(groups.values(), key=lambda c: (c.start, -c.end, c.findings[0].code, c.edits))
    return ordered, invalid, misplaced


def _ranges(lines: _Lines, edits: Sequence[Edit]) -> tuple[list[tuple[int, int, str]], Optional[str]]:
    """The edits as offsets into the text, or why they cannot be applied: "outside" (a
    position outside the text) or "misplaced" (the lines there are not the ones the edit was
    computed from)."""
    ranges: list[tuple[int, int, str]] = []
    for edit in edits:
        start = lines.offset(edit.line, edit.column)
        end = lines.offset(edit.end_line, edit.end_column)
        if start is None or end is None or end < start:
            return ranges, "outside"
        if edit.context is not None and edit.context != lines.context(edit.line, edit.column, edit.end_line):
            return ranges, "misplaced"
        ranges.append((start, end, edit.replacement))
    return ranges, None


def _conflict(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    if a == b:
        return False  # the same edit, shared: applied once
    (s1, e1, _), (s2, e2, _) = a, b
    if s1 == e1 and s2 == e2:
        return s1 == s2  # two different insertions at one point: their order would be a guess
    if s1 == e1:
        return s2 <= s1 <= e2  # an insertion inside or at the edge of a replaced range
    if s2 == e2:
        return s1 <= s2 <= e1
    return s1 < e2 and s2 < e1


def _overlapping(ranges: Sequence[tuple[int, int, str]]) -> bool:
    return any(_conflict(a, b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])


def _apply(text: str, ranges: Iterable[tuple[int, int, str]]) -> str:
    unique = sorted(set(ranges), key=lambda r: (r[0], r[1]), reverse=True)
    for start, end, replacement in unique:
        text = text[:start] + replacement + text[end:]
    return text


def parses(text: str, python_too: bool = True) -> bool:
    """libcst reads it (and, when the original compiled, so does CPython's own parser), as the
    runner does: what libcst cannot read as CPython does is left out of its copy, not handed to
    its native parser (engine/readable.py)."""
    if read(text, "").module is None:
        return False
    if python_too:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(text)
        except (SyntaxError, ValueError):
            return False
        except (RecursionError, MemoryError):
            pass
    return True


def _compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class Applied:
    """A fix that was applied: the findings it resolved, in the pass's coordinates."""

    pass_number: int
    fix: Fix
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Dropped:
    """A fix that was not applied, and why."""

    finding: Finding
    reason: str


def _choose(
    text: str,
    findings: Iterable[Finding],
    unsafe: bool,
    check_python: bool,
    allow: Optional[Callable[[_Candidate], Optional[str]]] = None,
) -> tuple[list[_Candidate], list[Dropped]]:
    """The fixes one pass applies: wanted, within the text, allowed, not overlapping one taken
    before (outermost first), and together giving a text that parses."""
    candidates, invalid, misplaced = _candidates(text, findings, unsafe)
    dropped = [Dropped(f, "its edits do not fit the source") for f in invalid]
    dropped.extend(Dropped(f, MISPLACED) for f in misplaced)
    taken: list[_Candidate] = []
    for candidate in candidates:
        refusal = allow(candidate) if allow is not None else None
        if refusal is not None:
            dropped.extend(Dropped(f, refusal) for f in candidate.findings)
            continue
        if any(_conflict(r, s) for other in taken for r in candidate.ranges for s in other.ranges):
            continue
        taken.append(candidate)
    if taken and not parses(_apply(text, (r for c in taken for r in c.ranges)), check_python):
        # Find the culprits: add the fixes one at a time, keeping those whose result parses.
        kept: list[_Candidate] = []
        for candidate in taken:
            if parses(_apply(text, (r for c in kept + [candidate] for r in c.ranges)), check_python):
                kept.append(candidate)
            else:
                dropped.extend(Dropped(f, "its result does not parse") for f in candidate.findings)
        taken = kept
    return taken, dropped


def apply_fixes(
    text: str, findings: Iterable[Finding], unsafe: bool, pass_number: int = 1, check_python: Optional[bool] = None
) -> tuple[str, list[Applied], list[Dropped]]:
    """One pass: apply every wanted, non-overlapping fix of `findings` to `text`.

    Returns the new text, the fixes applied and the fixes dropped (a result that does not parse, or
    positions outside the text). Fixes that overlap one taken are neither: a later pass sees them
    again if they still apply.
    """
    if check_python is None:
        check_python = _compiles(text)
    taken, dropped = _choose(text, findings, unsafe, check_python)
    new_text = _apply(text, (r for c in taken for r in c.ranges)) if taken else text
    return new_text, [Applied(pass_number, c.fix, tuple(c.findings)) for c in taken], dropped


# --------------------------------------------------------------------------- fixing a text


@dataclass
class FixOutcome:
    original: str
    text: str
    result: Optional[FileResult]  # the lint of the final text (None if it could not be linted)
    applied: list[Applied] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    converged: bool = True  # False: fixes still applied after MAX_PASSES passes
    refused: Optional[str] = None  # why the file gets no fix at all (positions cannot be trusted)

    @property
    def changed(self) -> bool:
        return self.text != self.original

    @property
    def fixed(self) -> int:
        """How many findings the applied fixes resolved."""
        return sum(len(a.findings) for a in self.applied)


def fix_source(text: str, lint: Lint, *, unsafe: bool = False, max_passes: int = MAX_PASSES) -> FixOutcome:
    """Fix `text` until no wanted fix applies; `lint` maps a text to its FileResult."""
    outcome = FixOutcome(original=text, text=text, result=None)
    result = lint(text)
    outcome.result = result
    if result.module is None or result.internal_error:
        return outcome  # a file that does not parse, or that reglint failed on, is left alone
    if result.fixes_refused:
        outcome.refused = result.fixes_refused
        return outcome
    check_python = _compiles(text)
    seen_dropped: set[tuple[str, str, str]] = set()
    for number in range(1, max_passes + 1):
        new_text, applied, dropped = apply_fixes(outcome.text, result.findings, unsafe, number, check_python)
        for item in dropped:
            key = (item.finding.code, item.finding.message, item.reason)
            if key not in seen_dropped:
                seen_dropped.add(key)
                outcome.dropped.append(item)
        if not applied:
            return outcome
        new_result = lint(new_text)
        if new_result.module is None or new_result.internal_error:
            # The fixed text lints worse than the original: keep the last good text, stop.
            for done in applied:
                outcome.dropped.extend(Dropped(f, "the fixed source could not be analysed") for f in done.findings)
            return outcome
        outcome.text, result = new_text, new_result
        outcome.result = result
        outcome.applied.extend(applied)
    _, more, _ = apply_fixes(outcome.text, result.findings, unsafe, max_passes + 1, check_python)
    outcome.converged = not more
    return outcome


def fix_text(
    text: str, path: str, settings: Settings, enabled: frozenset[str], *, unsafe: bool = False, max_passes: int = MAX_PASSES
) -> FixOutcome:
    """Fix Python source as `reglint check` lints it (the path picks per-file ignores)."""
    return fix_source(text, lambda t: lint_text(t, path, settings, enabled), unsafe=unsafe, max_passes=max_passes)


@dataclass
class CellsOutcome:
    """`fix_cells`: the cells' texts before and after, and the lint of the joined fixed cells."""

    original: list[str]
    cells: list[str]
    result: Optional[FileResult]
    applied: list[Applied] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    converged: bool = True

    @property
    def changed(self) -> bool:
        return self.cells != self.original

    @property
    def fixed(self) -> int:
        return sum(len(a.findings) for a in self.applied)


# editable(cell, start, end, replacement, cell_text): None if the edit may be made to that cell
# (offsets within the cell's text), else why not.
Editable = Callable[[int, int, int, str, str], Optional[str]]


def fix_cells(
    cells: Sequence[str],
    lint: Lint,
    *,
    unsafe: bool = False,
    editable: Optional[Editable] = None,
    max_passes: int = MAX_PASSES,
) -> CellsOutcome:
    """Fix the code cells of a notebook, analysed together as one module.

    `cells` are the cells' Python texts (IPython lines already masked by the caller), `lint` lints
    their concatenation (each cell ending in a newline) and reports in its coordinates, as
    `lint_text` does. A fix is applied only if each of its edits lies inside one cell (an edit at
    the seam between two cells belongs to the cell it ends), and `editable` may refuse edits (to
    keep masked lines as they are). Returns each cell's new text, in order.
    """
    added = [bool(text) and not text.endswith(("\n", "\r")) for text in cells]
    texts = [text + "\n" if add else text for text, add in zip(cells, added)]
    outcome = CellsOutcome(original=list(cells), cells=list(cells), result=None)

    def bounds(parts: Sequence[str]) -> list[tuple[int, int]]:
        out, at = [], 0
        for part in parts:
            out.append((at, at + len(part)))
            at += len(part)
        return out

    def locate(spans: list[tuple[int, int]], start: int, end: int) -> Optional[int]:
        for index, (low, high) in enumerate(spans):
            # In order, so an insertion at a seam goes to the cell that ends there.
            if low <= start and end <= high:
                return index
        return None

    virtual = "".join(texts)
    result = lint(virtual)
    outcome.result = result
    if result.module is None or result.internal_error:
        return outcome
    check_python = _compiles(virtual)
    for number in range(1, max_passes + 1):
        spans = bounds(texts)

        def allow(candidate: _Candidate, spans: list[tuple[int, int]] = spans, texts: list[str] = texts) -> Optional[str]:
            for start, end, replacement in candidate.ranges:
                index = locate(spans, start, end)
                if index is None:
                    return "it would edit across notebook cells"
                if editable is not None:
                    low = spans[index][0]
                    refusal = editable(index, start - low, end - low, replacement, texts[index])
                    if refusal is not None:
                        return refusal
            return None

        taken, dropped = _choose(virtual, result.findings, unsafe, check_python, allow)
        outcome.dropped.extend(d for d in dropped if d not in outcome.dropped)
        if not taken:
            break
        per_cell: dict[int, list[tuple[int, int, str]]] = {}
        for candidate in taken:
            for start, end, replacement in candidate.ranges:
                index = locate(spans, start, end)
                assert index is not None
                low = spans[index][0]
                per_cell.setdefault(index, []).append((start - low, end - low, replacement))
        new_texts = [_apply(text, per_cell[i]) if i in per_cell else text for i, text in enumerate(texts)]
        new_virtual = "".join(new_texts)
        new_result = lint(new_virtual)
        if new_result.module is None or new_result.internal_error:
            outcome.dropped.extend(Dropped(f, "the fixed source could not be analysed") for c in taken for f in c.findings)
            break
        texts, virtual, result = new_texts, new_virtual, new_result
        outcome.result = result
        outcome.applied.extend(Applied(number, c.fix, tuple(c.findings)) for c in taken)
    else:
        more, _ = _choose(virtual, result.findings, unsafe, check_python)
        outcome.converged = not more
    outcome.cells = [text[:-1] if add and text.endswith("\n") else text for text, add in zip(texts, added)]
    return outcome


def unified_diff(original: str, fixed: str, path: str) -> str:
    """A `git apply`-able diff (a/ and b/ prefixes) of one file, with the no-newline markers."""
    before = original.splitlines(keepends=True)
    after = fixed.splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(before, after, f"a/{path}", f"b/{path}"):
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


# --------------------------------------------------------------------------- writing files


class FixWriteError(Exception):
    """The fixed file was not written; the original is untouched."""


class FileChangedError(FixWriteError):
    """The file changed on disk after reglint read it: writing would lose those changes."""


def _snapshot(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_mtime_ns, info.st_size


def _ensure_unchanged(path: Path, data: bytes, snapshot: tuple[int, int]) -> None:
    try:
        now = _snapshot(path)
        current = path.read_bytes()
    except FileNotFoundError:
        raise FileChangedError(f"{path} was removed after it was read; not written") from None
    except OSError as exc:
        raise FixWriteError(f"cannot re-read {path}: {exc.strerror or exc}") from None
    if current != data or now != snapshot:
        raise FileChangedError(f"{path} changed on disk after it was read; not written (run reglint again)")


def write_atomic(path: Path, data: bytes, original: bytes, snapshot: tuple[int, int]) -> None:
    """Replace the contents of `path` with `data`, all or nothing, unless it no longer holds
    `original`.

    The new bytes go to a temporary file beside it (same file system, so `os.replace` is atomic),
    which is flushed and fsync'ed and given the original's mode (and owner, where allowed) before it
    replaces the file. On any failure the temporary file is removed and the original is untouched.

    A file with other hard links keeps its identity instead (every link sees the fix): once the
    complete new text is safe in the temporary file, it is written through the file's own inode
    and the temporary file is removed. That one write is not atomic: if it is interrupted, the
    temporary file (`.NAME.*.reglint-tmp` beside it) still holds the whole fixed text.
    """
    _ensure_unchanged(path, original, snapshot)
    info = os.stat(path)
    directory = path.parent
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".reglint-tmp", dir=directory)
    except OSError as exc:
        raise FixWriteError(f"cannot write beside {path}: {exc.strerror or exc}") from None
    temp = Path(temp_name)
    in_place = False
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        if hasattr(os, "chown"):
            try:
                if (info.st_uid, info.st_gid) != (os.stat(temp).st_uid, os.stat(temp).st_gid):
                    os.chown(temp, info.st_uid, info.st_gid)
            except OSError:
                pass
        _ensure_unchanged(path, original, snapshot)  # as late as possible before the swap
        if info.st_nlink > 1:
            in_place = True  # from here on the temporary file is the only complete copy
            _write_in_place(path, data)
            temp.unlink()
        else:
            os.replace(temp, path)
    except BaseException as exc:
        if not in_place:
            try:
                temp.unlink()
            except OSError:
                pass
        if isinstance(exc, FixWriteError) or not isinstance(exc, Exception):
            raise
        kept = f" (the fixed text is in {temp})" if in_place else ""
        raise FixWriteError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}{kept}") from exc
    _fsync_directory(directory)


def _write_in_place(path: Path, data: bytes) -> None:
    """Overwrite a hard-linked file through its own inode, so every link keeps seeing it."""
    fd = os.open(path, os.O_WRONLY)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- fixing a file


@dataclass
class FileFix:
    """What `--fix` / `--diff` did to one file."""

    path: str
    outcome: Optional[FixOutcome] = None
    written: bool = False
    diff: str = ""
    error: Optional[str] = None  # why the fixed text was not written (the file is untouched)
    skipped: Optional[str] = None  # why the file was not fixed at all

    @property
    def fixed(self) -> int:
        """Findings fixed in the file on disk."""
        return self.outcome.fixed if self.outcome is not None and self.written else 0

    @property
    def would_fix(self) -> int:
        """Findings the fixes resolve (written or, with --diff, only shown)."""
        return self.outcome.fixed if self.outcome is not None and not self.error else 0

    @property
    def result(self) -> Optional[FileResult]:
        return self.outcome.result if self.outcome is not None else None


def _encoding(data: bytes) -> str:
    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        return "utf-8"


def fix_bytes(
    data: bytes, path: str, settings: Settings, enabled: frozenset[str], *, unsafe: bool = False
) -> tuple[FileFix, Optional[bytes]]:
    """Fix the bytes of a Python file: the outcome, and the new bytes (None when unchanged or when
    they cannot be written back in the file's own encoding)."""
    if path.endswith(".ipynb"):
        return _fix_notebook_bytes(data, path, settings, enabled, unsafe=unsafe)
    report = FileFix(path)
    text, error = decode(data, path)
    if error is not None or text is None:
        report.skipped = "cannot be decoded"
        return report, None
    encoding = _encoding(data)
    try:
        round_trip = text.encode(encoding)
    except (UnicodeError, LookupError):
        round_trip = b""
    if round_trip != data:
        # Writing the text back would change bytes no fix touched (an odd encoding): leave it.
        report.skipped = f"its bytes do not round-trip through {encoding}"
        return report, None
    outcome = fix_text(text, path, settings, enabled, unsafe=unsafe)
    report.outcome = outcome
    if outcome.refused:
        report.skipped = outcome.refused
    if not outcome.changed:
        return report, None
    report.diff = unified_diff(text, outcome.text, path)
    try:
        return report, outcome.text.encode(encoding)
    except UnicodeError:
        report.error = f"the fixed source cannot be written in the file's encoding ({encoding})"
        report.outcome = FixOutcome(original=text, text=text, result=lint_text(text, path, settings, enabled))
        return report, None


def _fix_notebook_bytes(
    data: bytes, path: str, settings: Settings, enabled: frozenset[str], *, unsafe: bool
) -> tuple[FileFix, Optional[bytes]]:
    """Notebooks: a `fix_notebook` of the notebook module if it has one, else `fix_notebook`."""
    try:
        from reglint.engine import notebook
    except ImportError:
        report = FileFix(path, skipped="notebook support is not installed")
        return report, None
    custom = getattr(notebook, "fix_notebook", None)
    if custom is not None:
        return custom(data, path, settings, enabled, unsafe=unsafe)  # type: ignore[no-any-return]
    return fix_notebook(data, path, settings, enabled, unsafe=unsafe)


def _json_layout(text: str, document: object) -> Optional[dict[str, object]]:
    """The json.dumps options that reproduce `text` exactly (nbformat writes indent=1), if any."""
    trailer = text[len(text.rstrip("\r\n")) :]
    for indent in (1, 2, 4, None):
        for ensure_ascii in (False, True):
            options: dict[str, object] = {"indent": indent, "ensure_ascii": ensure_ascii}
            if json.dumps(document, **options) + trailer == text:  # type: ignore[arg-type]
                options["trailer"] = trailer
                return options
    return None


def fix_notebook(
    data: bytes, path: str, settings: Settings, enabled: frozenset[str], *, unsafe: bool = False
) -> tuple[FileFix, Optional[bytes]]:
    """Fix the code cells of an `.ipynb` (nbformat 4), analysed together as `reglint check` lints
    them, and write the notebook JSON back in its own layout (only the changed cells' sources
    differ). IPython lines (magics, shell and help lines) are never edited: a fix that would touch
    one or move it is not applied. A notebook whose JSON would not come back byte for byte is left
    alone."""
    from reglint.engine import notebook as nb

    report = FileFix(path)
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8-sig")
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        report.skipped = "it is not a readable notebook"
        return report, None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        report.skipped = "only nbformat 4 notebooks are fixed"
        return report, None
    if not nb.is_python(document):
        return report, None
    layout = _json_layout(text, document)
    if layout is None:
        report.skipped = "its JSON layout would not survive a rewrite"
        return report, None
    raws = document["cells"]
    entries = []  # (raw cell, cell, its lines, its Python lines, masked line numbers, exact)
    for cell, raw in zip(nb.read_cells(document), raws):
        if cell.kind != "code" or not isinstance(raw, dict) or "source" not in raw:
            continue
        lines, error = nb.python_lines(cell, path)
        if error is not None or not lines:
            continue
        original = cell.source.splitlines()
        exact = "\n".join(original) + ("\n" if cell.source.endswith("\n") else "") == cell.source and len(original) == len(lines)
        masked = frozenset(k for k in range(min(len(lines), len(original))) if lines[k] != original[k])
        entries.append((raw, cell, original, lines, masked, exact))
    if not entries:
        return report, None

    def editable(index: int, start: int, end: int, replacement: str, text: str) -> Optional[str]:
        _, _, _, _, masked, exact = entries[index]
        if not exact:
            return "the cell's text cannot be written back exactly"
        if not masked:
            return None
        first = text.count("\n", 0, start)
        last = text.count("\n", 0, max(start, end - 1))
        if any(first <= k <= last for k in masked):
            return "it would edit an IPython line of the cell"
        if replacement.count("\n") != text.count("\n", start, end):
            return "it would move the IPython lines of the cell"
        return None

    texts = ["".join(line + "\n" for line in entry[3]) for entry in entries]
    outcome = fix_cells(texts, lambda t: lint_text(t, path, settings, enabled), unsafe=unsafe, editable=editable)
    line_map = [(entry[1].index, number) for entry in entries for number in range(1, len(entry[3]) + 1)]
    dropped = [Dropped(_cell_finding(d.finding, line_map), d.reason) for d in outcome.dropped]
    if not outcome.changed:
        report.outcome = FixOutcome(text, text, None, dropped=dropped, converged=outcome.converged)
        return report, None
    for entry, before, after in zip(entries, texts, outcome.cells):
        if before == after:
            continue
        raw, cell, original, _, masked, _ = entry
        new_lines = after.split("\n")[:-1]
        for k in masked:
            new_lines[k] = original[k]
        source = "\n".join(new_lines) + ("\n" if cell.source.endswith("\n") else "")
        raw["source"] = source.splitlines(keepends=True) if isinstance(raw["source"], list) else source
    trailer = str(layout.pop("trailer"))
    new_text = json.dumps(document, **layout) + trailer  # type: ignore[arg-type]
    new_data = (b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8")
    result = nb.lint_notebook(new_data, path, settings, enabled)
    report.outcome = FixOutcome(text, new_text, result, applied=outcome.applied, dropped=dropped, converged=outcome.converged)
    report.diff = unified_diff(text, new_text, path)
    return report, new_data


def _cell_finding(finding: Finding, line_map: list[tuple[int, int]]) -> Finding:
    if finding.line is None or not (1 <= finding.line <= len(line_map)):
        return finding
    cell, line = line_map[finding.line - 1]
    return dataclasses.replace(finding, cell=cell, line=line, end_line=line)


def fix_file(
    path: Path,
    settings: Settings,
    enabled: frozenset[str],
    *,
    unsafe: bool = False,
    write: bool = True,
    display: Optional[str] = None,
) -> FileFix:
    """Read, fix and (with `write`) atomically rewrite one file; `--diff` passes write=False."""
    shown = display or str(path)
    real = Path(os.path.realpath(path))  # write through a symlink, keep the link
    try:
        snapshot = _snapshot(real)
        data = real.read_bytes()
    except OSError as exc:
        return FileFix(shown, skipped=f"cannot read: {exc.strerror or exc}")
    report, new_data = fix_bytes(data, shown, settings, enabled, unsafe=unsafe)
    if new_data is None or not write:
        return report
    try:
        write_atomic(real, new_data, data, snapshot)
    except FixWriteError as exc:
        report.error = str(exc)
        # The file keeps its original text: report what is in it, not what would have been.
        report.outcome = _unchanged(report.outcome)
        return report
    report.written = True
    return report


def _unchanged(outcome: Optional[FixOutcome]) -> Optional[FixOutcome]:
    if outcome is None:
        return None
    return FixOutcome(original=outcome.original, text=outcome.original, result=None, dropped=outcome.dropped)


# --------------------------------------------------------------------------- a whole check run


SettingsFor = Callable[[Path], tuple[Settings, frozenset[str]]]


def _carry(new: FileResult, old: FileResult) -> FileResult:
    new.path = old.path
    return new


def settings_lookup(overrides: Overrides, resolver: ConfigResolver) -> SettingsFor:
    """Per-file settings and enabled codes, as `check` computes them."""
    from reglint.engine.session import _enabled

    known: dict[int, tuple[Settings, frozenset[str]]] = {}

    def lookup(path: Path) -> tuple[Settings, frozenset[str]]:
        base = resolver.for_path(path)
        if id(base) not in known:
            settings = overrides.apply(base)
            known[id(base)] = (settings, _enabled(settings))
        return known[id(base)]

    return lookup


def _may_have_fix(result: object, unsafe: bool) -> bool:
    """A result worth re-linting for fixes: a finding with a wanted fix, or of a rule that has
    fixes (a result from an older cache may lack the fix itself)."""
    from reglint.registry import all_rules

    rules = all_rules()
    for finding in getattr(result, "findings", ()):
        if wanted(finding.fix, unsafe):
            return True
        info = rules.get(finding.code)
        if finding.fix is None and info is not None and info.fix is not None:
            return True
    return False


@dataclass
class CheckFixes:
    """What `check --fix` / `--diff` did, for the CLI to report."""

    results: list[object] = field(default_factory=list)  # the run's results, fixed files re-linted
    files: list[FileFix] = field(default_factory=list)
    stdin_output: Optional[bytes] = None  # `--fix` of '-': the fixed source, for stdout
    diff: str = ""
    messages: list[str] = field(default_factory=list)  # warnings and errors for stderr

    @property
    def fixed(self) -> int:
        return sum(f.fixed for f in self.files)

    @property
    def would_fix(self) -> int:
        return sum(f.would_fix for f in self.files)

    @property
    def failed(self) -> bool:
        """A fixed file could not be written: the CLI exits 2."""
        return any(f.error for f in self.files)

    @property
    def findings(self) -> list[Finding]:
        out = [f for r in self.results for f in getattr(r, "findings", ())]
        out.sort(key=lambda f: f.sort_key)
        return out


def fix_check_run(
    results: Sequence[object],
    overrides: Overrides,
    resolver: ConfigResolver,
    *,
    unsafe: bool = False,
    write: bool = True,
    stdin: Optional[tuple[bytes, str, Path]] = None,
) -> CheckFixes:
    """Fix the files of a `check` run. `stdin` is (data, display name, path for the settings) of
    source read from '-': it is never written anywhere; `--fix` returns its fixed text instead."""
    lookup = settings_lookup(overrides, resolver)
    out = CheckFixes()
    if stdin is not None:
        data, display, settings_path = stdin
        settings, enabled = lookup(settings_path)
        report, new_data = fix_bytes(data, display, settings, enabled, unsafe=unsafe)
        out.files.append(report)
        if write:
            # Source from stdin goes back to stdout, fixed (like an editor's format-on-save).
            report.written = new_data is not None
            out.stdin_output = new_data if new_data is not None else data
        else:
            out.diff += report.diff
        keep = write or new_data is None
        out.results.append(report.result if keep and report.result is not None else lint_bytes(data, display, settings, enabled))
    for result in results:
        path_text = getattr(result, "path", "")
        if not _may_have_fix(result, unsafe):
            out.results.append(result)
            continue
        settings, enabled = lookup(Path(path_text))
        report = fix_file(Path(path_text), settings, enabled, unsafe=unsafe, write=write, display=path_text)
        out.files.append(report)
        out.diff += report.diff
        if write and report.written and report.result is not None:
            out.results.append(_carry(report.result, result))  # type: ignore[arg-type]
        else:
            out.results.append(result)
    for report in out.files:
        if report.error:
            out.messages.append(f"reglint: error: {report.error}")
        for item in report.outcome.dropped if report.outcome is not None else ():
            where = f"{report.path}:{item.finding.line}:{item.finding.column}"
            out.messages.append(f"reglint: warning: {where}: {item.finding.code} fix not applied: {item.reason}")
        if report.outcome is not None and not report.outcome.converged:
            out.messages.append(f"reglint: warning: {report.path}: fixes did not settle after {MAX_PASSES} passes; run --fix again")
        refused = report.result.fixes_refused if report.result is not None else None
        if report.skipped and report.skipped != refused and (report.result is None or _may_have_fix(report.result, unsafe)):
            out.messages.append(f"reglint: warning: {report.path}: not fixed: {report.skipped}")
    return out


__all__ = [
    "Applied",
    "Dropped",
    "CellsOutcome",
    "CheckFixes",
    "FileChangedError",
    "FileFix",
    "FixOutcome",
    "FixWriteError",
    "MAX_PASSES",
    "apply_fixes",
    "fix_bytes",
    "fix_cells",
    "fix_check_run",
    "fix_notebook",
    "fix_file",
    "fix_source",
    "fix_text",
    "fixable",
    "parses",
    "unified_diff",
    "wanted",
    "write_atomic",
]
