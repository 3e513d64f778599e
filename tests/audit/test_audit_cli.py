"""`reglint audit` on the command line: exit codes, formats, options, and the exit-2 errors.

Runs in-process with click's CliRunner (torch is imported once for the whole module).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from audit_helpers import FIXTURES, ROOT
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from reglint.cli import main  # noqa: E402
from reglint.report import FORMATS  # noqa: E402

ERRORS = FIXTURES / "errors"
GOOD = str(FIXTURES / "good_sgd_l2_weights.py")
RL101 = str(FIXTURES / "rl101_penalty_on_bias.py")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["audit", *args], catch_exceptions=False)


def test_clean_model_exits_0() -> None:
    result = run(GOOD)
    assert result.exit_code == 0, result.output
    assert "All checks passed" in result.stdout
    assert "fc1.weight" in result.stdout and "1.0e-04·w (L2)" in result.stdout


def test_findings_exit_1_and_name_parameters() -> None:
    result = run(RL101)
    assert result.exit_code == 1, result.output
    # One line per group of parameters that measured the same, named by an honest pattern.
    assert "RL101 [warning] fc{1,2}.bias (2)\n" in result.stdout
    assert "RL101 [warning] norm.{weight,bias} (2)\n" in result.stdout
    assert result.stdout.count("biases and norm parameters should not be penalized") == 1


def test_exit_zero_and_fail_level() -> None:
    assert run(RL101, "--exit-zero").exit_code == 0
    assert run(RL101, "--fail-level", "error").exit_code == 0  # RL101 is a warning
    assert run(str(FIXTURES / "rl301_wrong_backward.py"), "--fail-level", "error").exit_code == 1
    assert run(RL101, "--fail-level", "info").exit_code == 1


def test_json_schema() -> None:
    result = run(RL101, "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["version"] == 1
    findings = doc["findings"]
    assert {f["param"] for f in findings} == {"fc1.bias", "norm.weight", "norm.bias", "fc2.bias"}
    for f in findings:
        assert {"code", "name", "severity", "message", "param", "measured"} <= f.keys()
        assert f["code"] == "RL101" and f["name"] == "penalty-includes-bias" and f["severity"] == "warning"
        assert f["measured"]["form"] == "l2" and abs(f["measured"]["l2"] - 1e-4) <= 1e-13
        assert "path" not in f
    audit = doc["summary"]["audit"]
    assert doc["summary"]["findings"] == 4 and doc["summary"]["by_code"] == {"RL101": 4}
    labels = [row["label"] for row in audit["rows"]]
    assert "norm.{weight,bias}" in labels
    row = audit["rows"][labels.index("fc1.weight")]
    assert row["penalty_measured"]["form"] == "l2" and row["verdict"] == []
    assert audit["optimizer"]["class"] == "SGD" and audit["optimizer"]["groups"][0]["mode"] == "none"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders(fmt: str) -> None:
    try:
        __import__(f"reglint.report.{fmt}_format")
    except ImportError:
        pytest.skip(f"the {fmt} format is not there yet")
    result = run(RL101, "--format", fmt)
    assert result.exit_code == 1, result.output
    assert "RL101" in result.stdout


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    result = run(RL101, "--format", "json", "-o", str(out))
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(out.read_text())["summary"]["by_code"] == {"RL101": 4}


def test_expect_option_overrides_the_file() -> None:
    # The file declares l2=1e-4 (right); declaring 5e-5 makes the measured 1e-4 a 2× mismatch.
    result = run(GOOD, "--expect", "l2=5e-5", "--format", "json")
    doc = json.loads(result.stdout)
    assert {(f["code"], f["param"]) for f in doc["findings"]} == {("RL305", "fc1.weight"), ("RL305", "fc2.weight")}
    assert all(abs(f["measured"]["ratio"] - 2.0) < 1e-6 for f in doc["findings"])
    result = run(GOOD, "--expect", "l1=1e-4", "--format", "json")
    assert {f["code"] for f in json.loads(result.stdout)["findings"]} == {"RL301"}


def test_overrides_and_none(tmp_path: Path) -> None:
    src = tmp_path / "setup.py"
    src.write_text(
        "import torch\nfrom torch import nn\n"
        "def my_net():\n    torch.manual_seed(0)\n    return nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))\n"
        "def l1(model):\n    return 1e-5 * sum(p.abs().sum() for p in model.parameters() if p.ndim >= 2)\n"
        "def l2_all(model):\n    return 1e-4 / 2 * sum(p.pow(2).sum() for p in model.parameters())\n"
        "def adamw(model):\n    return torch.optim.AdamW(model.parameters(), lr=1e-3)\n"
    )
    result = run(str(src), "--model", "my_net", "--penalty", "l1", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"]["audit"]["optimizer"] is None
    result = run(f"{src}:my_net", "--penalty", "l2_all", "--optimizer", "adamw", "--format", "json")
    codes = {(f["code"], f["param"]) for f in json.loads(result.stdout)["findings"]}
    assert ("RL101", "0.bias") in codes and ("RL202", "0.bias") in codes and ("RL203", "0.weight") in codes
    result = run(f"{src}:my_net", "--penalty", "none", "--optimizer", "none")
    assert result.exit_code == 2 and "nothing to measure" in result.stderr


def test_module_attr_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.chdir(ROOT)
    sys.modules.pop("rl202_adamw_all_params", None)
    result = run("rl202_adamw_all_params:model", "--format", "json")
    assert result.exit_code == 1, result.output
    assert {f["code"] for f in json.loads(result.stdout)["findings"]} == {"RL202"}


def test_lightning_module_is_found() -> None:
    result = run(str(FIXTURES / "good_lightning_module.py"))
    assert result.exit_code == 0, result.output
    assert "model.regularization()" in result.stdout and "model.configure_optimizers()" in result.stdout


def test_help_says_it_runs_the_code() -> None:
    result = CliRunner().invoke(main, ["audit", "--help"])
    assert result.exit_code == 0
    assert "RUNS" in result.stdout and "pip install 'reglint[audit]'" in result.stdout


@pytest.mark.parametrize(
    "name,message",
    [
        ("no_model.py", "no model found: looked for `model`"),
        ("nonscalar_penalty.py", "returned a tensor of shape (4,), not a scalar"),
        ("float_penalty.py", "returned the Python number"),
        ("global_model.py", "global model"),
        ("nothing_to_measure.py", "nothing to measure"),
        ("parses_args_on_import.py", "called sys.exit(2)"),
    ],
)
def test_input_errors_exit_2(name: str, message: str) -> None:
    result = run(str(ERRORS / name))
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr
    assert result.stdout == ""


def test_import_error_shows_the_users_traceback() -> None:
    result = run(str(ERRORS / "import_raises.py"))
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "import_raises.py\", line 7, in load_config" in result.stderr
    assert "KeyError: 'depth'" in result.stderr
    assert "reglint/audit" not in result.stderr and "importlib" not in result.stderr


def test_penalty_error_shows_the_users_traceback() -> None:
    result = run(str(ERRORS / "penalty_raises.py"))
    assert result.exit_code == 2
    assert "penalty_raises.py\", line 9, in penalty" in result.stderr
    assert "reglint: error: penalty(model) raised KeyError: '0.weight'" in result.stderr


def test_timeout_stops_a_hanging_penalty() -> None:
    result = run(str(ERRORS / "penalty_hangs.py"), "--timeout", "0.5")
    assert result.exit_code == 2
    assert "did not return within 0.5 s (--timeout)" in result.stderr


def test_missing_file_and_bad_expect() -> None:
    result = run("no/such/file.py")
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = run(GOOD, "--expect", "l3=1")
    assert result.exit_code == 2 and "--expect" in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_cuda_without_gpu_is_a_usage_error() -> None:
    result = run(GOOD, "--device", "cuda")
    assert result.exit_code == 2 and "no CUDA device" in result.stderr


def test_declared_l2_with_unsquared_norm_is_reported_once() -> None:
    result = run(str(FIXTURES / "rl102_unsquared_norm.py"), "--expect", "l2=1e-3", "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    assert {(f["code"], f["param"]) for f in findings} == {("RL102", "fc1.weight"), ("RL102", "fc2.weight")}
    assert "expected 0.0010·w (L2, declared)" in findings[0]["message"]


def test_model_that_cannot_be_copied(tmp_path: Path) -> None:
    src = tmp_path / "locked.py"
    src.write_text(
        "import threading\nimport torch\nfrom torch import nn\n"
        "model = nn.Linear(3, 3)\nmodel.lock = threading.Lock()\n"
        "def penalty(model):\n    return model.weight.pow(2).sum()\n"
    )
    result = run(str(src))
    assert result.exit_code == 2
    assert "cannot be copied" in result.stderr


def test_internal_errors_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import reglint.audit.runner as runner

    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(runner, "run_audit", boom)
    result = run(GOOD)
    assert result.exit_code == 2
    assert "internal error" in result.stderr and "ZeroDivisionError" in result.stderr
