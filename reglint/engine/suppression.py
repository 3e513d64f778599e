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

_REGLINT = re.compile(r"reglint\s*:\s*ignore\s*\[([^\]]*)\]", re.IGNORECASE)
_NOQA = re.compile(r"noqa\s*:\s*([A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+")


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
