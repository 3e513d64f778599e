"""A byte-order mark is the encoding's business once, at the very start; any other U+FEFF is a
character CPython rejects, and reglint must say so (RL000) rather than lint the file."""

from __future__ import annotations

import pytest
from robust_support import lint

SOURCE = b"import torch\nmodel = torch.nn.Linear(2, 2)\nopt = torch.optim.Adam(model.parameters(), weight_decay=1e-2)\n"


def test_one_bom_is_read_as_the_encoding() -> None:
    plain = [(f.code, f.line, f.column) for f in lint(SOURCE, "x.py").findings]
    with_bom = [(f.code, f.line, f.column) for f in lint(b"\xef\xbb\xbf" + SOURCE, "x.py").findings]
    assert with_bom == plain and "RL201" in {code for code, _, _ in plain}


@pytest.mark.parametrize(
    "data, line",
    [
        (b"\xef\xbb\xbf\xef\xbb\xbf" + SOURCE, 1),  # two BOMs: CPython rejects the second
        (SOURCE + b"x = 1 \xef\xbb\xbf+ 2\n", 4),  # U+FEFF between tokens
    ],
)
def test_stray_bom_is_a_parse_error(data: bytes, line: int) -> None:
    with pytest.raises(SyntaxError):
        compile(data, "x.py", "exec")
    findings = lint(data, "x.py").findings
    assert [(f.code, f.line) for f in findings] == [("RL000", line)]
    assert "U+FEFF" in findings[0].message
