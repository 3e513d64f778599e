"""Positions in a document, as reglint and as the Language Server Protocol count them.

reglint reports 1-based lines and 1-based columns counted in code points (libcst's positions, and
an `Edit`'s). LSP counts 0-based lines and 0-based characters in the code units of the position
encoding agreed at initialization (UTF-16 unless the client offers another). Both split lines at
`\\r\\n`, `\\r` and `\\n` only (Python's `str.splitlines` also splits at form feeds and more).
"""

from __future__ import annotations

import bisect
import re
from typing import Callable

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def _utf16_units(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _utf8_units(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


_UNITS: dict[str, Callable[[str], int]] = {UTF8: _utf8_units, UTF16: _utf16_units, UTF32: len}


class DocumentText:
    """A document's text split into lines, converting positions in both directions."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.lines = _LINE_BREAK.split(text)
        self.units = _UNITS.get(encoding, _utf16_units)
        self._starts: list[int] = []

    @property
    def starts(self) -> list[int]:
        """The offset at which each line begins."""
        if not self._starts:
            self._starts = [0] + [match.end() for match in _LINE_BREAK.finditer(self.text)]
        return self._starts

    def at_offset(self, offset: int) -> tuple[int, int]:
        """The (1-based line, 1-based column) of a code-point offset into the text."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1

    def offset(self, line: int, column: int) -> int:
        """The code-point offset of a (1-based line, 1-based column); past the end: the end."""
        if line > len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + column - 1, len(self.text))

    def to_lsp(self, line: int, column: int) -> tuple[int, int]:
        """reglint's (1-based line, 1-based code-point column) -> LSP (line, character).

        A position past the last line (an edit that ends after the final newline) is the start of
        the line after it, which LSP allows."""
        index = line - 1
        if index >= len(self.lines):
            return len(self.lines), 0
        if index < 0:
            return 0, 0
        text = self.lines[index]
        return index, self.units(text[: max(column - 1, 0)])

    def from_lsp(self, line: int, character: int) -> tuple[int, int]:
        """LSP (line, character) -> reglint's (1-based line, 1-based code-point column); a
        character inside a surrogate pair or past the end of the line is clamped."""
        if line >= len(self.lines):
            return len(self.lines) + 1, 1
        text = self.lines[max(line, 0)]
        count = 0
        for index, char in enumerate(text):
            if count >= character:
                return line + 1, index + 1
            count += self.units(char)
        return line + 1, len(text) + 1
