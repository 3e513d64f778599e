"""RL303 (low precision), RL302 (non-finite gradient), RL301/RL103 (autograd vs finite differences).

RL303 numbers are checked against the float64 value computed here from the model's own weights.
The finite-difference check must find a wrong backward or a detached term and name its parameter,
and must stay silent for correct penalties that are not polynomials, for penalties accumulated in
float32, and for penalties that draw random numbers (the audit reseeds before each evaluation).
"""

from __future__ import annotations

import math

import pytest
from audit_helpers import FIXTURES, audit_file, finding

torch = pytest.importorskip("torch")
nn = torch.nn

from reglint.audit.gradcheck import check_gradients  # noqa: E402
from reglint.audit.runner import run_audit  # noqa: E402


def test_fp16_overflow_numbers() -> None:
    report = audit_file(FIXTURES / "rl303_fp16_overflow.py")
    f = finding(report, "RL303", "tok.weight")
    data = f.data["measured"]
    import importlib.util

    spec = importlib.util.spec_from_file_location("fp16_fixture_copy", FIXTURES / "rl303_fp16_overflow.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.lam / 2 * sum(float(p.detach().double().pow(2).sum()) for p in module.model.parameters())
    assert data["value"] == "inf" and data["dtype"] == "float16"
    assert math.isclose(data["reference"], expected, rel_tol=1e-12)
    tok = float(module.model.tok.weight.detach().double().pow(2).sum())
    assert math.isclose(data["sum_of_squares"], tok, rel_tol=1e-12) and tok > 65504


def test_bf16_relative_error() -> None:
    report = audit_file(FIXTURES / "rl303_bf16_accumulator.py")
    f = finding(report, "RL303", None)
    expected = 1e-5 * 600 * 16 * (1.0 / 16)  # 600 layers of 16 weights equal to 1/16, exact in float64
    data = f.data["measured"]
    assert math.isclose(data["reference"], expected, rel_tol=1e-12)
    assert data["relative_error"] > 0.01


def test_float32_model_is_not_checked_for_precision() -> None:
    report = audit_file(FIXTURES / "good_sgd_l2_weights.py")
    assert report.penalty is not None and report.penalty.precision is None


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.b = nn.Linear(6, 6)
        self.c = nn.Linear(6, 2)


@pytest.fixture(scope="module")
def net() -> nn.Module:
    torch.manual_seed(0)
    return Net()


def codes(report) -> set[tuple[str, object]]:  # type: ignore[no-untyped-def]
    return {(f.code, f.param) for f in report.findings}


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: 1e-3 * sum(torch.log(torch.cosh(p)).sum() for p in m.parameters() if p.ndim >= 2),
        lambda m: 1e-3 * sum(nn.functional.huber_loss(p, torch.zeros_like(p), reduction="sum") for p in m.parameters() if p.ndim >= 2),
        lambda m: 1e-4 * sum((p.float() ** 2).sum() for p in m.parameters() if p.ndim >= 2),
        lambda m: 1e-4 * sum(p.pow(2).sum() for p in m.parameters() if p.ndim >= 2) * (1 + 0 * torch.rand(())),
        lambda m: torch.zeros((), dtype=torch.float32) + 1e-4 * sum(p.pow(2).sum() for p in m.parameters()).float(),
    ],
    ids=["logcosh", "huber", "float32-terms", "random-draw", "float32-accumulator"],
)
def test_no_false_gradient_mismatch(net: nn.Module, fn) -> None:  # type: ignore[no-untyped-def]
    report = run_audit(net, fn, None, timeout=30)
    assert not {c for c, _ in codes(report)} & {"RL301", "RL103"}, [f.message for f in report.findings]


def test_wrong_backward_is_located(net: nn.Module) -> None:
    class Half(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(w)
            return w.pow(2).sum()

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            (w,) = ctx.saved_tensors
            return g * w

    report = run_audit(net, lambda m: m.a.weight.pow(2).sum() + Half.apply(m.b.bias) + m.c.weight.pow(2).sum(), None, timeout=30)
    assert {c for c in codes(report) if c[0] == "RL301"} == {("RL301", "b.bias")}
    data = finding(report, "RL301", "b.bias").data["measured"]
    assert math.isclose(data["finite_difference"], 2 * data["autograd"], rel_tol=1e-6)  # the lost factor 2


def test_detached_terms_are_rl103_per_parameter(net: nn.Module) -> None:
    def fn(m: nn.Module) -> torch.Tensor:
        return m.a.weight.pow(2).sum() + m.b.weight.detach().pow(2).sum() + m.c.weight.data.abs().sum() + m.c.bias.pow(2).sum()

    report = run_audit(net, fn, None, timeout=30)
    assert {c for c in codes(report) if c[0] in ("RL103", "RL301")} == {("RL103", "b.weight"), ("RL103", "c.weight")}


def test_nan_gradient_at_zero_is_rl302(net: nn.Module) -> None:
    report = run_audit(net, lambda m: 1e-3 * m.b.weight.pow(2).sum().sqrt(), None, timeout=30)
    assert ("RL302", "b.weight") in codes(report)
    assert ("RL302", "a.weight") not in codes(report)
    report = run_audit(net, lambda m: 1e-3 * torch.linalg.vector_norm(m.b.weight), None, timeout=30)
    assert not any(c == "RL302" for c, _ in codes(report))  # torch defines this one's gradient at 0 as 0


def test_group_testing_uses_few_evaluations() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(64)])  # 128 tensors
    wrong = {"37.weight"}

    class Off(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(w)
            return w.pow(2).sum()

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            return g * 3 * ctx.saved_tensors[0]

    def fn(m: nn.Module) -> torch.Tensor:
        return sum(Off.apply(p) if n in wrong else p.pow(2).sum() for n, p in m.named_parameters())  # type: ignore[return-value]

    report = run_audit(model, fn, None, timeout=30)
    assert {f.param for f in report.findings if f.code == "RL301"} == wrong
    evaluations = report.penalty.core.gradcheck.evaluations
    assert evaluations <= 4 + 2 * 2 * math.ceil(math.log2(128)) + 4, evaluations  # far below 2 per tensor


def test_budget_exhausted_reports_the_remaining_set() -> None:
    params = [torch.zeros(3, dtype=torch.float64) + 0.5 for _ in range(8)]

    def value() -> torch.Tensor:
        return sum(p.pow(2).sum() for p in params)  # type: ignore[return-value]

    wrong = [0.0] * 8  # autograd claims no gradient anywhere
    result = check_gradients(value, params, list(range(8)), {"scale": wrong, "sign": wrong}, budget=6)
    assert result.budget_exhausted
    assert sorted(i for m in result.mismatches for i in m.indices) == list(range(8))
