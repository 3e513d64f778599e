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

    fix_source(text, lint, unsafe=...)       any text and a function that lints it
    fix_text(text, path, settings, enabled)  Python source, linted as `reglint check` does
    fix_cells(cells, lint_cell, unsafe=...)  a notebook's code cells, each fixed on its own
    fix_file(path, ...)                      read, fix, and write (or diff) one file
    fix_check_run(results, ...)             every file of a `check` run that has a fix to apply
"""

from __future__ import annotations

import ast
import difflib
import io
import os
import re
import stat
import tempfile
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import libcst as cst

from reglint.engine.config import ConfigResolver, Overrides, Settings
from reglint.engine.runner import FileResult, decode, lint_bytes, lint_text
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


class _Lines:
    """(line, column) -> offset, with Python's newlines (\\r\\n, \\r, \\n) and 1-based columns."""

    def __init__(self, text: str) -> None:
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


def _candidates(text: str, findings: Iterable[Finding], unsafe: bool) -> tuple[list[_Candidate], list[Finding]]:
    """Group the wanted fixes by their edits; fixes whose positions do not fit the text are invalid."""
    lines = _Lines(text)
    groups: dict[tuple[Edit, ...], _Candidate] = {}
    invalid: list[Finding] = []
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
        ranges = []
        for edit in found:
            start = lines.offset(edit.line, edit.column)
            end = lines.offset(edit.end_line, edit.end_column)
            if start is None or end is None or end < start:
                break
            ranges.append((start, end, edit.replacement))
        else:
            if not _overlapping(ranges):
                groups[found] = _Candidate(found, fix, [finding], ranges)
                continue
        invalid.append(finding)
    # Outermost first: by start, then the longest span; then by rule code for a stable order.
    ordered = sorted(groups.values(), key=lambda c: (c.start, -c.end, c.findings[0].code, c.edits))
    return ordered, invalid


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
    """libcst accepts it (and, when the original compiled, so does CPython's own parser)."""
    try:
        cst.parse_module(text)
    except Exception:
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
    candidates, invalid = _candidates(text, findings, unsafe)
    dropped = [Dropped(f, "its edits do not fit the source") for f in invalid]
    taken: list[_Candidate] = []
    for candidate in candidates:
        if any(_conflict(r, s) for other in taken for r in candidate.ranges for s in other.ranges):
            continue
        taken.append(candidate)
    if not taken:
        return text, [], dropped
    new_text = _apply(text, (r for c in taken for r in c.ranges))
    if not parses(new_text, check_python):
        # Find the culprits: add the fixes one at a time, keeping those whose result parses.
        kept: list[_Candidate] = []
        new_text = text
        for candidate in taken:
            trial = _apply(text, (r for c in kept + [candidate] for r in c.ranges))
            if parses(trial, check_python):
                kept.append(candidate)
                new_text = trial
            else:
                dropped.extend(Dropped(f, "its result does not parse") for f in candidate.findings)
        taken = kept
    applied = [Applied(pass_number, c.fix, tuple(c.findings)) for c in taken]
    return new_text, applied, dropped


# --------------------------------------------------------------------------- fixing a text


@dataclass
class FixOutcome:
    original: str
    text: str
    result: Optional[FileResult]  # the lint of the final text (None if it could not be linted)
    applied: list[Applied] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    converged: bool = True  # False: fixes still applied after MAX_PASSES passes

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
            for item in applied:
                outcome.dropped.extend(Dropped(f, "the fixed source could not be analysed") for f in item.findings)
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


def fix_cells(
    cells: Sequence[str],
    lint_cell: Callable[[int, str], FileResult],
    *,
    unsafe: bool = False,
    max_passes: int = MAX_PASSES,
) -> list[FixOutcome]:
    """Fix a notebook's code cells: `lint_cell(index, text)` lints one cell's text (its findings in
    that cell's own lines and columns) and each cell is fixed on its own, so a fix never crosses a
    cell boundary. Returns one outcome per cell, in order; `outcome.text` is the cell's new text.

    The notebook reader keeps what is not Python (magics, shell lines) out of the text it passes, or
    masks it so that it parses, and puts it back around the fixed text.
    """
    outcomes = []
    for index, text in enumerate(cells):
        outcomes.append(fix_source(text, lambda t, i=index: lint_cell(i, t), unsafe=unsafe, max_passes=max_passes))
    return outcomes


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
    """Replace `path` with `data`, all or nothing, unless it no longer holds `original`.

    The new bytes go to a temporary file beside it (same file system, so `os.replace` is atomic),
    which is flushed and fsync'ed and given the original's mode (and owner, where allowed) before it
    replaces the file. On any failure the temporary file is removed and the original is untouched.
    """
    _ensure_unchanged(path, original, snapshot)
    info = os.stat(path)
    directory = path.parent
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".reglint-tmp", dir=directory)
    except OSError as exc:
        raise FixWriteError(f"cannot write beside {path}: {exc.strerror or exc}") from None
    temp = Path(temp_name)
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
        os.replace(temp, path)
    except BaseException as exc:
        try:
            temp.unlink()
        except OSError:
            pass
        if isinstance(exc, FixWriteError) or not isinstance(exc, Exception):
            raise
        raise FixWriteError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    _fsync_directory(directory)


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
    """Notebooks: the notebook module reads the cells and writes them back, `fix_cells` fixes them.

    It is expected to provide `fix_notebook(data, path, settings, enabled, unsafe=...)` returning
    `(FixOutcome-like summary, new bytes or None)`; until it does, notebooks are reported, not fixed.
    """
    report = FileFix(path)
    try:
        from reglint.engine import notebook  # type: ignore[attr-defined]
    except ImportError:
        report.skipped = "fixing notebooks is not supported yet"
        return report, None
    fixer = getattr(notebook, "fix_notebook", None)
    if fixer is None:
        report.skipped = "fixing notebooks is not supported yet"
        return report, None
    outcome, new_data = fixer(data, path, settings, enabled, unsafe=unsafe)
    report.outcome = outcome
    if new_data is not None and new_data != data:
        report.diff = unified_diff(data.decode("utf-8", "replace"), new_data.decode("utf-8", "replace"), path)
        return report, new_data
    return report, None


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
        if report.skipped and _may_have_fix(report, unsafe):
            out.messages.append(f"reglint: warning: {report.path}: not fixed: {report.skipped}")
    return out


__all__ = [
    "Applied",
    "Dropped",
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
    "fix_file",
    "fix_source",
    "fix_text",
    "fixable",
    "parses",
    "unified_diff",
    "wanted",
    "write_atomic",
]
