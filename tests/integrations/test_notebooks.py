"""Notebooks: code cells linted as one module, findings at (cell, line), IPython syntax tolerated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import EXPECT
from integration_samples import NOTEBOOKS

from reglint.cli import main
from reglint.engine.config import Settings
from reglint.engine.notebook import (
    NotebookResult,
    lint_notebook,
    load_cell_sources,
    read_cells,
    strip_ipython,
)
from reglint.engine.runner import lint_bytes
from reglint.engine.session import _enabled
from reglint.model import Finding

ENABLED = _enabled(Settings(select=("ALL",)))


def lint(document: Any, path: str = "nb.ipynb") -> NotebookResult:
    data = document if isinstance(document, bytes) else json.dumps(document, indent=1).encode()
    result = lint_bytes(data, path, Settings(), ENABLED)
    assert isinstance(result, NotebookResult)
    return result


def notebook(*cells: dict[str, Any], language: str = "python") -> dict[str, Any]:
    return {
        "cells": list(cells),
        "metadata": {"kernelspec": {"name": "k", "display_name": "k", "language": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def code(source: Any) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source}


def found(findings: list[Finding]) -> set[tuple[int, str, int]]:
    return {(f.cell or 0, f.code, f.line or 0) for f in findings}


def expected_in_cells(path: Path) -> set[tuple[int, str, int]]:
    out = set()
    for cell in read_cells(json.loads(path.read_text(encoding="utf-8"))):
        for number, line in enumerate(cell.source.splitlines(), start=1):
            match = EXPECT.search(line)
            if match and cell.kind == "code":
                out.update((cell.index, code, number) for code in match.group(1).replace(",", " ").split())
    return out


def test_fixture_findings_at_their_cells_and_lines() -> None:
    path = NOTEBOOKS / "train_bad.ipynb"
    expected = expected_in_cells(path)
    # Findings in two cells at least (the penalty in cell 2, the optimizer in cell 4), and one
    # (RL203, double L2) that needs the optimizer of cell 4 and the loss of cell 6 together.
    assert {cell for cell, _, _ in expected} >= {2, 4, 6}
    assert (6, "RL203", 3) in expected
    result = lint(path.read_bytes(), str(path))
    assert found(result.findings) == expected


def test_fixture_file_lines_hold_the_reported_source_line() -> None:
    path = NOTEBOOKS / "train_bad.ipynb"
    text = path.read_text(encoding="utf-8").splitlines()
    cells = {c.index: c for c in read_cells(json.loads("\n".join(text)))}
    for finding in lint(path.read_bytes(), str(path)).findings:
        source_line = cells[finding.cell or 0].source.splitlines()[(finding.line or 0) - 1]
        file_line = text[finding.data["file_line"] - 1]
        assert json.loads(file_line.strip().rstrip(",")).rstrip("\n") == source_line


def test_good_notebook_is_clean() -> None:
    path = NOTEBOOKS / "train_good.ipynb"
    assert lint(path.read_bytes(), str(path)).findings == []


def test_text_and_json_output_name_the_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "train.ipynb").write_bytes((NOTEBOOKS / "train_bad.ipynb").read_bytes())
    monkeypatch.chdir(tmp_path)
    text = CliRunner().invoke(main, ["check", "train.ipynb"])
    assert text.exit_code == 1
    assert "train.ipynb:cell 4:2:13: RL202 [warning]" in text.output
    data = json.loads(CliRunner().invoke(main, ["check", "--format", "json", "train.ipynb"]).output)
    by_code = {f["code"]: f for f in data["findings"]}
    assert (by_code["RL102"]["cell"], by_code["RL102"]["line"]) == (2, 12)


def test_discovery_picks_up_notebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "train.ipynb").write_bytes((NOTEBOOKS / "train_bad.ipynb").read_bytes())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--format", "json", "."])
    assert {f["path"] for f in json.loads(result.output)["findings"]} == {"nb/train.ipynb"}


OPTIMIZER = "import torch\nopt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n"


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param([], id="no cells"),
        pytest.param([{"cell_type": "markdown", "metadata": {}, "source": ["# title\n", "%not code"]}], id="markdown only"),
        pytest.param([{"cell_type": "raw", "metadata": {}, "source": "def broken(:"}], id="raw cell"),
        pytest.param([code([])], id="empty list source"),
        pytest.param([code("")], id="empty string source"),
        pytest.param([code(["\n", "   \n"])], id="blank lines"),
        pytest.param([{"cell_type": "code", "metadata": {}, "outputs": []}], id="missing source"),
        pytest.param([code(None)], id="null source"),
        pytest.param([code(["x = 1\n", 5, None])], id="odd source items"),
        pytest.param(["not a cell", {"no": "type"}, {"cell_type": 3}], id="odd cells"),
        pytest.param([code("%%bash\nfor f in *; do echo $f; done\n")], id="bash cell magic"),
        pytest.param([code("%%writefile train.py\ndef broken(:\n")], id="writefile cell magic"),
        pytest.param([code("%%HTML\n<b>hi</b>")], id="html cell magic"),
        pytest.param([code("!pip install torch\n%matplotlib inline\n?torch.norm\ntorch.norm??\nfiles = !ls\nt = %timeit -o f()\n")],
                     id="line magics, shell, help"),
        pytest.param([code("for i in range(3):\n    !echo $i\n    %time f(i)\n")], id="magics inside a block"),
        pytest.param([code("!echo a \\\n  b\nx = 1\n")], id="continued shell line"),
    ],
)
def test_odd_notebooks_do_not_crash(cells: list[Any]) -> None:
    assert lint(notebook(*cells)).findings == []


def test_magics_keep_line_numbers() -> None:
    source = ["%matplotlib inline\n", "!nvidia-smi\n", "import torch\n", "opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n"]
    result = lint(notebook({"cell_type": "markdown", "source": "# hi"}, code(source)))
    assert found(result.findings) == {(2, "RL201", 4), (2, "RL202", 4)}
    assert result.findings[0].column == 7  # the call in `opt = torch.optim.Adam(model.parameters(), ...`


def test_python_cell_magic_body_is_linted() -> None:
    result = lint(notebook(code("%%time\n" + OPTIMIZER)))
    assert found(result.findings) == {(1, "RL201", 3), (1, "RL202", 3)}


def test_valid_python_is_not_rewritten() -> None:
    # A line that starts with `%` inside brackets is Python (string formatting), not a magic.
    source = 'msg = ("step %d"\n       % 3)\n' + OPTIMIZER
    assert found(lint(notebook(code(source))).findings) == {(1, "RL201", 4), (1, "RL202", 4)}


def test_syntax_error_in_one_cell_keeps_the_others() -> None:
    result = lint(notebook(code(OPTIMIZER), {"cell_type": "markdown", "source": "x"}, code("def broken(:\n    pass\n")))
    assert found(result.findings) == {(1, "RL201", 2), (1, "RL202", 2), (3, "RL000", 1)}


def test_cells_share_names_across_cells() -> None:
    penalty = "for x, y in loader:\n    loss = crit(model(x), y) + 1e-4 * sum((p ** 2).sum() for p in model.parameters() if p.ndim >= 2)\n"
    result = lint(notebook(code(OPTIMIZER), code(penalty)))
    assert (2, "RL203", 2) in found(result.findings)


def test_source_as_a_single_string_maps_to_its_file_line() -> None:
    result = lint(notebook(code(OPTIMIZER)))
    text = json.dumps(notebook(code(OPTIMIZER)), indent=1).splitlines()
    for finding in result.findings:
        assert "weight_decay" in text[finding.data["file_line"] - 1]


def test_invalid_json_is_one_parse_error() -> None:
    result = lint(b'{"cells": [\n  {"cell_type": "code",\n', "bad.ipynb")
    assert [(f.code, f.line, f.cell) for f in result.findings] == [("RL000", 3, None)]
    assert "not valid JSON" in result.findings[0].message


@pytest.mark.parametrize("data", [b"[1, 2]", b'{"metadata": {}}', b"\xff\xfe\x00garbage", b""])
def test_not_a_notebook_is_one_parse_error(data: bytes) -> None:
    result = lint(data, "odd.ipynb")
    assert [f.code for f in result.findings] == ["RL000"]


def test_parse_errors_respect_selection() -> None:
    result = lint_notebook(b"not json", "x.ipynb", Settings(), frozenset({"RL101"}))
    assert result.findings == []


def test_other_kernel_languages_are_skipped() -> None:
    assert lint(notebook(code("library(torch)\nx <- 1\n"), language="R")).findings == []


def test_nbformat3_worksheets() -> None:
    document = {"worksheets": [{"cells": [{"cell_type": "code", "input": OPTIMIZER, "language": "python"}]}], "nbformat": 3}
    assert found(lint(document).findings) == {(1, "RL201", 2), (1, "RL202", 2)}


def test_suppression_comments_work_in_cells() -> None:
    source = OPTIMIZER.replace("1e-4)\n", "1e-4)  # reglint: ignore[RL201]\n")
    assert found(lint(notebook(code(source))).findings) == {(1, "RL202", 2)}


def test_notebook_result_never_exposes_python_for_rewriting() -> None:
    result = lint(notebook(code(OPTIMIZER)))
    assert result.module is None and result.reports == []
    assert result.virtual_module is not None
    assert result.line_map[1] == (1, 2)
    assert result.cell_sources[1][1].startswith("opt = torch.optim.Adam(")


def test_strip_ipython() -> None:
    lines = ["x = 1", "  %time f()", "!ls", "y = !ls", "a?", "??b", "z = 2 if a else 3"]
    assert strip_ipython(lines) == ["x = 1", "  pass", "pass", "pass", "pass", "pass", "z = 2 if a else 3"]


def test_stdin_with_a_notebook_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = (NOTEBOOKS / "train_bad.ipynb").read_bytes()
    result = CliRunner().invoke(main, ["check", "--format", "json", "--stdin-filename", "nb.ipynb", "-"], input=data)
    findings = json.loads(result.output)["findings"]
    assert {(f["cell"], f["code"], f["line"]) for f in findings} == expected_in_cells(NOTEBOOKS / "train_bad.ipynb")


def test_load_cell_sources(tmp_path: Path) -> None:
    sources = load_cell_sources(str(NOTEBOOKS / "train_bad.ipynb"))
    assert sources[4][1].startswith("optimizer = torch.optim.Adam(")
    assert sources[1][0] == "# Train an MLP"
    (tmp_path / "bad.ipynb").write_text("{", encoding="utf-8")
    assert load_cell_sources(str(tmp_path / "bad.ipynb")) == {}
    assert load_cell_sources(str(tmp_path / "missing.ipynb")) == {}


def _apply_edits(source: str, edits: list[dict[str, Any]]) -> str:
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out = source
    for edit in sorted(edits, key=lambda e: (e["line"], e["column"]), reverse=True):
        start = offsets[edit["line"] - 1] + edit["column"] - 1
        end = offsets[edit["end_line"] - 1] + edit["end_column"] - 1
        out = out[:start] + edit["replacement"] + out[end:]
    return out


def test_json_fix_edits_are_in_cell_coordinates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook finding's fix edits name their cell and count lines within it, as the finding
    does, so a tool applying them to the cell's source gets the fixed cell."""
    path = NOTEBOOKS / "train_bad.ipynb"
    (tmp_path / "train.ipynb").write_bytes(path.read_bytes())
    monkeypatch.chdir(tmp_path)
    data = json.loads(CliRunner().invoke(main, ["check", "--format", "json", "--isolated", "train.ipynb"]).output)
    with_edits = [f for f in data["findings"] if f["fix"] and f["fix"].get("edits")]
    assert with_edits, data["findings"]
    cells = {c.index: c.source for c in read_cells(json.loads(path.read_text(encoding="utf-8")))}
    for finding in with_edits:
        edits = finding["fix"]["edits"]
        assert {edit["cell"] for edit in edits} == {finding["cell"]}, finding
        fixed = _apply_edits(cells[finding["cell"]], edits)
        assert fixed != cells[finding["cell"]]
        compile("\n".join(strip_ipython(fixed.splitlines())), "cell", "exec")  # IPython lines masked
        if finding["code"] == "RL201":
            assert "AdamW" in fixed.splitlines()[finding["line"] - 1]
