"""Lint one source: parse it, analyse it once, run the enabled rules, apply suppressions."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import libcst as cst

from reglint.analysis import analyze_module
from reglint.checks import STATIC_RULES, edits
from reglint.checks.base import CheckContext, Report
from reglint.engine.config import Settings
from reglint.engine.readable import (
    Readable,
    Region,
    error_line,
    prepare,
    python_tree,
    without_statement,
)
from reglint.engine.source import decode, edit_context, parse_error, physical_lines
from reglint.engine.suppression import Suppressions
from reglint.model import Applicability, Finding, Fix, Note
from reglint.registry import PARSE_ERROR, UNUSED_SUPPRESSION

# A parser that may reuse earlier work: the module of a text and its node positions, or None.
Parser = Callable[[str], Optional[tuple[cst.Module, object]]]


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    source_lines: Optional[list[str]] = None
    module: Optional[cst.Module] = None
    reports: list[tuple[Finding, Report]] = field(default_factory=list)
    internal_error: Optional[str] = None  # a bug in reglint met on this file: reported, exit code 2
    dependencies: dict[str, str] = field(default_factory=dict)  # project modules read: path -> digest
    notes: list[Note] = field(default_factory=list)  # lines not analysed, fixes not offered, and why
    fixes_refused: Optional[str] = None  # why no fix may be applied to this file (None: they may)


def _python_syntax_error(text: str, path: str) -> Optional[Finding]:
    """CPython's own message and position, which users know better than libcst's."""
    error = python_tree(text)
    if isinstance(error, SyntaxError):
        return parse_error(path, f"syntax error: {error.msg}", error.lineno or 1, error.offset or 1)
    return None


def _skip_validation(self: cst.CSTNode) -> None:
    return None


@contextlib.contextmanager
def _parser_output_unvalidated() -> Iterator[None]:
    """libcst validates every node it builds (CSTNode.__post_init__), about a tenth of the time
    `parse_module` takes (a quarter under the profiler); a tree fresh from libcst's own parser is valid by construction (as
    libcst's own comment there says), so the check is switched off while it parses. Nodes
    reglint builds itself (fixes) are still validated."""
    original = cst.CSTNode.__dict__.get("__post_init__")
    if original is None:  # a libcst that does it differently: change nothing
        yield
        return
    cst.CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        cst.CSTNode.__post_init__ = original  # type: ignore[method-assign]


def parse_module(text: str) -> cst.Module:
    with _parser_output_unvalidated():
        return cst.parse_module(text)


@dataclass
class Parsed:
    """libcst's tree of a text (or of the copy `text` it read instead: same lines and columns
    outside `regions`; see readable.py), or the RL000 finding."""

    module: Optional[cst.Module]
    error: Optional[Finding]
    text: str
    regions: list[Region] = field(default_factory=list)


# How many statements libcst rejects (while CPython accepts them) are left out before giving up.
MAX_UNREADABLE_STATEMENTS = 20


def read(text: str, path: str, tree: Optional[ast.Module] = None) -> Parsed:
    """libcst's tree of `text` as CPython reads it, or the RL000 finding CPython itself would give.

    CPython reads the text first (readable.py): nesting it rejects is RL000 without libcst (whose
    native parser can crash on it), expressions too deep for libcst are replaced, and statements
    libcst rejects although CPython accepts them are left out, each as a region the caller
    reports. libcst rejects some tab/space mixes that CPython reads with its 8-column tab rule:
    those are retried with the leading tabs expanded (same lines, other columns on those lines).
    `tree`: CPython's tree of `text`, if the caller has it.
    """
    readable = prepare(text, tree)
    if readable.python_error is not None:
        message, line, column = readable.python_error
        return Parsed(None, parse_error(path, message, line, column), text)
    tabs_tried = False
    while True:
        try:
            return Parsed(parse_module(readable.text), None, readable.text, readable.regions)
        except cst.ParserSyntaxError as exc:
            first = str(exc.message).strip().splitlines()[0] if str(exc.message).strip() else "invalid syntax"
            if not readable.python_accepts:
                python_error = _python_syntax_error(text, path)
                if python_error is not None:
                    return Parsed(None, python_error, text)
            if "\t" in readable.text and not tabs_tried:
                tabs_tried = True
                retried, expanded = _parse_expanded_tabs(readable.text)
                if retried is not None and expanded is not None:
                    return Parsed(retried, None, expanded, readable.regions)
            if not readable.python_accepts:
                message = re.sub(r"^(parser error: )?error at \d+:\d+: ", "", first)
                return Parsed(None, parse_error(path, f"syntax error: {message}", exc.editor_line, exc.editor_column), text)
            line = error_line(first, exc.editor_line)
            reason = "libcst's parser stops on it"
            if len(readable.regions) < MAX_UNREADABLE_STATEMENTS and without_statement(readable, line, reason):
                continue
            return _unreadable(readable, reason)
        except RecursionError:
            if not readable.python_accepts:
                return Parsed(None, _python_syntax_error(text, path) or parse_error(path, "nesting too deep to parse"), text)
            return _unreadable(readable, "libcst: nesting too deep")
        except Exception as exc:  # libcst raises a few non-ParserSyntaxError errors on odd input
            if not readable.python_accepts:
                return Parsed(None, _python_syntax_error(text, path) or parse_error(path, f"cannot parse: {type(exc).__name__}: {exc}"), text)
            return _unreadable(readable, f"libcst: {type(exc).__name__}: {exc}")


def _unreadable(readable: Readable, reason: str) -> Parsed:
    """libcst cannot read a text CPython accepts: nothing is analysed, and that is not a parse error."""
    region = Region(
        1,
        max(1, readable.text.count("\n") + 1),
        1,
        f"libcst (the parser reglint's analysis is built on) cannot read this file, which Python "
        f"accepts ({reason}); it was not linted",
    )
    return Parsed(None, None, readable.text, [region])


def parse(text: str, path: str) -> tuple[Optional[cst.Module], Optional[Finding]]:
    """libcst's tree, or the RL000 finding CPython itself would give (see `read`)."""
    parsed = read(text, path)
    return parsed.module, parsed.error


_LEADING_TABS = re.compile(r"(?:^|(?<=[\r\n]))[ \t]+")  # line starts after \n, \r\n or a lone \r


def _parse_expanded_tabs(text: str) -> tuple[Optional[cst.Module], Optional[str]]:
    expanded = _LEADING_TABS.sub(lambda m: m.group(0).expandtabs(8), text)
    try:
        return parse_module(expanded), expanded
    except Exception:
        return None, None


def lint_text(
    text: str,
    path: str,
    settings: Settings,
    enabled: frozenset[str],
    parse_text: Optional[str] = None,
    parse_tree: Optional[ast.Module] = None,
    line_label: Optional[Callable[[int], str]] = None,
    parser: Optional[Parser] = None,
) -> FileResult:
    """Lint one decoded file. `parse_text`: what libcst parses instead of `text`, line for line the
    same where it matters (the prefilter's pruned copy); suppressions and code frames come from
    `text`, and if `parse_text` does not parse, `text` is parsed as without it. `parse_tree`:
    CPython's tree of `parse_text` (or of `text` when there is none), if the caller has it.
    `line_label`: how a message names another line of this text (a notebook's `cell 4, line 2`).
    `parser`: a parser that may know earlier versions of the text (the language server's,
    engine/incremental.py), asked first; where it gives None the text is read here."""
    result = FileResult(path=path, source_lines=text.splitlines())
    parsed: Optional[Parsed] = None
    if parser is not None:
        target = parse_text if parse_text is not None else text
        known = parser(target)
        if known is not None:
            incremental, positions = known
            # Its positions are reused; libcst's rendering is still compared with the text before
            # any fix is offered (_Placement), as for a file parsed here.
            edits.provide(incremental, positions=positions)
            parsed = Parsed(incremental, None, target)
    if parsed is None and parse_text is not None:
        parsed = read(parse_text, path, parse_tree)
    if parsed is None or parsed.module is None:
        parsed = read(text, path, parse_tree if parse_text is None else None)
    result.notes = [Note(path, r.line, r.column, r.message) for r in parsed.regions]
    if parsed.error is not None:
        if PARSE_ERROR.code in enabled and PARSE_ERROR.code not in settings.ignored_for(path):
            result.findings.append(parsed.error)
        return result
    module = parsed.module
    if module is None:
        return result  # libcst cannot read a file CPython accepts: the note says so
    result.module = module
    try:
        raw, result.dependencies = _run_rules(module, settings, enabled, text, path, line_label)
    except RecursionError:
        result.internal_error = "code nested too deeply to analyse"
        return result
    except Exception as exc:  # a bug in reglint must not stop the other files
        import traceback

        result.internal_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        return result
    file_ignores = set(settings.ignored_for(path))
    suppressions = Suppressions(text)
    if raw:
        try:
            placed = _Placement(module, parsed.text, text)
        except RecursionError:
            result.internal_error = "code nested too deeply to locate findings"
            return result
        if placed.refusal is not None:
            result.fixes_refused = placed.refusal
            result.notes.append(Note(path, placed.first_difference, 1, f"no fix offered for this file: {placed.refusal}"))
        seen: set[tuple[str, int, int]] = set()
        for code, report in raw:
            try:
                placed.positions[report.node]
            except KeyError:
                continue  # a node of another module's code: that module's finding, not this file's
            finding = placed.finding(code, report, path)
            key = (code, finding.line or 0, finding.column or 0)
            if key in seen or code in file_ignores:
                continue
            seen.add(key)
            lines = tuple({finding.line or 0, finding.end_line or 0})
            if suppressions.suppresses(code, lines):
                continue
            result.findings.append(finding)
            result.reports.append((finding, report))
    if UNUSED_SUPPRESSION.code in enabled and UNUSED_SUPPRESSION.code not in file_ignores:
        result.findings.extend(_unused(suppressions, path, enabled))
    result.findings.sort(key=lambda f: f.sort_key)
    return result


def _run_rules(
    module: cst.Module,
    settings: Settings,
    enabled: frozenset[str],
    source: Optional[str] = None,
    path: Optional[str] = None,
    line_label: Optional[Callable[[int], str]] = None,
) -> tuple[list[tuple[str, Report]], dict[str, str]]:
    """The enabled rules' reports, and the project modules the analysis read (path -> digest)."""
    facts = analyze_module(module, source, on_disk(path))
    facts.line_label = line_label
    context = CheckContext(settings=settings, facts=facts)
    raw: list[tuple[str, Report]] = []
    for code, rule in STATIC_RULES.items():
        if code in enabled:
            raw.extend((code, report) for report in rule.check(context))
    return raw, facts.dependencies


def on_disk(path: Optional[str]) -> Optional[Path]:
    """The file a linted text is (so its project's modules can be read), if it is one."""
    if not path or path == "-":
        return None
    candidate = Path(path)
    return candidate if candidate.is_file() else None


class _Placement:
    """Where libcst's positions point in the text the user wrote, and the context each fix's
    edits must find there before they are applied.

    libcst's positions count in its own rendering of the tree (`module.code`). Where that is the
    text it read, they are exact there; where it is not (libcst dropped or changed characters),
    positions are carried over line by line where the lines agree, and no fix is offered: an
    edit computed from such positions could replace the wrong characters. The text it read
    (`read_text`) has the same lines as the user's `text` (readable.py); a line that differs
    (a replaced region, tabs expanded) keeps the columns of its common prefix and suffix.
    """

    def __init__(self, module: cst.Module, read_text: str, text: str) -> None:
        from reglint.checks import edits

        self.positions = edits.positions(module)
        code, self.rendered = edits.rendering(module)
        self.refusal: Optional[str] = None
        self.first_difference = 1
        self.to_read: Optional[dict[int, int]] = None
        if not read_text.startswith(code):
            read_lines = physical_lines(read_text)
            self.first_difference = _first_difference(self.rendered, read_lines)
            self.refusal = (
                "libcst's rendering of it differs from the file "
                f"(from line {self.first_difference} on), so positions computed from it cannot be trusted"
            )
            self.to_read = _line_map(self.rendered, read_lines)
        self.read_lines = physical_lines(read_text) if read_text != text else None
        self.text_lines = physical_lines(text) if read_text != text else None

    def _place(self, line: int, column: int) -> tuple[int, int]:
        """A 1-based line and 1-based column of libcst's rendering, in the user's text."""
        if self.to_read is not None:
            line = self.to_read.get(line, line)
        if self.read_lines is None or self.text_lines is None:
            return line, column
        if not (1 <= line <= min(len(self.read_lines), len(self.text_lines))):
            return line, column
        read_line, text_line = self.read_lines[line - 1], self.text_lines[line - 1]
        if read_line == text_line:
            return line, column
        prefix = _common_prefix(read_line, text_line)
        if column - 1 <= prefix:
            return line, column
        suffix = _common_prefix(read_line[::-1], text_line[::-1])
        if len(read_line) - (column - 1) <= suffix:
            return line, column + len(text_line) - len(read_line)
        return line, min(column, len(text_line) + 1)

    def finding(self, code: str, report: Report, path: str) -> Finding:
        info = STATIC_RULES[code].info
        where = self.positions[report.node]
        line, column = self._place(where.start.line, where.start.column + 1)
        end_line, end_column = self._place(where.end.line, where.end.column + 1)
        if (end_line, end_column) < (line, column):
            end_line, end_column = line, column
        return Finding(
            code=code,
            name=info.name,
            severity=info.severity,
            message=report.message,
            path=path,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            fix=self._anchored(report.fix, where.start.line, where.start.column + 1, where.end.line),
        )

    def _anchored(self, fix: Optional[Fix], line: int, column: int, end_line: int) -> Optional[Fix]:
        """The fix with the rendering's lines around each of its edits, which the text must
        still hold when the fix is applied; no fix where positions cannot be trusted."""
        if fix is None or self.refusal is not None:
            return None
        edits = tuple(
            dataclasses.replace(e, context=edit_context(self.rendered, e.line, e.column, e.end_line)) for e in fix.edits
        )
        return dataclasses.replace(fix, edits=edits, context=edit_context(self.rendered, line, column, end_line))


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _first_difference(rendered: list[str], read_lines: list[str]) -> int:
    for number, (a, b) in enumerate(zip(rendered, read_lines), start=1):
        if a != b:
            return number
    return min(len(rendered), len(read_lines)) + 1


def _line_map(rendered: list[str], read_lines: list[str]) -> dict[int, int]:
    """Lines of libcst's rendering -> lines of the text it read, where blocks of lines agree
    (and, in a changed block of as many lines on both sides, line for line)."""
    import difflib

    mapping: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, rendered, read_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(i2 - i1):
                mapping[i1 + k + 1] = j1 + k + 1
        elif tag == "replace":
            for k in range(i2 - i1):
                mapping[i1 + k + 1] = min(j1 + k, j2 - 1) + 1
    return mapping


def _unused(suppressions: Suppressions, path: str, enabled: frozenset[str]) -> Iterable[Finding]:
    for entry, codes in suppressions.unused():
        # Only codes of rules that ran can be called unused: a disabled rule never had a chance.
        codes = tuple(c for c in codes if c in enabled or c not in STATIC_RULES)
        if not codes:
            continue
        yield Finding(
            code=UNUSED_SUPPRESSION.code,
            name=UNUSED_SUPPRESSION.name,
            severity=UNUSED_SUPPRESSION.severity,
            message=f"suppression of {', '.join(codes)} matches no finding on this line",
            path=path,
            line=entry.line,
            column=entry.column + 1,
            end_line=entry.line,
            end_column=entry.column + 1,
            fix=None,
        )


def lint_file(path: Path, settings: Settings, enabled: frozenset[str], display: Optional[str] = None) -> FileResult:
    shown = display or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        result = FileResult(path=shown)
        result.findings.append(parse_error(shown, f"cannot read: {exc.strerror or exc}"))
        return result
    return lint_bytes(data, shown, settings, enabled)


def lint_bytes(data: bytes, path: str, settings: Settings, enabled: frozenset[str]) -> FileResult:
    if path.endswith(".ipynb"):
        from reglint.engine.notebook import lint_notebook

        return lint_notebook(data, path, settings, enabled)
    text, error = decode(data, path)
    if error is not None:
        result = FileResult(path=path)
        if PARSE_ERROR.code in enabled and PARSE_ERROR.code not in settings.ignored_for(path):
            result.findings.append(error)
        return result
    assert text is not None
    return lint_text(text, path, settings, enabled)


__all__ = ["FileResult", "lint_bytes", "lint_file", "lint_text", "Applicability", "Fix"]
