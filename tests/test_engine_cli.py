"""The `check` command: exit codes, formats, selection, config, suppression, stdin, bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from reglint.cli import main

BAD = textwrap.dedent(
    """
    import torch
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    """
).lstrip()
INFO_ONLY = textwrap.dedent(
    """
    import torch
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = loss + 1e-4 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)
    """
).lstrip()


def run(args: list[str], cwd: Path, input: str | None = None) -> tuple[int, str]:
    import os

    runner = CliRunner()

    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(main, args, input=input, catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.output


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_findings_exit_1_and_json_schema(tmp_path: Path) -> None:
    write(tmp_path, "train.py", BAD)
    code, out = run(["check", "train.py", "--format", "json"], tmp_path)
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == 1
    codes = sorted(f["code"] for f in doc["findings"])
    assert codes == ["RL201", "RL202"]
    finding = next(f for f in doc["findings"] if f["code"] == "RL201")
    assert finding["line"] == 2 and finding["column"] == 66 and finding["end_column"] == 70
    assert {"code", "name", "severity", "message", "path", "line", "column", "end_line", "end_column", "fix"} <= set(finding)
    assert doc["summary"]["findings"] == 2 and doc["summary"]["files_checked"] == 1


def test_clean_exit_0_and_exit_zero(tmp_path: Path) -> None:
    write(tmp_path, "ok.py", "x = 1\n")
    assert run(["check", "ok.py"], tmp_path)[0] == 0
    write(tmp_path, "train.py", BAD)
    assert run(["check", "train.py", "--exit-zero"], tmp_path)[0] == 0


def test_info_does_not_fail_by_default(tmp_path: Path) -> None:
    write(tmp_path, "train.py", INFO_ONLY)
    code, out = run(["check", "train.py"], tmp_path)
    assert code == 0 and "RL206" in out
    assert run(["check", "train.py", "--fail-level", "info"], tmp_path)[0] == 1


def test_select_and_ignore_prefixes(tmp_path: Path) -> None:
    write(tmp_path, "train.py", BAD)
    code, out = run(["check", "train.py", "--select", "RL201"], tmp_path)
    assert "RL201" in out and "RL202" not in out
    code, out = run(["check", "train.py", "--ignore", "RL2"], tmp_path)
    assert code == 0


def test_unknown_code_is_usage_error(tmp_path: Path) -> None:
    write(tmp_path, "train.py", BAD)
    code, out = run(["check", "train.py", "--select", "RL999"], tmp_path)
    assert code == 2 and "unknown rule code" in out


def test_config_from_nearest_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nignore = ["RL202"]\n')
    write(tmp_path, "pkg/train.py", BAD)
    code, out = run(["check", "pkg", "--format", "json"], tmp_path)
    assert [f["code"] for f in json.loads(out)["findings"]] == ["RL201"]


def test_per_file_ignores_and_rule_options(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.reglint]\nper-file-ignores = { "scripts/*" = ["RL201"] }\n[tool.reglint.RL204]\ncoupled-max = 1e-5\n',
    )
    write(tmp_path, "scripts/train.py", BAD)
    code, out = run(["check", ".", "--format", "json"], tmp_path)
    assert sorted(f["code"] for f in json.loads(out)["findings"]) == ["RL202", "RL204"]


@pytest.mark.parametrize(
    "content,needle",
    [
        ("[tool.reglint\nselect = 1", "invalid TOML"),
        ('[tool.reglint]\nselekt = ["RL1"]\n', "unknown key 'selekt'"),
        ('[tool.reglint]\nfail-level = "fatal"\n', "fail-level"),
        ('[tool.reglint.RL204]\ncoupled-max = "big"\n', "must be a number"),
    ],
)
def test_broken_config_is_exit_2(tmp_path: Path, content: str, needle: str) -> None:
    write(tmp_path, "pyproject.toml", content)
    write(tmp_path, "train.py", BAD)
    code, out = run(["check", "train.py"], tmp_path)
    assert code == 2 and needle in out and "Traceback" not in out


def test_cli_overrides_config(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nselect = ["RL202"]\n')
    write(tmp_path, "train.py", BAD)
    _, out = run(["check", "train.py", "--select", "RL201"], tmp_path)
    assert "RL201" in out and "RL202" not in out


def test_suppression_comments(tmp_path: Path) -> None:
    source = BAD.replace("weight_decay=1e-4)", "weight_decay=1e-4)  # noqa: RL201, RL202")
    write(tmp_path, "a.py", source)
    assert run(["check", "a.py"], tmp_path)[0] == 0
    write(tmp_path, "b.py", BAD.replace("weight_decay=1e-4)", "weight_decay=1e-4)  # reglint: ignore[RL201]"))
    code, out = run(["check", "b.py", "--format", "json"], tmp_path)
    assert [f["code"] for f in json.loads(out)["findings"]] == ["RL202"]
    write(tmp_path, "c.py", BAD.replace("weight_decay=1e-4)", "weight_decay=1e-4)  # noqa"))
    code, out = run(["check", "c.py"], tmp_path)
    assert "RL201" in out and code == 1


def test_unused_suppression_is_opt_in(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "x = 1  # noqa: RL101\ny = 2  # noqa: E501\n")
    assert run(["check", "a.py"], tmp_path)[0] == 0
    code, out = run(["check", "a.py", "--extend-select", "RL900", "--format", "json"], tmp_path)
    findings = json.loads(out)["findings"]
    assert [(f["code"], f["line"]) for f in findings] == [("RL900", 1)]


def test_stdin(tmp_path: Path) -> None:
    code, out = run(["check", "-", "--stdin-filename", "train.py", "--format", "json"], tmp_path, input=BAD)
    assert code == 1
    assert {f["path"] for f in json.loads(out)["findings"]} == {"train.py"}


def test_parse_error_reported_and_run_continues(tmp_path: Path) -> None:
    # A training script with a typo (a file whose text holds no training code is not parsed,
    # see tests/test_prefilter.py).
    write(tmp_path, "broken.py", "opt = torch.optim.Adam(model.parameters(), weight_decay=1e-4\n")
    write(tmp_path, "train.py", BAD)
    code, out = run(["check", ".", "--format", "json"], tmp_path)
    doc = json.loads(out)
    assert code == 1
    assert ("RL000", "broken.py") in {(f["code"], f["path"]) for f in doc["findings"]}
    assert "RL201" in {f["code"] for f in doc["findings"]}


def test_bad_inputs(tmp_path: Path) -> None:
    write(tmp_path, "empty.py", "")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02\xff")
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n")
    (tmp_path / "nocookie.py").write_bytes(b"name = '\xe9'\n")
    code, out = run(["check", ".", "--format", "json"], tmp_path)
    doc = json.loads(out)
    by_path = {f["path"]: f for f in doc["findings"]}
    assert set(by_path) == {"binary.py", "nocookie.py"}
    assert "UTF-8" in by_path["nocookie.py"]["message"]
    assert doc["summary"]["files_checked"] == 4


def test_missing_path_is_exit_2(tmp_path: Path) -> None:
    code, out = run(["check", "nope.py"], tmp_path)
    assert code == 2 and "no such file" in out


def test_default_excludes(tmp_path: Path) -> None:
    write(tmp_path, ".venv/lib/site-packages/x.py", BAD)
    write(tmp_path, "build/x.py", BAD)
    write(tmp_path, "src/ok.py", "x = 1\n")
    code, out = run(["check", "."], tmp_path)
    assert code == 0 and "1 file checked" in out


def test_rules_and_rule(tmp_path: Path) -> None:
    code, out = run(["rules"], tmp_path)
    assert code == 0 and "RL101" in out and "penalty-includes-bias" in out
    code, out = run(["rule", "RL102"], tmp_path)
    assert code == 0 and "# RL102" in out
    code, out = run(["rule", "unsquared-l2-norm"], tmp_path)
    assert code == 0 and "# RL102" in out


def test_excludes_apply_below_the_named_directory(tmp_path: Path) -> None:
    # A project that itself lives under a directory called `venv` or `build` is still linted.
    write(tmp_path, "venv/project/train.py", BAD)
    write(tmp_path, "venv/project/.venv/lib/x.py", BAD)
    code, out = run(["check", "venv/project", "--format", "json"], tmp_path)
    assert {f["path"] for f in json.loads(out)["findings"]} == {str(Path("venv/project/train.py"))}


@pytest.mark.parametrize(
    "argument,expected",
    [
        (".", ["a.py", "sub/b.py"]),  # pathlib's spelling: no "./" prefix
        ("./", ["a.py", "sub/b.py"]),
        ("sub", ["sub/b.py"]),
        ("./sub/", ["sub/b.py"]),
        ("sub//", ["sub/b.py"]),
        ("ABSOLUTE", ["ABSOLUTE/a.py", "ABSOLUTE/sub/b.py"]),
    ],
)
def test_findings_carry_the_path_as_pathlib_spells_it(tmp_path: Path, argument: str, expected: list[str]) -> None:
    write(tmp_path, "a.py", BAD)
    write(tmp_path, "sub/b.py", BAD)
    root = str(tmp_path)
    code, out = run(["check", argument.replace("ABSOLUTE", root), "--format", "json", "--no-cache"], tmp_path)
    assert code == 1
    paths = sorted({f["path"] for f in json.loads(out)["findings"]})
    assert paths == [p.replace("ABSOLUTE", root) for p in expected]
