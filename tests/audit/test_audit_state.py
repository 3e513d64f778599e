"""An audit leaves no trace: the user's model, gradients, optimizer state and RNG state are unchanged.

The model has gradients and the optimizer has state from a real step and an LR scheduler attached
(whose wrapper of `optimizer.step` would step the original if a copy kept it). After the audit,
every parameter, buffer, gradient, the optimizer's state_dict, and the next random numbers of
Python, torch and the generator used by the user's code must be exactly what they were.
"""

from __future__ import annotations

import copy
import random

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from reglint.audit.runner import run_audit  # noqa: E402


class MyAdam(torch.optim.Adam):
    """Unknown to the audit (a subclass): stepped on a deep copy instead of a probe."""


def _setup(cls: type = torch.optim.Adam) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    opt = cls(model.parameters(), lr=1e-3, weight_decay=1e-2)
    torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    loss = model(torch.randn(4, 6)).pow(2).sum()
    loss.backward()
    opt.step()
    loss = model(torch.randn(4, 6)).pow(2).sum()
    loss.backward()  # gradients present, not yet applied
    return model, opt


def _snapshot(model: nn.Module, opt: torch.optim.Optimizer) -> dict:
    return {
        "params": {n: p.detach().clone() for n, p in model.named_parameters()},
        "grads": {n: p.grad.clone() for n, p in model.named_parameters()},
        "buffers": {n: b.clone() for n, b in model.named_buffers()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "optimizer": copy.deepcopy(opt.state_dict()),
        "training": model.training,
    }


def _same(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def penalty(model: nn.Module) -> torch.Tensor:
    # Draws random numbers on purpose: the audit must restore the RNG state afterwards.
    noise = torch.rand(()) * 0
    return 1e-4 / 2 * sum(p.pow(2).sum() for p in model.parameters()) + noise


@pytest.mark.parametrize("how", ["instance", "factory", "unknown-class"])
def test_audit_leaves_model_optimizer_and_rng_unchanged(how: str) -> None:
    model, opt = _setup(MyAdam if how == "unknown-class" else torch.optim.Adam)
    before = _snapshot(model, opt)
    random.seed(7)
    torch.manual_seed(7)
    py_state, torch_state = random.getstate(), torch.get_rng_state()
    optimizer = (lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3)) if how == "factory" else opt
    report = run_audit(model, penalty, optimizer, timeout=30)
    assert report.findings  # it did measure something (RL101, RL201/RL202, RL203)
    assert random.getstate() == py_state
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = _snapshot(model, opt)
    for key in before:
        assert _same(before[key], after[key]), f"the audit changed the user's {key}"


def test_audit_restores_rng_when_the_penalty_fails() -> None:
    from reglint.audit.errors import AuditError

    model, _ = _setup()
    torch.manual_seed(3)
    state = torch.get_rng_state()

    def broken(m: nn.Module) -> torch.Tensor:
        torch.rand(10)
        raise ValueError("boom")

    with pytest.raises(AuditError):
        run_audit(model, broken, None, timeout=30)
    assert torch.equal(torch.get_rng_state(), state)
