"""Audited files written as training scripts: optimizer factories that take the configuration
(nanoGPT), command-line arguments after `--`, `.cuda()` at import, and `--device cuda` without a GPU.

The optimizer the audit builds must carry exactly the values the file shows (read back from the
measured param groups), and what it cannot find must be named, with the penalty still measured.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from audit_helpers import FIXTURES, audit_file
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from reglint.audit.errors import AuditError  # noqa: E402
from reglint.audit.factory_args import parse_optimizer_args  # noqa: E402
from reglint.cli import main  # noqa: E402

NANOGPT = FIXTURES / "good_nanogpt_layout.py"
SCRIPT = FIXTURES / "scripts" / "train_with_args.py"

HEAD = "import torch\nfrom torch import nn\n"
MODEL = (
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.fc = nn.Linear(4, 4)\n"
    "    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):\n"
    "        return torch.optim.AdamW(self.parameters(), lr=learning_rate, weight_decay=weight_decay, betas=betas)\n"
    "model = Net()\n"
)
PENALTY = "def penalty(model):\n    return 1e-4 / 2 * model.fc.weight.pow(2).sum()\n"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["audit", *args], catch_exceptions=False)


def groups_of(stdout: str) -> list[dict]:
    return json.loads(stdout)["summary"]["audit"]["optimizer"]["groups"]


def test_nanogpt_configure_optimizers_gets_the_files_values() -> None:
    report = audit_file(NANOGPT)
    decay, no_decay = report.optimizer.groups
    assert math.isclose(decay.weight_decay, 0.1) and decay.lr == 6e-4 and no_decay.weight_decay == 0.0
    assert tuple(decay.hyper["betas"]) == (0.9, 0.95)
    note = next(n for n in report.notes if "configure_optimizers() called with" in n)
    assert "betas=(0.9, 0.95)" in note and "device_type='cpu'" in note and "from beta1, beta2" in note
    assert not report.findings


def test_missing_arguments_are_named_and_the_penalty_still_measured(tmp_path: Path) -> None:
    src = tmp_path / "gpt.py"
    src.write_text(HEAD + MODEL + PENALTY)
    result = run(str(src), "--format", "json")
    assert result.exit_code == 0, result.output  # the penalty is fine; the optimizer is not audited
    doc = json.loads(result.stdout)
    assert doc["summary"]["audit"]["optimizer"] is None and doc["summary"]["audit"]["penalty"] is not None
    note = next(n for n in doc["summary"]["audit"]["notes"] if n.startswith("optimizer not audited"))
    assert "needs weight_decay, learning_rate, betas, which the file does not show" in note  # device_type: the audit's
    assert "--optimizer-args 'weight_decay=...,learning_rate=...,betas=...'" in note and "--optimizer none" in note
    # Without a penalty there is nothing left to measure: exit 2 with the same advice.
    bare = tmp_path / "bare.py"
    bare.write_text(HEAD + MODEL)
    result = run(str(bare))
    assert result.exit_code == 2 and "--optimizer-args" in result.stderr and "--optimizer none" in result.stderr


def test_optimizer_args_option_fills_and_overrides(tmp_path: Path) -> None:
    src = tmp_path / "gpt.py"
    src.write_text(HEAD + "learning_rate = 1e-3\n" + MODEL)
    result = run(str(src), "--optimizer-args", "weight_decay=0.05,betas=(0.8, 0.9),learning_rate=3e-4", "--format", "json")
    assert result.exit_code == 1, result.output  # AdamW decays fc.bias: RL202
    (group,) = groups_of(result.stdout)
    hyper = group["hyperparameters"]
    assert hyper["lr"] == 3e-4 and hyper["weight_decay"] == 0.05 and hyper["betas"] == [0.8, 0.9]
    assert math.isclose(group["shrink_per_step"]["1.0"], 3e-4 * 0.05, rel_tol=1e-9)
    result = run(str(src), "--optimizer-args", "weight_decay=0.05,betas=(0.8,0.9),momentum=0.9")
    assert result.exit_code == 2 and "momentum" in result.stderr


def test_config_objects_and_argparse_defaults(tmp_path: Path) -> None:
    src = tmp_path / "cfg.py"
    src.write_text(
        HEAD + "import argparse\nfrom dataclasses import dataclass\n"
        "@dataclass\nclass TrainConfig:\n    weight_decay: float = 0.02\n    beta1: float = 0.85\n    beta2: float = 0.97\n"
        "cfg = TrainConfig()\n"
        "parser = argparse.ArgumentParser()\nparser.add_argument('--lr', type=float, default=2e-3)\n"
        + MODEL
    )
    result = run(str(src), "--format", "json")
    assert result.exit_code == 1, result.output  # AdamW decays fc.bias: RL202
    (group,) = groups_of(result.stdout)
    hyper = group["hyperparameters"]
    assert hyper["weight_decay"] == 0.02 and hyper["lr"] == 2e-3 and hyper["betas"] == [0.85, 0.97]
    notes = json.loads(result.stdout)["summary"]["audit"]["notes"]
    assert any(re.search(r"weight_decay from (cfg|TrainConfig)\b", n) and "parser's --lr (as `lr`)" in n for n in notes), notes


def test_parse_optimizer_args() -> None:
    assert parse_optimizer_args("weight_decay=0.1,learning_rate=6e-4,betas=(0.9, 0.95),device_type=cpu") == {
        "weight_decay": 0.1, "learning_rate": 6e-4, "betas": (0.9, 0.95), "device_type": "cpu"}
    assert parse_optimizer_args(None) == {}
    for bad in ("0.1", "wd", "x=(1,", "1a=2"):
        with pytest.raises(AuditError):
            parse_optimizer_args(bad)


def test_script_arguments_after_double_dash() -> None:
    result = run(str(SCRIPT), "--format", "json", "--", "--lr", "0.1", "--weight-decay", "0.01")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert {(f["code"], f["param"]) for f in doc["findings"]} == {("RL202", "0.bias"), ("RL202", "2.bias")}
    (group,) = groups_of(result.stdout)
    assert group["hyperparameters"]["lr"] == 0.1 and math.isclose(group["shrink_per_step"]["1.0"], 1e-3, rel_tol=1e-9)
    missing = run(str(SCRIPT))
    assert missing.exit_code == 2 and "called sys.exit(2)" in missing.stderr and " -- " in missing.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_at_import_says_how_to_audit() -> None:
    result = run(str(FIXTURES / "errors" / "cuda_at_import.py"))
    assert result.exit_code == 2
    message = result.stderr.splitlines()[-1]
    assert "on a GPU while it is imported" in message and "--device cuda" in message
    assert "torch.cuda.is_available()" in message and "reglint audit FILE -- --device cpu" in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_cuda_without_gpu_points_at_the_simulation() -> None:
    result = run(str(FIXTURES / "good_sgd_l2_weights.py"), "--device", "cuda")
    assert result.exit_code == 2
    assert "no CUDA device" in result.stderr and "meta device" in result.stderr and "simulated" in result.stderr
    simulated = run(str(FIXTURES / "rl304_cpu_accumulator.py"), "--format", "json")
    (finding,) = [f for f in json.loads(simulated.stdout)["findings"] if f["code"] == "RL304"]
    assert finding["measured"]["simulated"] is True
