"""Lint one source: parse it, analyse it once, run the enabled rules, apply suppressions."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import libcst as cst

from reglint.analysis import analyze_module
from reglint.checks import STATIC_RULES
from reglint.checks.base import CheckContext, Report
from reglint.engine.config import Settings
from reglint.engine.source import decode, parse_error
from reglint.engine.suppression import Suppressions
from reglint.model import Applicability, Finding, Fix
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


def _python_syntax_error(text: str, path: str) -> Optional[Finding]:
    """CPython's own message and position, which users know better than libcst's."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text, filename=path)
    except SyntaxError as exc:
        return parse_error(path, f"syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1)
    except (ValueError, RecursionError, MemoryError):
        return None
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


def parse(text: str, path: str) -> tuple[Optional[cst.Module], Optional[Finding]]:
    """libcst's tree, or the RL000 finding CPython itself would give.

    libcst and CPython disagree at the edges: libcst rejects some tab/space mixes that CPython
    reads with its 8-column tab rule (retried with the leading tabs expanded), and accepts
    bracket nesting deeper than CPython's parser allows (checked with CPython when deep).
    """
    try:
        module = parse_module(text)
    except cst.ParserSyntaxError as exc:
        python_error = _python_syntax_error(text, path)
        if python_error is not None:
            return None, python_error
        if "\t" in text:
            retried, _ = _parse_expanded_tabs(text)
            if retried is not None:
                return retried, None
        message = str(exc.message).strip().splitlines()[0] if str(exc.message).strip() else "invalid syntax"
        message = re.sub(r"^(parser error: )?error at \d+:\d+: ", "", message)
        return None, parse_error(path, f"syntax error: {message}", exc.editor_line, exc.editor_column)
    except RecursionError:
        return None, _python_syntax_error(text, path) or parse_error(path, "nesting too deep to parse")
    except Exception as exc:  # libcst raises a few non-ParserSyntaxError errors on odd input
        return None, _python_syntax_error(text, path) or parse_error(
            path, f"cannot parse: {type(exc).__name__}: {exc}"
        )
    if _max_bracket_depth(text) >= _DEEP_BRACKETS:
        python_error = _python_syntax_error(text, path)
        if python_error is not None:
            return None, python_error
    return module, None


_DEEP_BRACKETS = 150  # CPython's parser stops at 200 nested brackets
_LEADING_TABS = re.compile(r"(?:^|(?<=[\r\n]))[ \t]+")  # line starts after \n, \r\n or a lone \r


def _parse_expanded_tabs(text: str) -> tuple[Optional[cst.Module], Optional[str]]:
    expanded = _LEADING_TABS.sub(lambda m: m.group(0).expandtabs(8), text)
    try:
        return parse_module(expanded), expanded
    except Exception:
        return None, None


def _max_bracket_depth(text: str) -> int:
    """An upper bound of bracket nesting (brackets inside strings count too: it only decides
    whether CPython is asked as well)."""
    if text.count("(") + text.count("[") + text.count("{") < _DEEP_BRACKETS:
        return 0
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char in ")]}":
            depth = max(depth - 1, 0)
    return deepest


def lint_text(
    text: str,
    path: str,
    settings: Settings,
    enabled: frozenset[str],
    parse_text: Optional[str] = None,
    parser: Optional[Parser] = None,
) -> FileResult:
    """Lint one decoded file. `parse_text`: what libcst parses instead of `text`, line for line the
    same where it matters (the prefilter's pruned copy); suppressions and code frames come from
    `text`, and if `parse_text` does not parse, `text` is parsed as without it. `parser`: a parser
    that may know earlier versions of the text (the language server's, engine/incremental.py),
    asked first; where it gives None the text is parsed here."""
    result = FileResult(path=path, source_lines=text.splitlines())
    module: Optional[cst.Module] = None
    error: Optional[Finding] = None
    module_text: Optional[str] = None  # the text `module` was parsed from
    positions: object = None  # node positions, when the parser computed them
    if parser is not None:
        parsed = parser(parse_text if parse_text is not None else text)
        if parsed is not None:
            module, positions = parsed
            module_text = parse_text if parse_text is not None else text
    if module is None and parse_text is not None:
        module, error = parse(parse_text, path)
        if error is not None:
            module = None
        module_text = parse_text
    if module is None:
        module, error = parse(text, path)
        module_text = text
    if error is not None:
        if PARSE_ERROR.code in enabled and PARSE_ERROR.code not in settings.ignored_for(path):
            result.findings.append(error)
        return result
    assert module is not None
    result.module = module
    from reglint.checks import edits

    # A text with tabs may have been parsed with its leading tabs expanded (see `parse`).
    expanded = positions is None and module_text is not None and "\t" in module_text
    edits.provide(module, text=None if expanded else module_text, positions=positions)
    try:
        raw = _run_rules(module, settings, enabled, text)
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
            positions = edits.positions(module)
        except RecursionError:
            result.internal_error = "code nested too deeply to locate findings"
            return result
        seen: set[tuple[str, int, int]] = set()
        for code, report in raw:
            finding = _finding(code, report, positions, path)
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
    module: cst.Module, settings: Settings, enabled: frozenset[str], source: Optional[str] = None
) -> list[tuple[str, Report]]:
    facts = analyze_module(module, source)
    context = CheckContext(settings=settings, facts=facts)
    raw: list[tuple[str, Report]] = []
    for code, rule in STATIC_RULES.items():
        if code in enabled:
            raw.extend((code, report) for report in rule.check(context))
    return raw


def _finding(code: str, report: Report, positions: object, path: str) -> Finding:
    info = STATIC_RULES[code].info
    span = positions[report.node]  # type: ignore[index]
    return Finding(
        code=code,
        name=info.name,
        severity=info.severity,
        message=report.message,
        path=path,
        line=span.start.line,
        column=span.start.column + 1,
        end_line=span.end.line,
        end_column=span.end.column + 1,
        fix=report.fix,
    )


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
