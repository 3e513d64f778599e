"""Without torch, `reglint audit` says how to install it and exits 2; `reglint check` is unaffected.

Each run is a fresh interpreter whose import system refuses `torch` (a meta path finder, the same
trick as tests/test_torch_unimportable.py), so this holds whether or not torch is installed here.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from audit_helpers import FIXTURES, ROOT

BLOCKED = textwrap.dedent(
    """
    import importlib.abc, runpy, sys

    class BlockTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "torch" or fullname.startswith("torch."):
                raise ImportError(f"torch is blocked for this test: {fullname}")
            return None

    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, BlockTorch())
    sys.argv = ["reglint"] + sys.argv[1:]
    runpy.run_module("reglint", run_name="__main__", alter_sys=True)
    """
)


def blocked(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKED, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_audit_without_torch_exits_2_with_install_hint() -> None:
    result = blocked("audit", str(FIXTURES / "good_sgd_l2_weights.py"))
    assert result.returncode == 2, result.stderr
    assert "pip install 'reglint[audit]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_help_and_check_work_without_torch() -> None:
    assert blocked("--help").returncode == 0
    assert "TARGET" in blocked("audit", "--help").stdout
    result = blocked("check", "fixtures/bad/rl102_linalg_norms.py", "--format", "json")
    assert result.returncode == 1, result.stderr
    assert '"RL102"' in result.stdout and "Traceback" not in result.stderr


def test_importing_the_audit_command_does_not_import_torch() -> None:
    code = "import sys, reglint.cli, reglint.audit.command, reglint.audit.codes; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
