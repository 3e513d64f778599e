"""Whole-word search by `str.find`, for words known in advance.

A regular expression that alternates a file's own words (its class names, the names a unit
must read) is compiled anew for every file, which costs more than the search (about a
millisecond for a few dozen names), and a leading `\\b` or look-behind keeps `re` from
scanning for a literal prefix. `str.find` scans in C; each hit is then checked for word
boundaries.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator


def _unicode_word_character(character: str) -> bool:
    return character.isalnum() or character == "_"


def _ascii_word_character(character: str) -> bool:
    return character.isascii() and (character.isalnum() or character == "_")


def whole_words(
    text: str, words: Iterable[str], suffixes: Iterable[str] = (), *, ascii_words: bool = False
) -> Iterator[tuple[int, str]]:
    """(offset, word) of each occurrence of one of `words` as a whole word (not inside a longer
    one), and of each word ending in one of `suffixes` (offset and text of the suffix). Word
    characters are those of `\\w`, or of `\\w` under re.ASCII with `ascii_words`."""
    word_character = _ascii_word_character if ascii_words else _unicode_word_character
    size = len(text)
    for piece, whole in [(word, True) for word in words] + [(suffix, False) for suffix in suffixes]:
        if not piece:
            continue
        start = text.find(piece)
        while start >= 0:
            end = start + len(piece)
            if (not whole or start == 0 or not word_character(text[start - 1])) and (
                end == size or not word_character(text[end])
            ):
                yield start, piece
            start = text.find(piece, start + 1)


def literal_alternation(words: Iterable[str]) -> str:
    """A regular expression matching exactly the literal `words`, written as a trie
    (`A(?:d(?:am|agrad)|pollo)`): at each offset `re` reads each character once, where a flat
    alternation tries every word in turn (twice as slow on transformers' 52 MB). Where one word
    is a prefix of another, the longer one is preferred, as in an alternation sorted longest
    first."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}
    return _trie_pattern(trie)


def _trie_pattern(node: dict[str, dict]) -> str:
    ends_here = "" in node
    branches = [re.escape(character) + _trie_pattern(child) for character, child in sorted(node.items()) if character]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and not ends_here else "(?:" + "|".join(branches) + ")"
    return body + "?" if ends_here else body


_DEFINED_BEFORE = re.compile(r"\b(?:def|class)[ \t]+\Z", re.A)


def value_mentions(text: str, names: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(offset, name) of each whole-word occurrence of one of `names` that may use the name as a
    value: not an attribute (`x.name`), not the name a `def` or `class` defines, and not called
    right there (`name(`, on the same line). Strings and comments only add occurrences."""
    for offset, name in whole_words(text, names, ascii_words=True):
        if _after_a_dot(text, offset) or _called_there(text, offset + len(name)):
            continue
        if _DEFINED_BEFORE.search(text, max(0, offset - 16), offset):
            continue
        yield offset, name


def member_value_mentions(text: str, names: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(offset, name) of each whole-word occurrence of one of `names` as an attribute that may be
    used as a value (`model.l1_penalty`, not called right there: a bound method handed over or
    picked by a flag). Strings and comments only add occurrences."""
    for offset, name in whole_words(text, names, ascii_words=True):
        if _after_a_dot(text, offset) and not _called_there(text, offset + len(name)):
            yield offset, name


def _after_a_dot(text: str, offset: int) -> bool:
    before = offset - 1
    while before >= 0 and text[before] in " \t\\\r\n":
        before -= 1
    return before >= 0 and text[before] == "."


def _called_there(text: str, after: int) -> bool:
    """`(` follows at `after`, on the same line."""
    while after < len(text) and text[after] in " \t":
        after += 1
    return after < len(text) and text[after] == "("
