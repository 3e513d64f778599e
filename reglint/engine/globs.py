"""Glob patterns as ruff matches them in `exclude`, `extend-exclude` and `per-file-ignores`.

ruff compiles these patterns with the Rust `globset` crate and its default options:

- `*` matches any run of characters, `/` included (so `tests/*.py` also matches
  `tests/unit/test_x.py`), and `?` any one character;
- `**` as a whole path component matches zero or more directories: `**/test_*.py` matches
  `test_x.py` at the root as well as `a/b/test_x.py`, and `data/**` everything under `data`;
- `[abc]`, `[a-z]`, `[!abc]` (or `[^abc]`) are character classes, `{a,b}` alternatives, and
  `\\` escapes the character after it.

The whole string must match. Paths are matched in POSIX spelling.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Optional


class GlobError(ValueError):
    """A pattern that cannot be compiled (an unclosed `[` or `{`)."""


def glob_to_regex(pattern: str, *, cross_separator: bool = True, braces: bool = True) -> str:
    """The regular expression (without anchors) for `pattern`.

    cross_separator: whether `*` and `?` match `/` (True as in ruff's globset defaults; False as in
    gitignore patterns, where only `**` crosses directories). braces: whether `{a,b}` are
    alternatives (globset) or literal characters (gitignore).
    """
    star = ".*" if cross_separator else "[^/]*"
    one = "." if cross_separator else "[^/]"
    out: list[str] = []
    i, n = 0, len(pattern)
    alternatives = 0  # depth of open `{`
    while i < n:
        char = pattern[i]
        if char == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            if j - i >= 2:
                at_start = i == 0 or pattern[i - 1] == "/"
                at_end = j == n or pattern[j] == "/"
                if at_start and at_end:
                    if j == n:
                        out.append(".*")  # `**` alone or `a/**`: everything below
                    else:
                        out.append("(?:.*/)?")  # `**/`: zero or more directories
                        j += 1
                    i = j
                    continue
            out.append(star)
            i = j
        elif char == "?":
            out.append(one)
            i += 1
        elif char == "[":
            end, cls = _char_class(pattern, i, cross_separator)
            out.append(cls)
            i = end
        elif char == "{" and braces:
            alternatives += 1
            out.append("(?:")
            i += 1
        elif char == "}" and alternatives:
            alternatives -= 1
            out.append(")")
            i += 1
        elif char == "," and alternatives:
            out.append("|")
            i += 1
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    if alternatives:
        raise GlobError(f"unclosed '{{' in glob {pattern!r}")
    return "".join(out)


def _char_class(pattern: str, start: int, cross_separator: bool) -> tuple[int, str]:
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    body: list[str] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            body.append(re.escape(pattern[i + 1]))
            i += 2
        elif char == "-" and body and i + 1 < len(pattern) and pattern[i + 1] != "]":
            body.append("-")
            i += 1
        else:
            body.append(re.escape(char))
            i += 1
        first = False
    if i >= len(pattern):
        raise GlobError(f"unclosed '[' in glob {pattern!r}")
    inner = "".join(body)
    if negate:
        return i + 1, f"[^{inner}{'' if cross_separator else '/'}]"
    return i + 1, f"[{inner}]"


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled for a whole-string match (ruff's semantics)."""
    return re.compile(glob_to_regex(pattern), re.DOTALL)


def compile_any(patterns: Iterable[str]) -> Optional[re.Pattern[str]]:
    """One regex that matches what any of `patterns` matches (None when there are none)."""
    parts = [glob_to_regex(p) for p in patterns]
    if not parts:
        return None
    return re.compile("(?:" + ")|(?:".join(parts) + ")", re.DOTALL)
