"""`reglint check` must not need torch: with torch made unimportable it reports exactly the same.

The static linter reads code, it never imports it; the core package installs without torch (the
pre-commit hook and the GitHub Action rely on that). Both runs happen in fresh subprocesses, so a
torch import anywhere on the `check` path (the CLI module, a rule, a report format) shows up here
as a crash or as different findings, whether or not torch is installed in the test environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAD = "fixtures/bad"

# Installs a meta path finder that refuses `torch` and every `torch.*` submodule, checks that the
# block works, runs `python -m reglint ...`, and finally checks that nothing slipped torch into
# sys.modules by another route.
BOOTSTRAP = textwrap.dedent(
    """
    import importlib.abc
    import runpy
    import sys

    class BlockTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "torch" or fullname.startswith("torch."):
                raise ImportError(f"torch is blocked for this test: {fullname}")
            return None

    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, BlockTorch())
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the torch blocker does not work")

    sys.argv = ["reglint"] + sys.argv[1:]
    try:
        runpy.run_module("reglint", run_name="__main__", alter_sys=True)
    finally:
        leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
        if leaked:
            sys.stderr.write(f"torch modules imported despite the block: {leaked}\\n")
            sys.stderr.flush()
            import os
            os._exit(3)
    """
)


def _run(args: list[str], block_torch: bool) -> subprocess.CompletedProcess[str]:
    prefix = [sys.executable, "-c", BOOTSTRAP] if block_torch else [sys.executable, "-m", "reglint"]
    return subprocess.run(prefix + args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def _findings(stdout: str) -> list[tuple]:
    report = json.loads(stdout)
    assert report["version"] == 1
    return sorted(
        (
            f["path"],
            f["line"],
            f["column"],
            f["end_line"],
            f["end_column"],
            f["code"],
            f["severity"],
            f["message"],
            json.dumps(f["fix"], sort_keys=True),
        )
        for f in report["findings"]
    )


def test_check_without_torch_matches_normal_run() -> None:
    args = ["check", BAD, "--format", "json"]
    if _has_no_cache():  # a result cache must not let the blocked run skip the analysis
        args.append("--no-cache")
    # The blocked run goes first, so it cannot profit from anything the normal run leaves behind.
    blocked = _run(args, block_torch=True)
    normal = _run(args, block_torch=False)

    assert normal.returncode == 1, normal.stderr  # the bad fixtures have findings
    assert blocked.returncode == normal.returncode, blocked.stderr
    assert "Traceback" not in blocked.stderr, blocked.stderr

    expected = _findings(normal.stdout)
    got = _findings(blocked.stdout)
    assert expected, "the bad fixtures produced no findings: nothing was compared"
    assert got == expected
    assert json.loads(blocked.stdout)["summary"] == json.loads(normal.stdout)["summary"]


def test_text_format_without_torch() -> None:
    blocked = _run(["check", BAD, "--format", "text"], block_torch=True)
    assert blocked.returncode == 1, blocked.stderr
    assert "RL101" in blocked.stdout and "RL201" in blocked.stdout


def _has_no_cache() -> bool:
    help_text = subprocess.run(
        [sys.executable, "-m", "reglint", "check", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return "--no-cache" in help_text
