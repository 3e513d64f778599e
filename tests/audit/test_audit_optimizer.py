"""Optimizer decay: closed forms checked by hand, torch's optimizers checked against the closed forms.

Hand values: with a zero data gradient, decoupled decay multiplies w by (1 − lr·λ) each step;
coupled SGD without momentum does the same; coupled Adam's first step moves w by
lr·λw/(λ|w| + ε) (about lr·sign(w)); SGD with momentum follows b₁ = λw₀, w₁ = w₀ − lr·b₁,
b₂ = μb₁ + (1−τ)λw₁, w₂ = w₁ − lr·b₂; RAdam's rectified step starts where ρ_t first exceeds 5,
at t = 6 for β₂ = 0.999. Then every built-in optimizer, stepped by the audit on probes, must match
the closed form of the decay it declares (tolerance 1e-6 of the distance moved: NAdam keeps a
float32 scalar) and not the other one where they differ.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
optim = torch.optim

from reglint.audit import closed_forms  # noqa: E402
from reglint.audit.discovery import OptimizerSource  # noqa: E402
from reglint.audit.optimizer import (  # noqa: E402
    COUPLED,
    DECOUPLED,
    EQUIVALENT,
    MAGNITUDES,
    NONE,
    measure_optimizer,
)
from reglint.audit.params import describe_parameters  # noqa: E402


def test_decoupled_closed_form_is_geometric() -> None:
    h = {"lr": 1e-3, "weight_decay": 0.1}
    for name in ("Adam", "AdamW", "NAdam", "RAdam"):
        traj = closed_forms.trajectory(name, 0.5, 10, h, closed_forms.DECOUPLED)
        assert all(math.isclose(traj[t], 0.5 * (1 - 1e-4) ** t, rel_tol=1e-12) for t in range(11)), name


def test_sgd_coupled_closed_forms_by_hand() -> None:
    lr, wd, mu, tau, w0 = 0.1, 0.01, 0.9, 0.2, 2.0
    plain = closed_forms.trajectory("SGD", w0, 3, {"lr": lr, "weight_decay": wd}, closed_forms.COUPLED)
    assert all(math.isclose(plain[t], w0 * (1 - lr * wd) ** t, rel_tol=1e-12) for t in range(4))
    h = {"lr": lr, "weight_decay": wd, "momentum": mu, "dampening": tau}
    traj = closed_forms.trajectory("SGD", w0, 2, h, closed_forms.COUPLED)
    b1 = wd * w0
    w1 = w0 - lr * b1
    b2 = mu * b1 + (1 - tau) * wd * w1
    w2 = w1 - lr * b2
    assert math.isclose(traj[1], w1, rel_tol=1e-12) and math.isclose(traj[2], w2, rel_tol=1e-12)


@pytest.mark.parametrize("w0", [1e-3, 0.1, 5.0])
def test_adam_coupled_first_step_by_hand(w0: float) -> None:
    lr, wd, eps = 1e-3, 1e-2, 1e-8
    traj = closed_forms.trajectory("Adam", w0, 1, {"lr": lr, "weight_decay": wd, "eps": eps}, closed_forms.COUPLED)
    assert math.isclose(traj[1], w0 - lr * wd * w0 / (wd * abs(w0) + eps), rel_tol=1e-12)


def _first_steps_by_hand(w: float) -> dict[str, float]:
    """One coupled step from w with a zero data gradient, written from each algorithm box by hand."""
    lr, wd, eps, b1, b2, psi, alpha = 1e-3, 1e-2, 1e-8, 0.9, 0.999, 4e-3, 0.99
    g = wd * w  # coupled: the only gradient is λ·w
    mu1 = b1 * (1 - 0.5 * 0.96 ** (1 * psi))
    mu2 = b1 * (1 - 0.5 * 0.96 ** (2 * psi))
    nadam_m_hat = mu2 * (1 - b1) * g / (1 - mu1 * mu2) + (1 - mu1) * g / (1 - mu1)
    return {
        "Adagrad": w - lr * g / (math.sqrt(g * g) + 1e-10),
        "RMSprop": w - lr * g / (math.sqrt((1 - alpha) * g * g) + eps),
        "Adamax": w - lr * ((1 - b1) * g) / ((1 - b1) * (abs(g) + eps)),
        "NAdam": w - lr * nadam_m_hat / (math.sqrt((1 - b2) * g * g / (1 - b2)) + eps),
        "RAdam": w - lr * g,  # ρ₁ = 1 ≤ 5: an SGD-with-momentum step with m̂ = g
        "SGD": w - lr * g,
    }


@pytest.mark.parametrize("w0", [-0.003, 0.2, 7.0])
@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "SGD"])
def test_first_coupled_step_by_hand(name: str, w0: float) -> None:
    hyper = {"lr": 1e-3, "weight_decay": 1e-2}
    traj = closed_forms.trajectory(name, w0, 1, hyper, closed_forms.COUPLED)
    assert math.isclose(traj[1], _first_steps_by_hand(w0)[name], rel_tol=1e-12)


def test_radam_rectification_starts_at_step_six() -> None:
    b2 = 0.999
    rho_inf = 2 / (1 - b2) - 1
    rho = [rho_inf - 2 * t * b2**t / (1 - b2**t) for t in range(1, 8)]
    assert [r > 5 for r in rho] == [False] * 5 + [True] * 2
    h = {"lr": 1e-3, "weight_decay": 1e-2}
    coupled = closed_forms.trajectory("RAdam", 1.0, 10, h, closed_forms.COUPLED)
    decoupled = closed_forms.trajectory("RAdam", 1.0, 10, h, closed_forms.DECOUPLED)
    # Before step 6 both are (almost) lr·λ·w per step; from step 6 the coupled one is adaptive.
    assert abs(coupled[5] - decoupled[5]) < 1e-9
    assert abs(coupled[6] - decoupled[6]) > 1e-6
    assert abs(coupled[10] - decoupled[10]) > abs(coupled[6] - decoupled[6])


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Linear(8, 2))


CASES = [
    (lambda ps: optim.SGD(ps, lr=0.1), NONE),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=1e-2), EQUIVALENT),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=1e-2, amsgrad=True), COUPLED),
    (lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=1e-2, decoupled_weight_decay=True), DECOUPLED),
    (lambda ps: optim.AdamW(ps, lr=1e-3), DECOUPLED),
    (lambda ps: optim.AdamW(ps, lr=1e-3, weight_decay=0.1, amsgrad=True), DECOUPLED),
    (lambda ps: optim.NAdam(ps, lr=2e-3, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.NAdam(ps, lr=2e-3, weight_decay=1e-2, momentum_decay=1e-2, decoupled_weight_decay=True), DECOUPLED),
    (lambda ps: optim.RAdam(ps, lr=1e-3, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.RAdam(ps, lr=1e-3, weight_decay=1e-2, decoupled_weight_decay=True), DECOUPLED),
    (lambda ps: optim.Adagrad(ps, lr=1e-2, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.Adagrad(ps, lr=1e-2, weight_decay=1e-2, lr_decay=0.05, initial_accumulator_value=0.1), COUPLED),
    (lambda ps: optim.RMSprop(ps, lr=1e-3, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.RMSprop(ps, lr=1e-3, weight_decay=1e-2, momentum=0.9, centered=True), COUPLED),
    (lambda ps: optim.Adamax(ps, lr=2e-3, weight_decay=1e-2), COUPLED),
    (lambda ps: optim.Adam(ps, lr=1e-3), NONE),
]


@pytest.mark.parametrize("build,mode", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_torch_optimizers_match_their_closed_form(model: nn.Module, build, mode: str) -> None:  # type: ignore[no-untyped-def]
    opt = build(model.parameters())
    result = measure_optimizer(OptimizerSource("optimizer", instance=opt), model, describe_parameters(model), device="cpu", timeout=30)
    assert result.known
    (group,) = result.groups
    assert group.mode == mode, (type(opt).__name__, group.mode, group.error)
    if mode != NONE:
        assert group.error is not None and group.error <= 1e-6


def test_decoupled_shrink_is_lr_times_lambda_at_every_magnitude(model: nn.Module) -> None:
    opt = optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    result = measure_optimizer(OptimizerSource("optimizer", instance=opt), model, describe_parameters(model), device="cpu", timeout=30)
    for m in MAGNITUDES:
        assert math.isclose(result.groups[0].shrink[m], 2e-3 * 0.05, rel_tol=1e-9), m


def test_coupled_adam_first_step_shrink_by_hand(model: nn.Module, monkeypatch: pytest.MonkeyPatch) -> None:
    import reglint.audit.optimizer as optimizer_module

    monkeypatch.setattr(optimizer_module, "STEPS", 1)
    lr, wd, eps = 1e-3, 1e-2, 1e-8
    opt = optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    result = measure_optimizer(OptimizerSource("optimizer", instance=opt), model, describe_parameters(model), device="cpu", timeout=30)
    for m in MAGNITUDES:
        expected = lr * wd / (wd * m + eps)  # |Δw|/|w| after one step
        assert math.isclose(result.groups[0].shrink[m], expected, rel_tol=1e-9), m


def test_param_groups_are_mapped_to_parameters(model: nn.Module) -> None:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=1e-3)
    infos = describe_parameters(model)
    result = measure_optimizer(OptimizerSource("optimizer", instance=opt), model, infos, device="cpu", timeout=30)
    by_name = {info.name: result.group_of[info.index] for info in infos}
    assert by_name == {"0.weight": 0, "0.bias": 1, "1.weight": 1, "1.bias": 1, "2.weight": 0, "2.bias": 1}
    assert result.groups[0].mode == DECOUPLED and result.groups[1].mode == NONE


def test_unknown_optimizer_is_reported_as_measured(model: nn.Module) -> None:
    class MyAdamW(optim.AdamW):
        pass

    for opt in (optim.Adadelta(model.parameters(), weight_decay=1e-2), MyAdamW(model.parameters(), lr=1e-3, weight_decay=0.1)):
        result = measure_optimizer(OptimizerSource("optimizer", instance=opt), model, describe_parameters(model), device="cpu", timeout=30)
        assert not result.known
        assert all(g.mode.startswith("measured") for g in result.groups)
        assert result.per_param and all(1.0 in s for s in result.per_param.values())
    # The subclass behaves like AdamW: the same shrink, lr·λ, at every magnitude (float32 copy: 1e-3).
    shrink = next(iter(result.per_param.values()))
    assert all(math.isclose(shrink[m], 1e-4, rel_tol=1e-3) for m in MAGNITUDES)
    assert result.groups[0].mode == "measured: same shrink at every |w| (decoupled-like)"


def test_factory_is_called_on_a_copy(model: nn.Module) -> None:
    calls = []

    def build(m: nn.Module) -> optim.Optimizer:
        calls.append(m)
        return optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1)

    result = measure_optimizer(OptimizerSource("build_optimizer(model)", factory=build), model, describe_parameters(model), device="cpu", timeout=30)
    assert calls and calls[0] is not model
    assert all(g is not None for g in result.group_of)


@pytest.mark.parametrize(
    "build,fires",
    [
        (lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=1e-4), True),
        (lambda ps: optim.Adagrad(ps, lr=1e-2, weight_decay=1e-4), True),
        (lambda ps: optim.RMSprop(ps, lr=1e-3, weight_decay=1e-4), True),
        (lambda ps: optim.Adamax(ps, lr=2e-3, weight_decay=1e-4), True),
        (lambda ps: optim.NAdam(ps, lr=2e-3, weight_decay=1e-4), True),
        (lambda ps: optim.RAdam(ps, lr=1e-3, weight_decay=1e-4), True),
        (lambda ps: optim.NAdam(ps, lr=2e-3, weight_decay=1e-4, decoupled_weight_decay=True), False),
        (lambda ps: optim.RAdam(ps, lr=1e-3, weight_decay=1e-4, decoupled_weight_decay=True), False),
        (lambda ps: optim.AdamW(ps, lr=1e-3, weight_decay=1e-2), False),
        (lambda ps: optim.Adam(ps, lr=1e-3), False),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-4), False),
    ],
    ids=lambda v: "" if callable(v) else str(v),
)
def test_rl201_only_for_coupled_adaptive_decay(model: nn.Module, build, fires: bool) -> None:  # type: ignore[no-untyped-def]
    from reglint.audit.runner import run_audit

    weights = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = build([{"params": weights}, {"params": rest, "weight_decay": 0.0}])
    report = run_audit(model, None, opt, timeout=30)
    flagged = {f.param for f in report.findings if f.code == "RL201"}
    assert flagged == ({"0.weight", "2.weight"} if fires else set())
    assert not {f.code for f in report.findings} - {"RL201"}
