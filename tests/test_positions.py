"""reglint's node positions (reglint/analysis/positions.py) are libcst's PositionProvider's.

They are recorded as token counts during one code generation and turned into lines and columns
only when asked, so each source the prefilter's tests use (fixtures, rule examples, test
snippets, adversarial cases) is checked node by node against libcst's own provider as written,
a fifth of them also with CRLF, lone CR, no final newline and tabs, and edge shapes in every
form. The rendering that comes with them is `module.code`.
"""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider
from test_prefilter import SOURCES

from reglint.analysis import positions


def _variants(text: str) -> dict[str, str]:
    return {
        "as written": text,
        "crlf": text.replace("\n", "\r\n"),
        "lone cr": text.replace("\n", "\r"),
        "no final newline": text.rstrip("\n"),
        "tabs": text.replace("    ", "\t"),
    }


def _check(text: str) -> None:
    try:
        module = cst.parse_module(text)
    except Exception:
        return  # syntax errors (some fixtures have them) have no positions
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found = positions.compute(module)
    assert len(found) == len(expected)
    for node, where in expected.items():
        assert node in found
        assert found[node] == where, (type(node).__name__, found[node], where)
    assert positions.rendering(module) == module.code


@pytest.mark.parametrize(("number", "text"), list(enumerate(text for _, text in SOURCES)), ids=[name for name, _ in SOURCES])
def test_positions_are_libcsts(number: int, text: str) -> None:
    # Each source as written; every fifth one in the other forms as well (libcst's provider,
    # the reference, is slow).
    variants = _variants(text) if number % 5 == 0 else {"as written": text}
    for variant in variants.values():
        _check(variant)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "x = 1",
        "x = (\n    1,\n    2)",
        "s = '''a\r\nb\rc\nd'''\n",
        "@decorator\n\n# comment\ndef f():\n    return 1\n# trailing\n",
        "if a:\n    pass\nelif b:\n    pass\nelse:\n    x = [i for i in y if i]\n",
        "class C:\n    def m(self): return self.w.norm(2) ** 2\n\n\n",
        "x = 1 \\\n    + 2\n",
    ],
)
def test_positions_of_edge_shapes(text: str) -> None:
    for variant in _variants(text).values():
        _check(variant)


def test_a_node_of_another_tree_is_not_placed() -> None:
    found = positions.compute(cst.parse_module("x = 1\n"))
    other = cst.parse_module("x = 1\n").body[0]
    assert other not in found
    with pytest.raises(KeyError):
        found[other]
    assert found.get(other) is None
