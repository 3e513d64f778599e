"""`--format github`: one workflow command per finding, escaped as the Actions runner expects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from integration_samples import BAD, BAD_EXPECTED, BROKEN, GOOD, NOTEBOOKS, write

from reglint.cli import main
from reglint.model import Finding, Severity
from reglint.report.github_format import annotation, escape_data, escape_property

COMMAND = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    props = dict(part.split("=", 1) for part in match.group("props").split(","))
    return match.group(1), props, match.group("message")


def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, list[str]]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    result = CliRunner().invoke(main, ["check", "--format", "github", *args])
    return result.exit_code, result.output.splitlines()


def test_escaping() -> None:
    assert escape_data("100% sure\r\nnext: a, b") == "100%25 sure%0D%0Anext: a, b"
    assert escape_property("dir,x/a:b%\n.py") == "dir%2Cx/a%3Ab%25%0A.py"


def test_bad_and_good_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "pkg/bad.py", BAD)
    write(tmp_path, "pkg/good.py", GOOD)
    code, lines = github(tmp_path, monkeypatch, "pkg")
    assert code == 1
    seen = set()
    for line in lines:
        command, props, message = parse(line)
        assert list(props) == ["file", "line", "col", "endLine", "endColumn", "title"]
        assert props["file"] == "pkg/bad.py"
        code_in_title = props["title"].split()[0]
        seen.add((code_in_title, int(props["line"])))
        expected_command = "notice" if code_in_title == "RL206" else "warning"
        assert command == expected_command
        assert int(props["endLine"]) == int(props["line"])
        assert int(props["endColumn"]) >= int(props["col"]) >= 1
        assert message and "%0A" not in message
    assert seen == BAD_EXPECTED


def test_clean_run_prints_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "good.py", GOOD)
    assert github(tmp_path, monkeypatch, "good.py") == (0, [])


def test_parse_error_is_an_error_annotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "broken.py", BROKEN)
    code, lines = github(tmp_path, monkeypatch, "broken.py")
    assert code == 1
    command, props, _ = parse(lines[0])
    assert command == "error" and props["file"] == "broken.py" and props["line"] == "1"
    assert props["title"] == "RL000 parse-error"


def test_paths_are_relative_to_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "repo/sub/bad.py", BAD)
    monkeypatch.chdir(tmp_path / "repo" / "sub")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "repo"))
    result = CliRunner().invoke(main, ["check", "--format", "github", "bad.py"])
    files = {parse(line)[1]["file"] for line in result.output.splitlines()}
    assert files == {"sub/bad.py"}


def test_multiline_span_has_no_columns_and_messages_are_escaped(tmp_path: Path) -> None:
    finding = Finding("RL104", "penalty-after-backward", Severity.ERROR, "50% of it,\nlost", path=str(tmp_path / "a,b.py"),
                      line=3, column=5, end_line=6, end_column=2)
    line = annotation(finding, tmp_path.resolve())
    assert line == "::error file=a%2Cb.py,line=3,endLine=6,title=RL104 penalty-after-backward::50%25 of it,%0Alost"


def test_audit_finding_names_the_parameter() -> None:
    finding = Finding("RL302", "nonfinite-penalty-gradient", Severity.ERROR, "NaN gradient at w = 0", param="fc.weight")
    assert annotation(finding, Path.cwd()) == "::error title=RL302 nonfinite-penalty-gradient::fc.weight: NaN gradient at w = 0"


def test_notebook_annotations_point_at_the_ipynb_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = tmp_path / "train.ipynb"
    notebook.write_bytes((NOTEBOOKS / "train_bad.ipynb").read_bytes())
    _, lines = github(tmp_path, monkeypatch, "train.ipynb")
    text = notebook.read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        _, props, message = parse(line)
        assert "col" not in props
        code = props["title"].split()[0]
        assert code in text[int(props["line"]) - 1]
        assert re.search(r"\(cell \d+\)$", props["title"])
        assert re.match(r"cell \d+, line \d+, column \d+: ", message)
