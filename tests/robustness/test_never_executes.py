"""`reglint check` never imports or executes the code it reads.

fixtures/never_run/ holds modules whose import writes a marker file ($REGLINT_NEVER_RUN_MARKER)
and/or ends the process (os._exit, sys.exit from a class body, decorator or default argument),
and a `torch.py` that would shadow torch for `python -m reglint` run from that directory. A check
run over them, in every output format, with and without worker processes, the cache, the
prefilter and --fix, must exit 0 or 1 with a complete report, and the marker must not exist.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEVER_RUN = ROOT / "fixtures" / "never_run"
FILES = sorted(p.name for p in NEVER_RUN.glob("*.py"))


def run(args: list[str], cwd: Path, marker: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, REGLINT_NEVER_RUN_MARKER=str(marker), PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "reglint", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_fixtures_would_really_run(tmp_path: Path) -> None:
    """The fixtures do what they claim when imported (so the other tests prove something)."""
    marker = tmp_path / "marker"
    env = dict(os.environ, REGLINT_NEVER_RUN_MARKER=str(marker))
    for name, status in (("exits_process.py", 3), ("torch.py", 9)):
        proc = subprocess.run([sys.executable, str(NEVER_RUN / name)], env=env, capture_output=True, timeout=60)
        assert proc.returncode == status, (name, proc.stderr)
    proc = subprocess.run([sys.executable, str(NEVER_RUN / "raises_system_exit.py")], env=env, capture_output=True, timeout=60)
    # 9: `import torch` there picks up the torch.py beside it, which exits first.
    assert proc.returncode in (4, 5, 6, 7, 9), proc.stderr
    assert marker.exists() and "exits_process.py ran" in marker.read_text()


@pytest.mark.parametrize(
    "extra",
    [
        ["--format", "json"],
        ["--format", "json", "--jobs", "2"],
        ["--format", "json", "--no-prefilter", "--select", "ALL"],
        ["--format", "json", "--fix", "--unsafe-fixes"],
        ["--format", "sarif"],
        ["--format", "github"],
        ["--format", "text"],
    ],
    ids=["json", "jobs2", "no-prefilter-all", "fix", "sarif", "github", "text"],
)
def test_check_never_executes_the_code(tmp_path: Path, extra: list[str]) -> None:
    work = tmp_path / "never_run"
    shutil.copytree(NEVER_RUN, work)
    marker = tmp_path / "marker"
    proc = run(["check", ".", "--cache-dir", str(tmp_path / "cache"), *extra], work, marker)
    assert not marker.exists(), f"reglint ran the code it reads: {marker.read_text()}"
    assert proc.returncode in (0, 1), (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    fmt = extra[extra.index("--format") + 1]
    if fmt == "json":
        doc = json.loads(proc.stdout)  # complete: parses, with its summary
        assert doc["summary"]["files_checked"] == len(FILES)
        assert not [f for f in doc["findings"] if f["code"] == "RL000"]
    elif fmt == "sarif":
        doc = json.loads(proc.stdout)
        assert doc["version"] == "2.1.0" and doc["runs"]
    elif fmt == "text":
        assert f"{len(FILES)} files checked" in proc.stdout, proc.stdout
    # Run twice: the second run reads the cache, which must not execute anything either.
    again = run(["check", ".", "--cache-dir", str(tmp_path / "cache"), *extra], work, marker)
    assert not marker.exists() and again.returncode in (0, 1)
    for name in FILES:
        assert (work / name).read_bytes() == (NEVER_RUN / name).read_bytes(), f"{name} was changed"


def test_check_from_the_repository_root(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    proc = run(["check", "fixtures/never_run", "--format", "json", "--no-cache"], ROOT, marker)
    assert not marker.exists()
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["summary"]["files_checked"] == len(FILES)


def test_stdin_is_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    source = (NEVER_RUN / "writes_marker.py").read_text()
    env = dict(os.environ, REGLINT_NEVER_RUN_MARKER=str(marker))
    proc = subprocess.run(
        [sys.executable, "-m", "reglint", "check", "-", "--stdin-filename", "train.py", "--format", "json"],
        input=source, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert not marker.exists()
    assert proc.returncode in (0, 1) and json.loads(proc.stdout)["summary"]["files_checked"] == 1


def test_flake8_plugin_does_not_execute(tmp_path: Path) -> None:
    pytest.importorskip("flake8")
    marker = tmp_path / "marker"
    work = tmp_path / "never_run"
    shutil.copytree(NEVER_RUN, work)
    env = dict(os.environ, REGLINT_NEVER_RUN_MARKER=str(marker))
    proc = subprocess.run([sys.executable, "-m", "flake8", "--select", "RL", "."], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert not marker.exists()
    assert proc.returncode in (0, 1), proc.stderr
