"""Code CPython accepts and libcst cannot read is never a parse error: the statements libcst rejects
are left out (a note names them), and the rest of the file is linted."""

from __future__ import annotations

import json
import textwrap

import pytest
from robust_support import check_invariants, lint

from reglint.engine.config import Settings
from reglint.engine.notebook import lint_notebook
from reglint.engine.session import _enabled

OPTIMIZER = "opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n"


@pytest.mark.parametrize(
    ("unreadable", "line"),
    [
        ("(x): int = 1\n", 2),
        ("((x)): int = 1\n", 2),
        ("(x.y): int\n", 2),
        ("def f():\n    a = 1\n    (x[0]): int = a\n    return a\n", 4),
        ("if a: (x): int = 1\nelse: pass\n", 2),  # the `if` itself must go: `pass` + `else:` does not parse
        ("x = (" + '"a" ' * 5000 + ")\n", 2),  # libcst gives up on ~4,000 concatenated strings
    ],
)
def test_a_statement_libcst_rejects_costs_only_its_lines(unreadable: str, line: int) -> None:
    source = "import torch\n" + unreadable + OPTIMIZER
    compile(source, "t.py", "exec")
    data = source.encode()
    result = lint(data, "t.py", seconds=30)
    check_invariants(data, result, "t.py")
    codes = {f.code for f in result.findings}
    assert "RL000" not in codes and {"RL201", "RL202"} <= codes, result.findings
    assert result.notes and all(note.line >= line for note in result.notes), result.notes
    assert any("not linted" in n.message or "levels deep" in n.message for n in result.notes)


def test_several_unreadable_statements_each_get_a_note() -> None:
    source = "import torch\n(a): int = 1\n" + OPTIMIZER + "(b): int = 2\ndef f():\n    (c): int = 3\n"
    result = lint(source.encode(), "t.py")
    assert sorted(n.line for n in result.notes) == [2, 4, 6]
    assert "RL201" in {f.code for f in result.findings}


def test_a_notebook_note_names_the_cell_and_its_line() -> None:
    cells = [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": ["import torch\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": ["x = 1\n", "(x): int = 1\n", OPTIMIZER]},
    ]
    document = {"cells": cells, "metadata": {"kernelspec": {"language": "python", "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    settings = Settings()
    result = lint_notebook(json.dumps(document, indent=1).encode(), "nb.ipynb", settings, _enabled(settings))
    assert "RL201" in {f.code for f in result.findings}
    [note] = result.notes
    assert note.message.startswith("cell 2, line 2: libcst")  # cells count from 1, as findings show them


def test_python_syntax_errors_stay_rl000() -> None:
    """Only what CPython accepts is spared: a real syntax error is still the one RL000."""
    source = textwrap.dedent(
        """\
        import torch
        (x): int = 1
        loss = crit(out y)
        """
    ) + OPTIMIZER
    result = lint(source.encode(), "t.py")
    assert [f.code for f in result.findings] == ["RL000"]
    assert not result.notes
