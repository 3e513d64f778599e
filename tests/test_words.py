"""reglint/analysis/triage/words.py finds what the regular expressions it replaces find.

`whole_words` stands in for `\\b(?:w1|w2)\\b` (re.ASCII with `ascii_words`) and for `\\w*suffix\\b`
in the triage: on random texts mixing word characters, non-ASCII letters and digits, separators
and the words themselves, it must report exactly the offsets those expressions match.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from reglint.analysis.triage.words import whole_words

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
