"""RL304: the penalty leaves the parameters' device, simulated on `meta` without a GPU, real on CUDA.

The meta device follows CUDA's device rules (a CPU scalar may mix with it, anything else raises)
without computing: `torch.zeros(1) + meta` raises, `torch.tensor(0.).add_(meta)` stays on the CPU,
`.item()` and `.cpu()` are recorded as copies off the device. Penalties that start from `0.` or
make their tensors with `device=p.device` are clean. The CUDA tests run only with a GPU.
"""

from __future__ import annotations

from typing import Callable

import pytest
from audit_helpers import FIXTURES, audit_file, found_pairs

torch = pytest.importorskip("torch")
nn = torch.nn

from reglint.audit.copies import meta_copy  # noqa: E402
from reglint.audit.devices import run_on_device  # noqa: E402
from reglint.audit.runner import run_audit  # noqa: E402


def weights(m: nn.Module) -> list[torch.Tensor]:
    return [p for p in m.parameters() if p.ndim >= 2]


def zeros_accumulator(m: nn.Module) -> torch.Tensor:
    reg = torch.zeros(1)
    for p in weights(m):
        reg = reg + p.pow(2).sum()
    return reg.sum()


def inplace_cpu_scalar(m: nn.Module) -> torch.Tensor:
    reg = torch.tensor(0.0)
    for p in weights(m):
        reg += p.pow(2).sum()
    return reg


def moves_to_cpu(m: nn.Module) -> torch.Tensor:
    return sum(p.pow(2).sum().cpu() for p in weights(m))  # type: ignore[return-value]


def float_start(m: nn.Module) -> torch.Tensor:
    reg = 0.0
    for p in weights(m):
        reg = reg + p.pow(2).sum()
    return reg  # type: ignore[return-value]


def on_param_device(m: nn.Module) -> torch.Tensor:
    ps = weights(m)
    reg = torch.zeros((), device=ps[0].device)
    for p in ps:
        reg = reg + p.pow(2).sum()
    return reg


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))


@pytest.mark.parametrize(
    "fn,flagged,what",
    [
        (zeros_accumulator, True, "error"),
        (inplace_cpu_scalar, True, "off_device"),
        (moves_to_cpu, True, "transfers"),
        (float_start, False, None),
        (on_param_device, False, None),
    ],
)
def test_meta_simulation(model: nn.Module, fn: Callable[[nn.Module], torch.Tensor], flagged: bool, what: str) -> None:
    result = run_on_device(meta_copy(model), fn, "meta", simulated=True)
    assert result.flagged is flagged, result
    if what == "error":
        assert "device" in (result.error or "") and result.cpu_factories == ["torch.zeros(...)"]
    elif what == "off_device":
        assert result.result_device == "cpu" and "torch.tensor(...)" in result.cpu_factories
    elif what == "transfers":
        assert ".cpu()" in result.transfers


def test_rl304_finding_has_no_param_and_says_simulated(model: nn.Module) -> None:
    report = run_audit(model, inplace_cpu_scalar, None, timeout=30)
    (finding,) = [f for f in report.findings if f.code == "RL304"]
    assert finding.param is None
    assert "simulated on the meta device" in finding.message and "on cpu" in finding.message
    assert finding.data["measured"]["simulated"] is True


def test_meta_copy_allocates_no_parameter_memory(model: nn.Module) -> None:
    meta = meta_copy(model)
    assert all(p.device.type == "meta" for p in meta.parameters())
    assert all(p.device.type == "cpu" for p in model.parameters())


@pytest.mark.cuda
def test_cuda_device_error_is_real() -> None:
    report = audit_file(FIXTURES / "rl304_cpu_accumulator.py", device="cuda")
    assert ("RL304", "<penalty>") in found_pairs(report)
    (finding,) = [f for f in report.findings if f.code == "RL304"]
    assert "on cuda" in finding.message and "simulated" not in finding.message


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["good_sgd_l2_weights.py", "rl101_penalty_on_bias.py", "rl201_adam_coupled.py", "rl102_unsquared_norm.py"])
def test_cuda_matches_cpu(name: str) -> None:
    on_cpu = audit_file(FIXTURES / name, device="cpu")
    on_gpu = audit_file(FIXTURES / name, device="cuda")
    assert found_pairs(on_gpu) == found_pairs(on_cpu)
    assert on_gpu.device is None or not on_gpu.device.flagged
    if on_cpu.penalty is not None:
        for a, b in zip(on_cpu.penalty.forms, on_gpu.penalty.forms):
            assert a is not None and b is not None and a.kind == b.kind
            assert abs(a.strength - b.strength) <= 1e-9 * max(abs(a.strength), 1e-300)
