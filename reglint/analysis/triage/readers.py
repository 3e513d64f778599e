"""Which of a module's units mention a word: the flow cut (flowcut.py) reads a unit only once
something on its lines can have a kind, and again when a name it mentions gets a new one.

A unit mentions a word where its lines hold it as a whole word, in comments and strings too
(which only adds readers). A function's lines are its body's; the module's, every line (a unit
nested in another is on its lines as well, so both read the word).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from typing import TYPE_CHECKING, Iterable, Optional

from reglint.analysis.triage.words import whole_words

if TYPE_CHECKING:
    from reglint.analysis.triage.flowcut import _Unit


_CALL_OPENS = re.compile(r"[\s)\\]*\(")


class Readers:
    """Which units mention a word: those whose lines hold it as a whole word (in comments and
    strings too, which only adds readers). A function's lines are its body's; the module's, every
    line (a unit nested in another is on its lines as well, so both read the word)."""

    @classmethod
    def of(cls, text: str, units: list[_Unit]) -> Optional["Readers"]:
        """None where the text's words cannot be matched with the tree's names line for line."""
        if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
            # Identifiers as CPython reads them. NFKC leaves line breaks where they are (nothing
            # composes with them); it could only add some, which the counts would show.
            normalized = unicodedata.normalize("NFKC", text)
            if normalized.count("\n") != text.count("\n") or normalized.count("\r") != text.count("\r"):
                return None
            text = normalized
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")  # CPython's line breaks, as one
        return cls(text, units)

    def __init__(self, text: str, units: list[_Unit]) -> None:
        self.text = text
        self.by_first = sorted(units[1:], key=lambda unit: unit.first)
        self.firsts = [unit.first for unit in self.by_first]
        self.known: dict[tuple[str, Optional[bool]], set[int]] = {}
        self.known_stores: dict[str, bool] = {}

    def seeded(self, words: Iterable[str], attributes: Iterable[str], suffixes: Iterable[str]) -> set[int]:
        """The units that mention one of `words`, or one of `attributes` (or a word ending in
        one of `suffixes`) where it may be an attribute's name."""
        lines = self._lines_of(words, ())
        lines |= self._lines_of(attributes, suffixes, attribute=True)
        return self._units_on(lines)

    def calling(self, words: Iterable[str]) -> set[int]:
        """The units that mention one of `words` followed by a call's opening bracket (after
        blanks, line continuations and the closing brackets of a parenthesized callee)."""
        text = self.text
        offsets = sorted(
            offset for offset, piece in whole_words(text, words, ()) if _CALL_OPENS.match(text, offset + len(piece))
        )
        return self._units_on(self._lines_at(offsets))

    def mentioning(self, word: str, attribute: bool = False) -> set[int]:
        found = self.known.get((word, attribute))
        if found is None:
            found = self.known[word, attribute] = self._units_on(self._lines_of((word,), (), attribute))
        return found

    def mentioning_any(self, words: Iterable[str]) -> set[int]:
        """The units that mention any of `words` (a file's class names: one scan of the text's
        words where there are many)."""
        words = list(words)
        if len(words) <= _FEW_WORDS:
            return self._units_on(self._lines_of(words, ()))
        wanted = frozenset(words)
        offsets = (match.start() for match in _IDENTIFIER.finditer(self.text) if match.group() in wanted)
        return self._units_on(self._lines_at(offsets))

    def stored(self, attribute: str) -> bool:
        """Whether the text holds `.attribute` (where it may be an attribute's name) other than
        called at once, `.attribute(`: where a store, augmented store or container growth may
        be (`x.reg = ...`, `x.reg[k] = ...`, `x.reg.append(...)`)."""
        found = self.known_stores.get(attribute)
        if found is None:
            text = self.text
            found = any(
                _next_character(text, offset + len(attribute)) != "(" and may_follow_a_dot(text, offset)
                for offset, _ in whole_words(text, (attribute,))
            )
            self.known_stores[attribute] = found
        return found

    def bare(self, word: str) -> set[int]:
        """The units whose lines hold `word` other than before a dot (`helper(self)`, `self(x)`,
        `return self`, but not `self.fc`): where a method's `self` is a value of its own."""
        found = self.known.get((word, None))
        if found is None:
            text = self.text
            offsets = (
                offset
                for offset, _ in whole_words(text, (word,))  # (in order: one word)
                if _next_character(text, offset + len(word)) != "."
            )
            found = self.known[word, None] = self._units_on(self._lines_at(offsets))
        return found

    def _lines_of(self, words: Iterable[str], suffixes: Iterable[str], attribute: bool = False) -> set[int]:
        """The lines holding one of `words` as a whole word, or a word ending in a suffix (with
        `attribute`, only where the word may be an attribute's name: see may_follow_a_dot)."""
        text = self.text
        found = whole_words(text, words, suffixes)
        if attribute:
            found = ((offset, piece) for offset, piece in found if may_follow_a_dot(text, offset))
        return self._lines_at(sorted(offset for offset, _ in found))

    def _lines_at(self, offsets: Iterable[int]) -> set[int]:
        """The (1-based) lines of `offsets`, given in increasing order."""
        text = self.text
        lines: set[int] = set()
        line, previous = 1, 0
        for offset in offsets:
            line += text.count("\n", previous, offset)
            previous = offset
            lines.add(line)
        return lines

    def _units_on(self, lines: set[int]) -> set[int]:
        out = {0} if lines else set()
        for line in lines:
            position = bisect_right(self.firsts, line) - 1
            unit: Optional[_Unit] = self.by_first[position] if position >= 0 else None
            while unit is not None:
                if unit.first <= line <= unit.last:
                    out.add(unit.index)
                unit = unit.parent
        return out


# Up to this many words are found one by one with str.find; more, in one scan of the identifiers.
_FEW_WORDS = 16
_IDENTIFIER = re.compile(r"\w+")


def may_follow_a_dot(text: str, offset: int) -> bool:
    """Whether the word that holds `offset` (a whole word's start, or a suffix's) may be an
    attribute's name: the character before the word, blanks skipped, is a dot; or the word
    starts its line, and the line before (blank lines skipped) ends with a dot or a backslash,
    or holds a `#` (a comment may stand between a dot and the name, inside brackets), or there
    is none. A word after anything else (`bias=False`, `def f(weight)`, a word of prose) is no
    attribute."""
    start = offset
    while start > 0 and _is_word_character(text[start - 1]):
        start -= 1
    while start > 0 and text[start - 1] in " \t\f":
        start -= 1
    if start == 0 or text[start - 1] == ".":
        return True
    if text[start - 1] != "\n":
        return False
    end = start - 1  # the line break before the word's line
    while True:
        line_start = text.rfind("\n", 0, end) + 1
        line = text[line_start:end].rstrip(" \t\f")
        if line:
            return line.endswith((".", "\\")) or "#" in line
        if line_start == 0:
            return True
        end = line_start - 1


def _next_character(text: str, offset: int) -> str:
    """The first character at or after `offset` that is no blank on its line ("" at the end)."""
    while offset < len(text) and text[offset] in " \t\f":
        offset += 1
    return text[offset] if offset < len(text) else ""


def _is_word_character(character: str) -> bool:
    return character.isalnum() or character == "_"
