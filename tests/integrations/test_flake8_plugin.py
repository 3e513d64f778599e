"""The flake8 plugin: `flake8 --select RL` reports reglint's static rules, as `reglint check` does."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import lint
from integration_samples import BAD, BAD_EXPECTED, GOOD, write

from reglint.integrations.flake8 import Plugin

pytest.importorskip("flake8")

LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*)$")


def flake8(cwd: Path, *args: str) -> tuple[int, list[re.Match[str]]]:
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    matches = [LINE.match(line) for line in proc.stdout.splitlines()]
    assert all(matches), proc.stdout
    return proc.returncode, [m for m in matches if m]


INFO_CODES = {"RL206"}  # BAD's findings below the default fail level (warning)


def test_select_rl_reports_the_expected_codes(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", BAD)
    write(tmp_path, "good.py", GOOD)
    code, lines = flake8(tmp_path, "--select", "RL", "bad.py", "good.py")
    assert code == 1
    assert {m["path"] for m in lines} == {"bad.py"}
    assert {(m["code"], int(m["line"])) for m in lines} == {c for c in BAD_EXPECTED if c[0] not in INFO_CODES}
    # Same positions and messages as `reglint check` (flake8 prints 1-based columns).
    ours = {(f.code, f.line, f.column, f.message) for f in lint(BAD, "bad.py") if f.code not in INFO_CODES}
    assert {(m["code"], int(m["line"]), int(m["col"]), m["message"]) for m in lines} == ours


def test_info_findings_follow_the_fail_level_so_flake8_agrees_with_reglint_check(tmp_path: Path) -> None:
    info_only = (
        "import torch\n"
        "opt = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
        "loss = loss + 1e-4 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)\n"
    )
    write(tmp_path, "train.py", info_only)
    assert flake8(tmp_path, "--select", "RL", "train.py") == (0, [])  # reglint check exits 0 too
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nfail-level = "info"\n')
    code, lines = flake8(tmp_path, "--select", "RL", "train.py")
    assert code == 1 and [m["code"] for m in lines] == ["RL206"]


def test_reglint_excludes_apply_under_flake8(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nextend-exclude = ["third_party"]\n')
    write(tmp_path, "third_party/lib/bad.py", BAD)
    write(tmp_path, "bad.py", BAD)
    code, lines = flake8(tmp_path, "--select", "RL", ".")
    assert code == 1 and {m["path"] for m in lines} == {"./bad.py"}


def test_good_file_passes(tmp_path: Path) -> None:
    write(tmp_path, "good.py", GOOD)
    assert flake8(tmp_path, "--select", "RL", "good.py") == (0, [])


def test_plugin_is_registered_under_rl(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True, timeout=60)
    assert "reglint" in proc.stdout


def test_project_configuration_applies(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nignore = ["RL2"]\n')
    write(tmp_path, "bad.py", BAD)
    _, lines = flake8(tmp_path, "--select", "RL", "bad.py")
    assert {(m["code"], int(m["line"])) for m in lines} == {c for c in BAD_EXPECTED if c[0].startswith("RL1")}


def test_plugin_lints_the_lines_it_is_given_not_the_file() -> None:
    plugin = Plugin(ast.parse(BAD), "does/not/exist.py", BAD.splitlines(keepends=True))
    results = list(plugin.run())
    assert {(text.split()[0], line) for line, _, text, _ in results} == {c for c in BAD_EXPECTED if c[0] not in INFO_CODES}
    assert all(kind is Plugin and col >= 0 for _, col, _, kind in results)
    assert list(Plugin(ast.parse(GOOD), "stdin", GOOD.splitlines(keepends=True)).run()) == []


def test_configuration_error_is_reported_not_raised(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nunknown-key = 1\n')
    write(tmp_path, "bad.py", BAD)
    Plugin._resolver = None
    try:
        results = list(Plugin(ast.parse(BAD), str(tmp_path / "bad.py"), BAD.splitlines(keepends=True)).run())
    finally:
        Plugin._resolver = None
    assert len(results) == 1 and results[0][2].startswith("RL000 reglint configuration error")
