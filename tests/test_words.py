"""reglint/analysis/triage/words.py finds what the regular expressions it replaces find.

`literal_alternation` stands in for a flat alternation of the words, longest first: it must
match where that matches, the same text. `whole_words` stands in for `\\b(?:w1|w2)\\b` (re.ASCII with `ascii_words`) and for `\\w*suffix\\b`
in the triage: on random texts mixing word characters, non-ASCII letters and digits, separators
and the words themselves, it must report exactly the offsets those expressions match.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from reglint.analysis.triage.words import literal_alternation, whole_words

WORDS = ["w", "weight", "bias", "Model", "MyModel", "é", "_x"]
PIECES = st.sampled_from(WORDS + ["_weight", "a", "1", "_", "é", "ß", "٣", " ", ".", "(", "\n", "\r\n", "#"])
TEXTS = st.lists(PIECES, max_size=30).map("".join)


def _expected(text: str, words: list[str], suffixes: list[str], flags: int) -> set[tuple[int, str]]:
    found = set()
    for word in words:
        for match in re.finditer(r"(?=(?<!\w)" + re.escape(word) + r"(?!\w))", text, flags):
            found.add((match.start(), word))
    for suffix in suffixes:
        for match in re.finditer(r"(?=" + re.escape(suffix) + r"(?!\w))", text, flags):
            found.add((match.start(), suffix))
    return found


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.lists(st.sampled_from(WORDS), max_size=4, unique=True), st.booleans(), st.booleans())
def test_whole_words_are_the_regular_expressions_matches(text: str, words: list[str], suffix: bool, ascii_words: bool):
    suffixes = ["_weight"] if suffix else []
    flags = re.ASCII if ascii_words else 0
    found = set(whole_words(text, words, suffixes, ascii_words=ascii_words))
    assert found == _expected(text, words, suffixes, flags)


def test_examples() -> None:
    text = "model.weight + MyModel() + Model(x) + fc_weight; weights; _weight"
    assert sorted(whole_words(text, ["weight", "Model"], ["_weight"])) == [
        (6, "weight"),
        (27, "Model"),
        (40, "_weight"),
        (58, "_weight"),
    ]
    assert list(whole_words("éModel Model", ["Model"], ascii_words=True)) == [(1, "Model"), (7, "Model")]
    assert list(whole_words("éModel Model", ["Model"])) == [(7, "Model")]


LITERALS = st.lists(st.sampled_from(["Adam", "AdamW", "Ada", "SGD", "ASGD", "S", "a.b", "x+", "é"]), min_size=1, max_size=5, unique=True)


@settings(max_examples=300, deadline=None)
@given(LITERALS, st.lists(st.sampled_from(["Adam", "W", "SG", "D", "A", "a.b", "ab", "x+", "é", " "]), max_size=12).map("".join))
def test_the_trie_matches_what_the_flat_alternation_matches(words: list[str], text: str) -> None:
    flat = re.compile("|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)))
    trie = re.compile(literal_alternation(words))
    assert [m.span() for m in trie.finditer(text)] == [m.span() for m in flat.finditer(text)]
    assert all(trie.fullmatch(word) for word in words)


def test_the_trie_pattern() -> None:
    assert literal_alternation(["Adam", "Adagrad", "Apollo", "SGD"]) == "(?:A(?:da(?:grad|m)|pollo)|SGD)"
    assert literal_alternation(["Ada", "Adam"]) == "Ada(?:m)?"
