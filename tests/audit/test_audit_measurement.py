"""Measurement details behind the report: folded gradients, the full-size pass, frozen parameters,
SGD's momentum, and advice that, followed literally, gives the intended pull.

References are closed forms or float64 computed here, never the code under test: a float64 dot
product for the sums, λ for λ/2·Σw², the dominant eigenvalue of SGD-with-momentum's linear
recurrence for its steady-state shrink.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from torch.overrides import TorchFunctionMode  # noqa: E402

from reglint.audit import sums  # noqa: E402
from reglint.audit.copies import BLOCK_SIZE, fill_tiled  # noqa: E402
from reglint.audit.copies import test_block as tiled_values  # noqa: E402
from reglint.audit.forms import L2, fit_folded  # noqa: E402
from reglint.audit.params import describe_parameters  # noqa: E402
from reglint.audit.penalty import measure_penalty  # noqa: E402
from reglint.audit.runner import run_audit  # noqa: E402

LAM = 3e-4


def _l2_residual64(g: torch.Tensor, w: torch.Tensor) -> tuple[float, float]:
    """The best L2 fit a and its relative residual ‖g − a·w‖/‖g‖, directly in float64."""
    g64, w64 = g.double(), w.double()
    a = float(g64 @ w64) / float(w64 @ w64)
    return a, float((g64 - a * w64).norm() / g64.norm())


def test_folded_fit_matches_float64_on_a_large_tensor() -> None:
    # 2M tiled test values (488 blocks and a remainder). An exact λ·w must fit L2 with a
    # residual near float32's rounding, and a gradient that is 1% stronger on a quarter of the
    # tensor must show that residual, as float64 computed directly says.
    w = torch.empty(2_000_000)
    fill_tiled(w, tiled_values(torch.float32, "cpu"))
    exact = (LAM * w).float()
    fit = fit_folded(sums.fold(exact, w, BLOCK_SIZE))
    a64, r64 = _l2_residual64(exact, w)
    assert fit.shape() == L2 and math.isclose(fit.a_l2, a64, rel_tol=1e-6) and fit.r_l2 < 1e-6 and r64 < 1e-6
    uneven = exact.clone()
    uneven[:500_000] *= 1.01
    fit = fit_folded(sums.fold(uneven, w, BLOCK_SIZE))
    a64, r64 = _l2_residual64(uneven, w)
    assert r64 > 1e-3 and math.isclose(fit.r_l2, r64, rel_tol=1e-3) and math.isclose(fit.a_l2, a64, rel_tol=1e-6)
    assert fit.shape() is None  # no form fits: not L2, not L1, not elastic net
    # Folding nothing (period None) is the plain float64 fit.
    small = w[:5000]
    assert math.isclose(fit_folded(sums.fold(uneven[:5000], small)).r_l2, _l2_residual64(uneven[:5000], small)[1],
                        rel_tol=1e-9)


def test_fold_flags_nonfinite_gradients() -> None:
    w = torch.empty(50_000)
    fill_tiled(w, tiled_values(torch.float32, "cpu"))
    g = w.clone()
    g[40_000] = math.nan
    assert not sums.fold(g, w, BLOCK_SIZE).finite
    g[40_000], g[49_999] = 1.0, math.inf  # in the remainder
    assert not sums.fold(g, w, BLOCK_SIZE).finite
    assert sums.fold(None, w, BLOCK_SIZE).sgg == 0.0


class Float64Watch(TorchFunctionMode):
    """The largest float64 tensor any torch call returns while active."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Optional[dict] = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and out.dtype == torch.float64:
            self.largest = max(self.largest, out.numel())
        return out


def test_plain_l2_on_large_tensors_needs_no_full_size_float64() -> None:
    # A 120,000-value embedding: the miniature (cap 4096) is float64, the full-size tensors are
    # measured in float32, folded onto the test values' period: no float64 tensor above two blocks.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(1200, 100), nn.Linear(100, 100))
    infos = describe_parameters(model)
    with Float64Watch() as watch:
        result = measure_penalty(model, lambda m: LAM / 2 * sum(p.pow(2).sum() for p in m.parameters()), "penalty(model)",
                                 infos, device="cpu", timeout=30)
    assert watch.largest <= 2 * BLOCK_SIZE, watch.largest
    assert result.full_size == [True, True, False] or result.full_size[:2] == [True, True]
    for info, form in zip(infos, result.forms):
        assert form is not None and form.kind == L2 and math.isclose(form.a, LAM, rel_tol=1e-6), (info.name, form)
    assert not any("depends on the tensor" in n for n in result.notes)
    assert "float32" in result.measured_on and not result.core.full_size


def test_penalty_over_frozen_parameters_gets_a_note() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    every = run_audit(model, lambda m: LAM / 2 * sum(p.pow(2).sum() for p in m.parameters() if p.ndim >= 2))
    notes = [n for n in every.notes if "frozen" in n]
    assert len(notes) == 1 and "0.weight" in notes[0] and "constant" in notes[0], every.notes
    assert "0.bias" not in notes[0]  # the penalty does not sum the (frozen) bias
    trainable = run_audit(model, lambda m: LAM / 2 * sum(p.pow(2).sum() for p in m.parameters()
                                                        if p.ndim >= 2 and p.requires_grad))
    assert not [n for n in trainable.notes if "frozen" in n], trainable.notes
    assert {f.code for f in every.findings} == {f.code for f in trainable.findings} == set()


def _steady_by_eigenvalue(lr: float, wd: float, mu: float, tau: float, nesterov: bool) -> float:
    """1 − the dominant eigenvalue of SGD's recurrence x_t = A x_{t−1}, x = (θ, b), with g = λθ."""
    c = (1 - tau) * wd
    if nesterov:  # θ_t = θ − lr(λθ + μ b_t), b_t = μ b + (1−τ)λθ
        a = [[1 - lr * wd - lr * mu * c, -lr * mu * mu], [c, mu]]
    else:  # θ_t = θ − lr b_t
        a = [[1 - lr * c, -lr * mu], [c, mu]]
    trace, det = a[0][0] + a[1][1], a[0][0] * a[1][1] - a[0][1] * a[1][0]
    root = (trace + math.sqrt(trace * trace - 4 * det)) / 2
    return 1 - root


@pytest.mark.parametrize("mu,tau,nesterov", [(0.9, 0.0, False), (0.9, 0.5, False), (0.9, 0.0, True), (0.5, 0.0, False)])
def test_sgd_momentum_shows_first_step_and_steady_rate(mu: float, tau: float, nesterov: bool) -> None:
    lr, wd = 0.1, 1e-3
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=wd, momentum=mu, dampening=tau, nesterov=nesterov)
    report = run_audit(model, None, opt)
    group = report.optimizer.groups[0]
    first = lr * wd * (1 + mu) if nesterov else lr * wd  # b₁ = g: no dampening on the first step
    assert group.first_step is not None and math.isclose(group.first_step, first, rel_tol=1e-9)
    assert group.steady is not None
    assert math.isclose(group.steady.shrink, _steady_by_eigenvalue(lr, wd, mu, tau, nesterov), rel_tol=1e-6)
    text = report.optimizer.decay_text(0)
    assert "steady" in text and "at first" in text
    assert ("(lr·λ)" in text) == (not nesterov)  # named only where the number is exactly lr·λ
    rl202 = [f for f in report.findings if f.code == "RL202"]
    assert rl202 and all("steady" in f.message for f in rl202)


def test_rl102_advice_followed_literally_gives_the_intended_pull() -> None:
    c = 2e-3
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 5), nn.Linear(5, 3))
    weights = lambda m: [p for p in m.parameters() if p.ndim >= 2]  # noqa: E731
    report = run_audit(model, lambda m: c * sum(torch.norm(p) for p in weights(m)))
    rl102 = [f for f in report.findings if f.code == "RL102"]
    assert len(rl102) == 2
    message = rl102[0].message
    assert "`lam / 2 * p.pow(2).sum()`" in message and "λ = 0.0020" in message and "halved" in message
    # Doing what it says, lam / 2 * p.pow(2).sum() with lam = c, measures the pull c·w of weight_decay=c.
    fixed = run_audit(model, lambda m: sum(c / 2 * p.pow(2).sum() for p in weights(m)))
    assert not fixed.findings
    for info, form in zip(fixed.infos, fixed.penalty.forms):
        if info.shape and len(info.shape) >= 2:
            assert form.kind == L2 and math.isclose(form.a, c, rel_tol=1e-9)
