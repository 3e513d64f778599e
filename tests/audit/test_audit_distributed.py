"""`reglint audit` under torchrun: 2 CPU processes (gloo) per test, on the fixtures in
fixtures/audit/distributed/.

Each test runs the real launcher in a subprocess with a deadline (the audit's own --timeout on
every collective and store wait, and a subprocess timeout around it), and checks the measured
numbers against closed forms written from the fixture's constants: a penalty λ/2·Σw² added on one
rank of W and averaged gives (1/W)·λ·w; AdamW with a zero gradient shrinks |w| by exactly lr·λ
per step in a group that decays and by 0 in one that does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import FIXTURES, WHOLE, expected_pairs

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not (dist.is_available() and dist.is_gloo_available()):  # pragma: no cover - every Linux/macOS wheel has gloo
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

DIST = FIXTURES / "distributed"
WORLD = 2
TIMEOUT = 30  # --timeout: every collective and every wait of the audit
DEADLINE = 300  # the whole subprocess, on a slow shared machine
ADAMW_LR, ADAMW_WD = 1e-3, 0.1  # the fixtures' AdamW decay group: shrink lr·λ per step
L2 = 1e-4  # the fixtures' λ in λ/2·Σw²


def audit(path: Path, *args: str, launcher: str = "nproc") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
    if launcher == "nproc":
        cmd = [sys.executable, "-m", "reglint", "audit", "--nproc", str(WORLD), str(path), "--timeout", str(TIMEOUT), *args]
    else:  # the user's own torchrun
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={WORLD}",
               "-m", "reglint", "audit", str(path), "--timeout", str(TIMEOUT), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=DEADLINE, env=env)


def audit_json(path: Path) -> tuple[int, dict[str, Any]]:
    result = audit(path, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def pairs(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["code"], f["param"] or WHOLE) for f in doc["findings"]}


def by_param(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["param"]: f for f in doc["findings"] if f["param"] is not None}


def test_correct_ddp_setup_is_silent_and_prints_once() -> None:
    result = audit(DIST / "ddp_good.py")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.count("reglint audit ") == 1  # only rank 0 prints
    assert "All checks passed (1 model audited on 2 ranks)." in out
    assert "under torchrun: 2 ranks, gloo, DDP" in out
    # measured on both sides and equal: the fixture's λ = 1e-5 on weights, lr·λ = 1e-4 in group 0
    assert "1.0e-05·sign(w)" in out and "g0: 1.0e-04/step (lr·λ)" in out and "g1: no decay" in out
    assert "→" not in out.split("----")[-1]  # no cell differs
    assert result.stderr.strip() == ""


def test_penalty_on_rank0_only_is_averaged_over_the_world() -> None:
    code, doc = audit_json(DIST / "ddp_penalty_on_rank0.py")
    assert code == 1
    assert pairs(doc) == expected_pairs(DIST / "ddp_penalty_on_rank0.py")
    for finding in doc["findings"]:
        measured = finding["measured"]
        assert measured["one_process"]["l2"] == pytest.approx(L2, rel=1e-5)
        for rank in map(str, range(WORLD)):
            assert measured["ratio_l2"][rank] == pytest.approx(1 / WORLD, rel=1e-5)
            assert measured["ranks"][rank]["l2"] == pytest.approx(L2 / WORLD, rel=1e-5)
        values = measured["penalty_value"]
        assert values["ranks"]["0"] == pytest.approx(values["one_process"], rel=1e-6) and values["ranks"]["1"] == 0
        assert "0.50·λ·w under DDP with 2 ranks, 1.0·λ·w in one process" in finding["message"]
        assert "added on rank 0 only" in finding["message"]


def _decay(side: dict[str, Any]) -> float:
    return side["shrink_per_step"]["1"]


def test_no_decay_group_named_from_the_wrapped_model_decays_biases() -> None:
    code, doc = audit_json(DIST / "ddp_groups_wrapped_names.py")
    assert code == 1
    assert pairs(doc) == expected_pairs(DIST / "ddp_groups_wrapped_names.py")
    for finding in doc["findings"]:
        measured = finding["measured"]
        assert _decay(measured["one_process"]) == 0 and measured["one_process"]["weight_decay"] == 0
        for side in measured["ranks"].values():
            assert _decay(side) == pytest.approx(ADAMW_LR * ADAMW_WD, rel=1e-3)
            assert side["closed_form_shrink"] == pytest.approx(ADAMW_LR * ADAMW_WD, rel=1e-9)
        assert measured["seen_as"]["name"] == "module." + finding["param"]
    # the text groups the four parameters in one entry
    assert len(doc["summary"]["audit"]["groups"]) == 1


def test_no_decay_group_named_from_the_unwrapped_model_is_silent() -> None:
    code, doc = audit_json(DIST / "ddp_groups_unwrapped_names.py")
    assert code == 0 and doc["findings"] == []
    rows = {r["label"]: r for r in doc["summary"]["audit"]["rows"]}
    assert rows["fc1.bias"]["optimizer"] == "g1: no decay"
    assert rows["fc1.weight"]["optimizer"] == "g0: 1.0e-04/step (lr·λ)"


def test_fsdp_flat_parameters_put_biases_in_the_decay_group() -> None:
    code, doc = audit_json(DIST / "fsdp_flat_name_groups.py")
    assert code == 1
    assert pairs(doc) == expected_pairs(DIST / "fsdp_flat_name_groups.py")
    assert doc["summary"]["audit"]["distributed"]["wrapping"] == "FSDP (use_orig_params=False)"
    for finding in doc["findings"]:
        measured = finding["measured"]
        assert measured["seen_as"]["kind"] == "flat parameter"
        assert measured["seen_as"]["name"].endswith("_flat_param")
        assert _decay(measured["one_process"]) == 0
        for side in measured["ranks"].values():
            assert _decay(side) == pytest.approx(ADAMW_LR * ADAMW_WD, rel=1e-3)


def test_penalty_over_sharded_parameters_misses_the_weights() -> None:
    code, doc = audit_json(DIST / "fsdp_sharded_penalty.py")
    assert code == 1
    assert pairs(doc) == expected_pairs(DIST / "fsdp_sharded_penalty.py")
    for finding in doc["findings"]:
        measured = finding["measured"]
        assert measured["one_process"]["l2"] == pytest.approx(L2, rel=1e-5)
        assert all(side["norm"] == 0 for side in measured["ranks"].values())
        assert measured["seen_as"]["kind"] == "1-D shard" and len(measured["seen_as"]["shape"]) == 1
        assert set(measured["penalty_value"]["ranks"].values()) == {0.0}
        assert "penalty gradient 0 under FSDP (use_orig_params=True) with 2 ranks" in finding["message"]


def test_penalty_over_flat_parameters_raises_in_the_backward() -> None:
    code, doc = audit_json(DIST / "fsdp_flat_penalty.py")
    assert code == 1
    assert pairs(doc) == expected_pairs(DIST / "fsdp_flat_penalty.py")
    [finding] = doc["findings"]
    assert finding["measured"]["stage"] == "penalty" and finding["measured"]["ranks"] == [0, 1]
    # the shard (half of the unit's 740 values) meets the unsharded flat parameter's gradient
    assert "got [370] but expected shape compatible with [740]" in finding["message"]
    assert "in one process it runs" in finding["message"]


def test_fully_shard_penalty_that_raises_is_one_finding() -> None:
    code, doc = audit_json(DIST / "fully_shard_penalty.py")
    assert code == 1
    assert pairs(doc) == expected_pairs(DIST / "fully_shard_penalty.py")
    [finding] = doc["findings"]
    assert finding["measured"]["stage"] == "penalty" and finding["measured"]["ranks"] == [0, 1]
    assert "raises on every rank" in finding["message"] and "in one process it runs" in finding["message"]
    rows = {r["label"]: r for r in doc["summary"]["audit"]["rows"]}
    # the decay is measured on DTensors and agrees: groups by p.ndim see the global shapes
    assert rows["fc1.weight"]["optimizer"] == "g0: 1.0e-04/step (lr·λ)" and rows["fc1.weight"]["verdict"] == []


def test_a_failing_rank_is_reported_with_its_traceback_and_nothing_hangs() -> None:
    start = time.monotonic()
    result = audit(FIXTURES / "distributed" / "errors" / "build_fails_on_rank1.py", "--timeout", "8")
    elapsed = time.monotonic() - start
    assert result.returncode == 2, result.stdout + result.stderr
    assert "reglint: error: on rank 1: build_model() raised RuntimeError: the checkpoint shard for rank 1" in result.stderr
    assert 'build_fails_on_rank1.py", line' in result.stderr  # the user's traceback
    assert "rank 0 waited for it in a collective until --timeout" in result.stderr
    assert result.stdout == ""
    assert elapsed < DEADLINE / 2


def test_a_penalty_failing_on_one_rank_stops_every_rank_before_the_reduction() -> None:
    path = DIST / "errors" / "penalty_fails_on_rank1.py"
    start = time.monotonic()
    result = audit(path, "--timeout", "120", "--format", "json")
    elapsed = time.monotonic() - start
    # without the ranks' agreement, rank 0 would wait in DDP's all-reduce until the 120 s timeout
    assert elapsed < 100, elapsed
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert pairs(doc) == expected_pairs(path)
    [finding] = doc["findings"]
    assert finding["measured"]["ranks"] == [1] and "raises on rank 1: ValueError" in finding["message"]
    notes = doc["summary"]["audit"]["notes"]
    assert any('penalty_fails_on_rank1.py:26 in penalty: raise ValueError' in n for n in notes), notes
    assert "rank 0: stopped: another rank failed before the gradient reduction" in notes


def test_under_the_users_own_torchrun() -> None:
    result = audit(DIST / "ddp_penalty_on_rank0.py", launcher="torchrun")
    # torchrun turns rank 0's exit code 1 into its own failure report, and exits 1
    assert result.returncode == 1, result.stderr
    assert result.stdout.count("reglint audit ") == 1
    assert "RL306 [warning] fc{1,2}.weight (2)" in result.stdout


@pytest.mark.cuda
def test_nccl_on_gpus() -> None:
    if torch.cuda.device_count() < WORLD:
        pytest.skip(f"needs {WORLD} GPUs")
    result = audit(DIST / "ddp_penalty_on_rank0.py", "--device", "cuda", "--format", "json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["summary"]["audit"]["distributed"]["backend"] == "nccl"
    for finding in doc["findings"]:
        for rank in map(str, range(WORLD)):
            assert finding["measured"]["ratio_l2"][rank] == pytest.approx(1 / WORLD, rel=1e-5)
