"""Penalty forms and coefficients, measured against closed-form values.

Each penalty here has a known gradient: λ/2·Σw² → λ·w, λ·Σw² → 2λ·w, λ·Σ|w| → λ·sign(w),
λ·‖w‖ → λ·w/‖w‖, elastic net, `.mean()` (coefficient 2/numel). The expected numbers are written
from the formula, never taken from the code under test. Tolerances: 1e-9 relative for the float64
core; 1e-5 for coefficients refitted on full-size float32 tensors.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from reglint.audit import forms  # noqa: E402
from reglint.audit.params import describe_parameters  # noqa: E402
from reglint.audit.penalty import measure_penalty  # noqa: E402

LAM = 3e-4


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(12, 24)
        self.norm = nn.LayerNorm(24)
        self.fc2 = nn.Linear(24, 3)


@pytest.fixture(scope="module")
def net() -> nn.Module:
    torch.manual_seed(0)
    return Net()


def measure(model: nn.Module, fn, **kw):  # type: ignore[no-untyped-def]
    infos = describe_parameters(model)
    result = measure_penalty(model, fn, "penalty(model)", infos, device="cpu", timeout=30, **kw)
    return {info.name: form for info, form in zip(infos, result.forms)}, result


def close(x: float, y: float, rel: float) -> bool:
    return math.isclose(x, y, rel_tol=rel, abs_tol=0.0)


def test_half_lambda_sum_of_squares_is_l2_lambda(net: nn.Module) -> None:
    got, _ = measure(net, lambda m: LAM / 2 * sum(p.pow(2).sum() for p in m.parameters()))
    for name, form in got.items():
        assert form.kind == forms.L2, name
        assert close(form.a, LAM, 1e-9), (name, form.a)


def test_lambda_sum_of_squares_is_two_lambda(net: nn.Module) -> None:
    got, _ = measure(net, lambda m: LAM * (m.fc1.weight ** 2).sum())
    assert got["fc1.weight"].kind == forms.L2 and close(got["fc1.weight"].a, 2 * LAM, 1e-9)
    assert all(got[n].kind == forms.NONE for n in got if n != "fc1.weight")


def test_l1(net: nn.Module) -> None:
    got, _ = measure(net, lambda m: LAM * sum(torch.abs(p).sum() for p in m.parameters() if p.ndim >= 2))
    for name in ("fc1.weight", "fc2.weight"):
        assert got[name].kind == forms.L1 and close(got[name].b, LAM, 1e-9)
    assert got["fc1.bias"].kind == forms.NONE


def test_elastic_net(net: nn.Module) -> None:
    a, b = 2e-4, 5e-6
    got, _ = measure(net, lambda m: a / 2 * m.fc2.weight.pow(2).sum() + b * m.fc2.weight.abs().sum())
    form = got["fc2.weight"]
    assert form.kind == forms.ELASTIC
    assert close(form.a, a, 1e-9) and close(form.b, b, 1e-9)


@pytest.mark.parametrize("norm", [
    lambda p: torch.norm(p),
    lambda p: torch.norm(p, 2),
    lambda p: p.norm(),
    lambda p: torch.linalg.vector_norm(p),
    lambda p: torch.sqrt((p ** 2).sum()),
])
def test_unsquared_norms(net: nn.Module, norm) -> None:  # type: ignore[no-untyped-def]
    got, _ = measure(net, lambda m: LAM * sum(norm(p) for p in m.parameters()))
    for name, form in got.items():
        assert form.kind == forms.NORM, (name, form)
        assert close(form.c, LAM, 1e-9)


def test_squared_norm_is_l2(net: nn.Module) -> None:
    got, _ = measure(net, lambda m: LAM / 2 * sum(torch.norm(p) ** 2 for p in m.parameters()))
    assert all(f.kind == forms.L2 and close(f.a, LAM, 1e-9) for f in got.values())


def test_no_penalty_on_some_parameters(net: nn.Module) -> None:
    got, result = measure(net, lambda m: LAM / 2 * m.fc1.weight.pow(2).sum())
    assert got["fc1.weight"].kind == forms.L2
    assert {n for n, f in got.items() if f.kind == forms.NONE} == {"fc1.bias", "norm.weight", "norm.bias", "fc2.weight", "fc2.bias"}
    assert not result.core.no_gradient and not result.core.gradcheck.mismatches


def test_unknown_form_is_not_guessed(net: nn.Module) -> None:
    # log(1 + w²) is neither L2 nor L1 nor a norm: reported as unknown with its residual.
    got, result = measure(net, lambda m: LAM * torch.log1p(m.fc1.weight ** 2).sum())
    assert got["fc1.weight"].kind == forms.UNKNOWN
    assert got["fc1.weight"].residual > 1e-3
    assert not result.core.gradcheck.mismatches  # its gradient is right, just not a known form


def test_mean_penalty_coefficient_on_full_tensors(net: nn.Module) -> None:
    # `.mean()` divides by numel: gradient 2/numel·w. With cap=32 every weight is cut for the
    # float64 core, then refitted on the full float32 tensor: the coefficient must be the full one.
    got, result = measure(net, lambda m: sum(p.pow(2).mean() for p in m.parameters()), cap=32)
    assert "miniature" in result.measured_on
    for name, p in net.named_parameters():
        assert got[name].kind == forms.L2, name
        assert close(got[name].a, 2.0 / p.numel(), 1e-5), (name, got[name].a, 2.0 / p.numel())


def test_miniature_and_full_size_agree(net: nn.Module) -> None:
    fn = lambda m: LAM / 2 * sum(p.pow(2).sum() for p in m.parameters() if p.ndim >= 2)  # noqa: E731
    full, _ = measure(net, fn)
    mini, result = measure(net, fn, cap=16)
    assert result.full_size.count(True) >= 2
    for name in full:
        assert full[name].kind == mini[name].kind
        assert close(full[name].a, mini[name].a, 1e-5) or full[name].kind == forms.NONE
    # A plain λ/2·Σw² does not depend on the tensors' size, and the report must not say it does.
    assert not any("depends on the tensor" in n for n in result.notes), result.notes
    assert not result.core.full_size


def test_form_that_depends_on_size_is_measured_at_full_size(net: nn.Module) -> None:
    # Only tensors with more than 100 values are penalized: the miniature (cap 50) sees no
    # penalty on fc1.weight, the full-size measurement (float32, the model's dtype) does, and the
    # report says so for that tensor alone.
    got, result = measure(net, lambda m: LAM / 2 * sum(p.pow(2).sum() for p in m.parameters() if p.numel() > 100), cap=50)
    assert got["fc1.weight"].kind == forms.L2 and close(got["fc1.weight"].a, LAM, 1e-6)
    size_notes = [n for n in result.notes if "depends on the tensor's size" in n]
    assert len(size_notes) == 1 and "fc1.weight" in size_notes[0], result.notes
    assert "float32" in result.measured_on and not result.core.full_size


def test_sliced_penalty_is_unknown_at_full_size(net: nn.Module) -> None:
    # λ/2·Σ over the first 4 rows of fc1.weight (24×12): on a cut of 16 values (4×4) that is every
    # row, an L2; on the full tensor only 4 of 24 rows are pulled, g = λ·w on them and 0 elsewhere,
    # which is no form at all. Closed-form residual of the best L2 fit: √(1 − Σ_rows w² / Σ w²).
    got, result = measure(net, lambda m: LAM / 2 * m.fc1.weight[:4].pow(2).sum(), cap=16)
    assert got["fc1.weight"].kind == forms.UNKNOWN
    assert got["fc1.weight"].residual > 0.5
    assert any("fc1.weight" in n and "depends on the tensor's size" in n for n in result.notes)
    assert not result.core.gradcheck.mismatches  # the gradient is right, checked at full size too


def test_scalar_parameter_abs_is_l1() -> None:
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(0.5))
            self.fc = nn.Linear(3, 3)

    got, _ = measure(Scaled(), lambda m: LAM * m.scale.abs())
    assert got["scale"].kind == forms.L1 and close(got["scale"].b, LAM, 1e-9)


def test_fit_point_on_synthetic_gradients() -> None:
    g = torch.Generator().manual_seed(3)
    w = (torch.rand(500, generator=g, dtype=torch.float64) + 0.1) * torch.where(torch.rand(500, generator=g) < 0.5, -1.0, 1.0).double()
    fit = forms.fit_point(0.7 * w, w)
    assert fit.shape() == forms.L2 and close(fit.a_l2, 0.7, 1e-12) and fit.r_l2 < 1e-14
    fit = forms.fit_point(0.2 * torch.sign(w), w)
    assert fit.shape() == forms.L1 and close(fit.b_l1, 0.2, 1e-12)
    fit = forms.fit_point(0.3 * w + 0.05 * torch.sign(w), w)
    assert fit.shape() == forms.ELASTIC and close(fit.a_el, 0.3, 1e-10) and close(fit.b_el, 0.05, 1e-10)
    assert forms.fit_point(None, w).shape() == forms.NONE
    assert forms.fit_point(torch.zeros_like(w), w).shape() == forms.NONE
    assert forms.fit_point(torch.full_like(w, math.nan), w).shape() is None


def test_classify_two_points() -> None:
    w = torch.linspace(-1, 1, 101, dtype=torch.float64)
    w = w[w != 0]
    l2 = forms.classify(forms.fit_point(0.5 * w, w), forms.fit_point(0.5 * 2 * w, 2 * w))
    assert l2.kind == forms.L2 and close(l2.a, 0.5, 1e-12)
    norm = forms.classify(forms.fit_point(0.5 * w / w.norm(), w), forms.fit_point(0.5 * w / w.norm(), 2 * w))
    assert norm.kind == forms.NORM and close(norm.c, 0.5, 1e-12)
    cubic = forms.classify(forms.fit_point(w * w.norm() ** 2, w), forms.fit_point(8 * w * w.norm() ** 2, 2 * w))
    assert cubic.kind == forms.UNKNOWN and cubic.degree is not None and close(cubic.degree, 3.0, 1e-9)


def test_penalty_that_runs_the_forward_pass_is_measured_at_full_size() -> None:
    # The miniature's cut tensors do not fit together (8×? inputs), so the forward pass fails
    # there; the audit measures again at full size instead of giving up.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    x = torch.ones(2, 64)

    def fn(m: nn.Module) -> torch.Tensor:
        return 1e-3 * m(x.to(m[0].weight.dtype)).pow(2).sum() + LAM / 2 * m[0].weight.pow(2).sum()

    got, result = measure(model, fn, cap=256)
    assert result.core.full_size
    assert any("fails on the miniature" in n for n in result.notes)
    assert got["0.weight"].kind == forms.UNKNOWN  # data term + L2: not a pure form, and not guessed
