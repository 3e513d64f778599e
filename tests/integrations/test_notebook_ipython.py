"""Notebooks as Jupyter runs them: IPython help, magics, shell lines, automagic and indented cells
are not syntax errors; cells that are not Python at all are skipped, not RL000; the rest of the
notebook is still linted."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_notebooks import OPTIMIZER, code, found, lint, notebook

from reglint.engine.ipython import dedent_leading, not_python, strip_ipython

EXPECTED = {(1, "RL201", 2), (1, "RL202", 2)}  # OPTIMIZER as cell 1


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("torch.optim.Adam?\n", id="help at the end"),
        pytest.param("torch.optim.Adam??\n", id="source help"),
        pytest.param("?torch.optim.Adam\n", id="help at the start"),
        pytest.param("torch.*Tensor?\n", id="wildcard search"),
        pytest.param("model.forward ??\n", id="help with a space"),
        pytest.param("for m in model.modules():\n    m?\n", id="help in a block"),
        pytest.param("%matplotlib inline\nx = %timeit -o f()\n", id="line magics"),
        pytest.param("!pip install torch\nfiles = !ls\nout, err = !cmd\n", id="shell lines"),
        pytest.param("!echo a \\\n  b\nx = 1\n", id="continued shell line"),
        pytest.param("pip install torch\ncd data\nmatplotlib inline\nload_ext autoreload\nautoreload 2\n", id="automagic"),
        pytest.param("/print 1 2\n,print a b\n;print a b\n", id="autocall"),
        pytest.param("%%capture\n!pip install -q torch\n", id="capture cell"),
        pytest.param("    x = 1\n    y = x?\n    z = 2\n", id="indented cell with help"),
    ],
)
def test_ipython_cells_are_not_errors_and_the_rest_is_linted(source: str) -> None:
    result = lint(notebook(code(OPTIMIZER), code(source)))
    assert found(result.findings) == EXPECTED


def test_an_indented_cell_is_linted_with_its_own_columns() -> None:
    # IPython removes the first line's indentation from the cell (leading_indent): it runs.
    indented = "".join("    " + line + "\n" for line in OPTIMIZER.splitlines())
    result = lint(notebook(code(indented)))
    assert found(result.findings) == EXPECTED
    rl202 = next(f for f in result.findings if f.code == "RL202")
    assert rl202.column == 4 + 7  # the optimizer's call in the cell as written, indentation included
    fixes = [f for f in result.findings if f.fix is not None and f.fix.edits]
    for finding in fixes:
        assert all(edit.column > 4 for edit in finding.fix.edits)  # type: ignore[union-attr]


def test_an_ipython_line_inside_a_penalty_cell_keeps_its_findings() -> None:
    loop = (
        "for x, y in loader:\n"
        "    loss = crit(model(x), y)\n"
        "    %time l2 = sum(torch.norm(p, 2) for p in model.parameters())\n"
        "    loss = loss + 1e-4 * sum(torch.norm(p, 2) for p in model.parameters())\n"
        "    loss?\n"
    )
    result = lint(notebook(code(OPTIMIZER), code(loop)))
    assert {(cell, rule) for cell, rule, _ in found(result.findings)} >= {(1, "RL201"), (2, "RL102"), (2, "RL101")}
    assert all(f.code != "RL000" for f in result.findings)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("model:\n  depth: 4\n  width: 128\noptimizer:\n  name: adam\n  weight_decay: 1e-4\n", id="YAML"),
        pytest.param("- step: train\n  epochs: 3\n- step: eval\n", id="YAML list"),
        pytest.param("optimizer = torch.optim.SGD(model.parameters(), lr=???)\n", id="??? placeholder"),
        pytest.param("loss = <your code here>\n", id="fill-in placeholder"),
        pytest.param("%%bash\nfor f in *.py; do python $f; done\n", id="bash cell"),
        pytest.param("%%writefile train.py\nopt = torch.optim.Adam(model.parameters(), weight_decay=1e-4\n", id="writefile cell"),
        pytest.param("git clone https://github.com/x/y.git\ncd y\n", id="shell without !"),
        pytest.param("Run the cell below to train the model.\n", id="prose"),
        pytest.param('print "hello"\nx = 1\n', id="python 2 print"),
    ],
)
def test_cells_that_are_not_python_are_skipped_not_rl000(source: str) -> None:
    result = lint(notebook(code(OPTIMIZER), code(source)))
    assert found(result.findings) == EXPECTED


@pytest.mark.parametrize(
    "source,line",
    [
        pytest.param("def broken(:\n    pass\n", 1, id="unclosed bracket"),
        pytest.param("x = 1\nfor p in model.parameters()\n    y = p\n", 2, id="missing colon"),
        pytest.param("import torch\nopt = torch.optim.Adam(model.parameters(), lr=1e-3 weight_decay=1e-4)\n", 2, id="missing comma"),
    ],
)
def test_python_with_a_mistake_is_still_rl000(source: str, line: int) -> None:
    result = lint(notebook(code(OPTIMIZER), code(source)))
    assert found(result.findings) == EXPECTED | {(2, "RL000", line)}


def test_python2_notebooks_do_not_report_their_cells_syntax() -> None:
    document = notebook(code(OPTIMIZER), code("x = 1\nprint x\n"))
    assert found(lint(document).findings) == EXPECTED | {(2, "RL000", 2)}
    document["metadata"]["language_info"] = {"name": "python", "version": "2.7.18"}
    assert found(lint(document).findings) == EXPECTED


def test_strip_ipython_leaves_continuation_lines_alone() -> None:
    lines = ['msg = ("step %d"', "       % 3)", "x = (a", "     / b)", "!ls", '"""', "!not a command: in a string", '"""']
    assert strip_ipython(lines) == [*lines[:4], "pass", *lines[5:]]


def test_dedent_leading_follows_ipython() -> None:
    text = dedent_leading(["", "    a = 1", "    if a:", "        b = 2", "c = 3"])
    assert text.lines == ["", "a = 1", "if a:", "    b = 2", "c = 3"]
    assert text.offsets == [0, 4, 4, 4, 0]
    assert dedent_leading(["a = 1", "  b"]).offsets == [0, 0]


@pytest.mark.parametrize(
    "lines,expected",
    [
        (["lr: 0.1", "model:", "  depth: 4"], True),
        (["@torch.no_grad()", "def f(:"], False),  # a decorator: judged with what follows
        (["if a:", "    b = 1 +"], False),
        (["for p in model.parameters()", "    pass"], False),
        (["Train the model for three epochs."], True),
    ],
)
def test_not_python(lines: list[str], expected: bool) -> None:
    assert not_python(lines) is expected


@pytest.mark.parametrize("args", [["--no-cache", "-j", "1"], ["--no-cache", "-j", "2"], []], ids=["in-process", "workers", "cache"])
def test_notebook_findings_get_a_code_frame(tmp_path: Path, args: list[str]) -> None:
    import os

    from click.testing import CliRunner
    from integration_samples import NOTEBOOKS

    from reglint.cli import main

    (tmp_path / "train.ipynb").write_bytes((NOTEBOOKS / "train_bad.ipynb").read_bytes())
    (tmp_path / "other.ipynb").write_bytes((NOTEBOOKS / "train_bad.ipynb").read_bytes())  # two files: workers run
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        for _ in range(2 if not args else 1):  # the cache case: the second run reads findings from the cache
            out = CliRunner().invoke(main, ["check", "train.ipynb", "other.ipynb", "--select", "RL202", *args]).stdout
    finally:
        os.chdir(old)
    lines = out.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("train.ipynb:cell 4:2:13: RL202")))
    assert lines[at + 1] == "  2 | optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)  # expect: RL201, RL202"
    assert lines[at + 2] == "    | " + " " * 12 + "^" * len("torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)")  # column 13
