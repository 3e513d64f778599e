"""docs/audit.md says what `reglint audit` does: every option is documented, and the device
behaviour it describes is the one the command has."""

from __future__ import annotations

import re

import pytest
from audit_helpers import ROOT

torch = pytest.importorskip("torch")

from reglint.audit.command import audit  # noqa: E402

DOCS = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")


def test_every_option_is_documented() -> None:
    options = [opt for param in audit.params for opt in param.opts if opt.startswith("--") and opt != "--help"]
    table = DOCS[DOCS.index("## Options"):DOCS.index("## What it measures")]
    missing = [opt for opt in options if f"`{opt}" not in table]
    assert not missing, missing
    assert "`-- SCRIPT_ARGS...`" in table


def test_device_cuda_without_gpu_is_documented_as_the_command_behaves() -> None:
    # The command refuses --device cuda without a GPU (tested in test_audit_scripts.py); the docs
    # must say so, and put the simulation in the default run, not in --device cuda.
    assert "`--device cuda` on a machine without a GPU is a usage error" in DOCS
    rl304 = DOCS[DOCS.index("**On the device (RL304).**"):]
    rl304 = rl304[:rl304.index("\n\n")]
    assert "In the default run (`--device cpu`)" in rl304 and "simulated" in rl304
    assert not re.search(r"Without\s+a\s+GPU\s+the\s+same\s+run\s+is\s+simulated", DOCS)
