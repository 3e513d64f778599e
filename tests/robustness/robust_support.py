"""Shared pieces of the robustness suite: example budgets, time limits, and the invariants every
lint result must satisfy whatever the input."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pkgutil
import re
import signal
import tokenize
from pathlib import Path
from typing import Iterator, Optional

from reglint.engine.config import Settings
from reglint.engine.runner import FileResult, lint_bytes
from reglint.engine.session import _enabled
from reglint.registry import PARSE_ERROR, all_rules

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
ENABLED = _enabled(Settings(select=("ALL",)))
RULES = all_rules()
# Lines end at \r\n, \r or \n for Python's tokenizer (not at \f, \v or U+2028 as str.splitlines has it).
NEWLINE = re.compile(rb"\r\n|\r|\n")

def long_factor() -> int:
    """1 in CI; 20 with REGLINT_LONG_FUZZ=1 (or --long-fuzz); N with REGLINT_LONG_FUZZ=N (N > 1)."""
    value = os.environ.get("REGLINT_LONG_FUZZ", "").strip().lower()
    if value in ("", "0", "false", "no"):
        return 1
    return int(value) if value.isdigit() and int(value) > 1 else 20


def examples(n: int) -> int:
    """`n` examples in CI, 20x (or REGLINT_LONG_FUZZ x) with the long flag."""
    return n * long_factor()


class TimeLimit(BaseException):
    """Raised by `time_limit`; a BaseException so the engine's `except Exception` cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str = "lint") -> Iterator[None]:
    """Fail instead of hanging when the engine blows up exponentially (SIGALRM, main thread only)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise TimeLimit(f"{what} took more than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def line_count(data: bytes) -> int:
    return len(NEWLINE.split(data))


def python_parse_verdict(data: bytes) -> Optional[bool]:
    """True: CPython decodes and parses it; False: it cannot (SyntaxError, decode error);
    None: no verdict (CPython itself gave up with RecursionError/MemoryError)."""
    import ast
    import warnings

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return False
    if "\x00" in text:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError:
        return False
    except (RecursionError, MemoryError, ValueError):
        return None
    return True


def lint(data: bytes, path: str = "fuzz.py", seconds: float = 60.0) -> FileResult:
    with time_limit(seconds, f"linting {len(data)} bytes"):
        return lint_bytes(data, path, Settings(), ENABLED)


def check_invariants(data: bytes, result: FileResult, path: str = "fuzz.py") -> None:
    """What every result must satisfy: no internal error, known codes, locations inside the file."""
    assert result.internal_error is None, f"internal error: {result.internal_error}"
    lines = line_count(data)
    for f in result.findings:
        assert f.code in ENABLED, f"unregistered or not enabled code {f.code}"
        info = RULES[f.code]
        assert f.name == info.name and f.severity == info.severity, f
        assert f.path == path, f
        assert isinstance(f.message, str) and f.message.strip(), f
        assert f.line is not None and f.column is not None, f
        assert 1 <= f.line <= lines + 1, f"line {f.line} outside a {lines}-line file: {f}"
        assert f.column >= 1, f
        if f.end_line is not None:
            assert f.end_line >= f.line and f.end_line <= lines + 1, f
            if f.end_line == f.line and f.end_column is not None:
                assert f.end_column >= f.column, f
    parse_errors = [f for f in result.findings if f.code == PARSE_ERROR.code]
    if parse_errors:
        assert len(result.findings) == 1, f"RL000 must be the only finding: {result.findings}"


MIXED_INDENT = re.compile(rb"(?m)^[ \t]*(?: \t|\t )")


def check_parse_oracle(data: bytes, result: FileResult, mixed_indent: bool = False) -> None:
    """An input CPython rejects gives exactly one RL000; one it accepts is linted (no RL000).

    libcst's tokenizer rejects some tab/space mixes CPython accepts (see test_bad_inputs'
    test_mixed_tabs_and_spaces_cpython_accepts); the property tests leave those inputs to that
    test unless `mixed_indent` asks for them, so that they keep finding other failures.
    """
    verdict = python_parse_verdict(data)
    codes = [f.code for f in result.findings]
    if verdict is False:
        assert codes == [PARSE_ERROR.code], f"CPython rejects this input, reglint reported {codes}"
    elif verdict is True and (mixed_indent or not MIXED_INDENT.search(data)):
        assert PARSE_ERROR.code not in codes, f"CPython parses this input, reglint says {result.findings[0].message}"


# ------------------------------------------------------------------------------------------ seeds


def fixture_sources() -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(FIXTURES.rglob("*.py")):
        rel = path.relative_to(FIXTURES)
        if rel.parts[0] in ("audit", "never_run"):
            continue
        out.append((str(rel), path.read_bytes()))
    return out


def rule_snippets() -> list[tuple[str, bytes]]:
    import textwrap

    import reglint.checks as checks

    out = []
    for info in pkgutil.iter_modules(checks.__path__):
        module = importlib.import_module(f"reglint.checks.{info.name}")
        for kind in ("VALID", "INVALID"):
            for i, snippet in enumerate(getattr(module, kind, ()) or ()):
                out.append((f"{info.name}.{kind}[{i}]", textwrap.dedent(snippet).encode("utf-8")))
    return out


def seeds() -> list[tuple[str, bytes]]:
    return fixture_sources() + rule_snippets()
