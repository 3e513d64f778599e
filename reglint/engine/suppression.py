"""Inline suppression comments.

`# reglint: ignore[RL101]` and `# noqa: RL101` (several codes, comma- or space-separated) on a
finding's line silence it. A bare `# noqa` names no codes and so silences nothing: reglint's
findings are about the math of training, not style, and should not vanish under a blanket noqa.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Optional

_REGLINT = re.compile(r"reglint\s*:\s*ignore\s*\[([^\]]*)\]", re.IGNORECASE)
_NOQA = re.compile(r"noqa\s*:\s*([A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Python's line breaks (str.splitlines knows more)


@dataclass
class Suppression:
    line: int
    column: int
    codes: tuple[str, ...]
    used: set[str] = field(default_factory=set)


def _parse_comment(text: str) -> tuple[str, ...]:
    codes: list[str] = []
    for match in _REGLINT.finditer(text):
        codes.extend(c.upper() for c in _CODE.findall(match.group(1)))
    for match in _NOQA.finditer(text):
        codes.extend(c.upper() for c in _CODE.findall(match.group(1)) if c.upper().startswith("RL"))
    return tuple(dict.fromkeys(codes))


def _comments(source: str) -> list[tuple[int, int, str]]:
    try:
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        return [(tok.start[0], tok.start[1], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # Fall back to a line scan: a `#` inside a string may then be read as a comment, which
        # can only add suppressions the user wrote anyway.
        out = []
        for number, line in enumerate(source.splitlines(), start=1):
            index = line.find("#")
            if index >= 0:
                out.append((number, index, line[index:]))
        return out


class Suppressions:
    def __init__(self, source: str) -> None:
        self.by_line: dict[int, Suppression] = {}
        if "noqa" not in source and "reglint" not in source:
            return
        for line, column, text in _comments(source):
            codes = _parse_comment(text)
            if codes:
                self.by_line[line] = Suppression(line, column, codes)

    def suppresses(self, code: str, lines: tuple[int, ...]) -> bool:
        for line in lines:
            entry = self.by_line.get(line)
            if entry is not None and code in entry.codes:
                entry.used.add(code)
                return True
        return False

    def unused(self) -> list[tuple[Suppression, tuple[str, ...]]]:
        out = []
        for entry in self.by_line.values():
            unused = tuple(code for code in entry.codes if code not in entry.used)
            if unused:
                out.append((entry, unused))
        return out


def suppression_insert(source: str, line: int, code: str) -> Optional[tuple[int, int, str]]:
    """How to make line `line` (1-based) of `source` suppress `code`: (start, end, text), columns
    0-based within the line, to replace that span with. An existing `# reglint: ignore[...]` on the
    line gets the code added inside its brackets; otherwise `  # reglint: ignore[CODE]` goes at
    the end of the line. None when the line does not exist or already suppresses the code.

    Only the spelling is decided here: whether the result still parses (a line ending inside a
    string or with a backslash cannot take a comment) is for the caller to check.
    """
    lines = _LINE_BREAK.split(source)
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    for comment_line, column, comment in _comments(source):
        if comment_line != line:
            continue
        if code in _parse_comment(comment):
            return None
        match = _REGLINT.search(comment)
        if match is not None:
            inside = match.group(1)
            at = column + match.end(1) - len(inside) + len(inside.rstrip())
            return at, at, f", {code}" if inside.strip() else code
    end = len(text.rstrip())
    return end, len(text), f"  # reglint: ignore[{code}]"
