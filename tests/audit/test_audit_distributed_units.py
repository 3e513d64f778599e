"""The distributed audit's parts, in one process and without torchrun: tolerances, decay statistics,
the zero forward, the measurement protocol, names, the one-process child's protocol, the launcher's
command line. Expected numbers are closed forms written here (AdamW's shrink lr·λ, λ/2·Σw²'s
gradient λ·w), never the code's own output.
"""

from __future__ import annotations

import json
import math
import os
import sys
import textwrap
from pathlib import Path

import pytest
from audit_helpers import FIXTURES

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from reglint.audit.distributed import (  # noqa: E402
    compare,
    launch,
    measure,
    names,
    reference,
    report,
    side,
    worker,
)
from reglint.audit.distributed.build import NOT_WRAPPED, AuditRequest, build  # noqa: E402
from reglint.audit.distributed.standin import zero_forward  # noqa: E402
from reglint.audit.errors import AuditError  # noqa: E402
from reglint.audit.forms import fit_point  # noqa: E402

DIST = FIXTURES / "distributed"
EPS32 = float(torch.finfo(torch.float32).eps)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 5)
        self.norm = nn.LayerNorm(5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.fc(x))


# ----------------------------------------------------------------------------------- tolerances


def stats(value: float, crossed: int = 0) -> dict[str, measure.DecayStat]:
    return {"1": measure.DecayStat(value, value, value, crossed)}


def test_decay_agreement_is_dtype_resolution_plus_relative() -> None:
    assert compare.same_decay(stats(1e-4), stats(1e-4 * (1 + 5e-4)), EPS32)
    assert not compare.same_decay(stats(1e-4), stats(1e-4 * (1 + 5e-3)), EPS32)
    assert not compare.same_decay(stats(1e-4), stats(0.0), EPS32)  # lr·λ = 1e-4 against no decay
    assert compare.same_decay(stats(0.0), stats(EPS32 / 2), EPS32)  # below float32's resolution of one step
    assert not compare.same_decay(stats(math.nan, crossed=3), stats(0.5), EPS32)
    assert compare.same_decay(stats(math.nan, crossed=3), stats(math.nan, crossed=3), EPS32)


def test_gradient_agreement() -> None:
    w = torch.randn(300, dtype=torch.float64)
    full = fit_point(1e-4 * w, w)
    assert compare.same_gradient(fit_point(1e-4 * w * (1 + 1e-5), w), full)
    assert not compare.same_gradient(fit_point(0.5e-4 * w, w), full)  # averaged over 2 ranks
    assert not compare.same_gradient(fit_point(None, w), full)
    assert compare.same_gradient(fit_point(None, w), fit_point(torch.zeros_like(w), w))
    # same norm and same ⟨g, w⟩ are not enough when the sign(w) component differs
    assert not compare.same_gradient(fit_point(1e-5 * torch.sign(w), w), full)


# ------------------------------------------------------------------------------- decay statistics


def test_decay_stats_per_magnitude_from_any_offset() -> None:
    pattern = [1.0, -0.1, 10.0, -0.01, 1e-3, -1.0, 0.1, -10.0, 0.01, -1e-3]  # docs/audit.md's order
    shrink = 2e-3
    for start in (0, 3, 17, measure.CHUNK - 4):
        before = torch.tensor([pattern[(start + j) % 10] for j in range(30)], dtype=torch.float64)
        after = before * (1 - shrink) ** measure.STEPS
        after[::7] = -after[::7]  # 5 values crossed zero
        out = measure.decay_stats(after, start)
        assert set(out) == {"1", "0.1", "10", "0.01", "0.001"}
        assert sum(s.crossed for s in out.values()) == 5
        for s in out.values():
            assert s.lo == pytest.approx(shrink, rel=1e-9) and s.hi == pytest.approx(shrink, rel=1e-9)


def test_decay_stats_over_several_chunks() -> None:
    n = measure.CHUNK * 2 + 13
    start = 7
    after = measure.written(measure.decay_block(), start, n, torch.empty(0, dtype=torch.float32))
    after[measure.CHUNK + 5] *= 0.5  # one value shrank: 1 − 0.5^(1/10) per step
    out = measure.decay_stats(after, start)
    magnitude = abs(measure.DECAY_PATTERN[(start + measure.CHUNK + 5) % 10])
    for key, s in out.items():
        assert s.lo == 0.0
        assert s.hi == (pytest.approx(1 - 0.5 ** 0.1, rel=1e-6) if key == f"{magnitude:g}" else 0.0)


# ------------------------------------------------------------------- names and the wrapped layout


class OptimizedModule(nn.Module):  # torch.compile's wrapper, recognized by its class name
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self._orig_mod = inner


class Holder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.module = nn.Linear(2, 2)  # a user module that happens to be called `module`


def test_names_unwrap_structurally() -> None:
    wrapped = OptimizedModule(Holder())
    assert names.clean_name(wrapped, "_orig_mod.module.weight") == "module.weight"
    assert names.unwrap(wrapped) is wrapped._orig_mod
    assert names.wrapping(Net()) == ""
    found, notes = names.holders(wrapped)
    assert [(h.name, h.kind, [p.fqn for p in h.pieces]) for h in found] == [
        ("_orig_mod.module.weight", names.PLAIN, ["module.weight"]),
        ("_orig_mod.module.bias", names.PLAIN, ["module.bias"]),
    ]
    assert notes == []


def test_fill_pieces_writes_each_value_by_its_index_in_its_parameter() -> None:
    # a flat tensor holding values 5..9 of one parameter, then 0..3 of another, as FSDP lays them out
    flat = nn.Parameter(torch.zeros(12))
    holder = names.Holder(flat, "_flat_param", names.FLAT, (12,), 12,
                          [names.Piece("a", 5, 5, 0), names.Piece("b", 0, 4, 6)])
    block = torch.arange(7, dtype=torch.float64) + 100  # period 7
    measure.fill_pieces([holder], block)
    expected = [100 + (5 + j) % 7 for j in range(5)] + [0.0] + [100 + j % 7 for j in range(4)] + [0.0, 0.0]
    assert flat.detach().tolist() == expected


# ---------------------------------------------------------------- the measurement, in one process


def _optimizer(model: nn.Module) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=1e-3)


def test_decay_run_measures_adamw_groups_as_its_closed_form() -> None:
    model = Net().double()
    found, _ = names.holders(model)
    run = measure.run_decay(_optimizer(model), found, timeout=30)
    by_name = {p.fqn: p for p in measure.decay_pieces(run, found)}
    for fqn, group, shrink in (("fc.weight", 0, 1e-3 * 0.1), ("fc.bias", 1, 0.0), ("norm.weight", 1, 0.0)):
        piece = by_name[fqn]
        assert piece.group == group
        for s in piece.shrink.values():  # decoupled: the same at every |w|
            assert s.lo == pytest.approx(shrink, abs=1e-12) and s.hi == pytest.approx(shrink, abs=1e-12)


def test_penalty_run_through_the_zero_forward_gives_the_penalty_gradient() -> None:
    model = Net()
    lam = 1e-3
    found, _ = names.holders(model)
    out = measure.PenaltyRun()
    measure.run_penalty(model, model, lambda m: lam / 2 * m.fc.weight.pow(2).sum(), "penalty(model)", found, 30,
                        lambda _stage, error: error is None, out)
    pieces = {p.fqn: measure.point_fit(p.fit) for p in measure.grad_pieces(out, found)}
    assert pieces["fc.weight"].a_l2 == pytest.approx(lam, rel=1e-6) and pieces["fc.weight"].r_l2 < 1e-6
    assert pieces["fc.bias"].zero and pieces["norm.weight"].zero
    assert out.value_kind == "tensor" and out.value is not None and out.value > 0
    assert "forward" not in vars(model) and model(torch.ones(2, 6)).shape == (2, 5)  # forward restored


def test_zero_forward_returns_a_zero_connected_to_every_trainable_parameter() -> None:
    model = Net()
    model.norm.bias.requires_grad_(False)
    with zero_forward(model):
        out = model()
    assert float(out.detach()) == 0.0
    out.backward()
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters() if p.requires_grad)
    assert model.norm.bias.grad is None


def test_a_rank_that_did_not_get_through_stops_before_the_backward() -> None:
    model = Net()
    found, _ = names.holders(model)
    out = measure.PenaltyRun()
    with pytest.raises(measure.OtherRankFailed):
        measure.run_penalty(model, model, lambda m: m.fc.weight.sum(), "penalty(model)", found, 30,
                            lambda _stage, _error: False, out)
    assert all(p.grad is None for p in model.parameters())


# ------------------------------------------------------------------------------------- the words


def test_penalty_cause_from_the_ranks_values() -> None:
    assert compare.penalty_cause({0: 2.0, 1: 0.0}, 2.0, 2)[1] == "rank"
    assert "added on rank 0 only (0 on rank 1)" in compare.penalty_cause({0: 2.0, 1: 0.0}, 2.0, 2)[0]
    assert compare.penalty_cause({0: 0.5, 1: 1.5}, 2.0, 2)[1] == "shard"
    assert compare.penalty_cause({0: 0.0, 1: 0.0}, 2.0, 2)[1] == "shard"
    assert compare.penalty_cause({0: 2.0, 1: 2.0}, 2.0, 2)[1] == "other"


def test_alike_exposures_are_worded_alike_so_findings_group() -> None:
    def meta(name: str, shape: list[int]) -> side.ParamMeta:
        return side.ParamMeta(name, [], shape, "bias", False, "float32", math.prod(shape))

    a = compare.exposure_fact(compare.Exposure("module.fc1.bias", names.PLAIN, (32,), 32, 0), meta("fc1.bias", [32]), "x")
    b = compare.exposure_fact(compare.Exposure("module.fc2.bias", names.PLAIN, (4,), 4, 0), meta("fc2.bias", [4]), "x")
    assert a == b == ("x sees it named `module.<name>`", "name")
    flat1 = compare.exposure_fact(compare.Exposure("u1._flat_param", names.FLAT, (370,), 370, 0), meta("a", [3]), "x")
    flat2 = compare.exposure_fact(compare.Exposure("u2._flat_param", names.FLAT, (66,), 66, 1), meta("b", [4]), "x")
    assert flat1 == flat2 and flat1[1] == "flat"
    shard = compare.exposure_fact(compare.Exposure("w", names.SHARD_VIEW, (8,), 8, 0), meta("w", [3, 4]), "x")
    assert shard[1] == "shard"


def test_user_frame_is_the_innermost_frame_outside_libraries() -> None:
    details = textwrap.dedent('''\
        Traceback (most recent call last):
          File "/home/me/train/setup.py", line 12, in penalty
            return sum(p.pow(2).sum() for p in model.parameters())
          File "/usr/lib/python3.11/site-packages/torch/_tensor.py", line 40, in wrapped
            return f(*args)
        RuntimeError: boom''')
    assert report.user_frame(details) == ("/home/me/train/setup.py:12 in penalty: "
                                          "return sum(p.pow(2).sum() for p in model.parameters())")
    assert report.user_frame("no frames at all") is None


def test_side_result_travels_as_json() -> None:
    original = side.SideResult(1, "DDP", "build_model()", "penalty(model)", None,
                               [measure.HolderInfo("module.w", names.PLAIN, [2], 2, ["w"])],
                               measure.OptimizerInfo("AdamW", [{"lr": 0.1}]),
                               [measure.DecayPiece("w", 0, 2, 0, stats(1e-4))], 1.5, "tensor",
                               [measure.GradPiece("w", 0, 2, {"gnorm": 1.0})],
                               errors=[side.StageError("penalty", "boom", "tb", True)], notes=["n"])
    again = side.SideResult.from_json(json.loads(json.dumps(original.to_json())))
    assert again == original


# -------------------------------------------------------------------- launching and the one process


def test_rank_detection_and_the_one_process_environment() -> None:
    env = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "localhost", "MASTER_PORT": "29500", "LOCAL_RANK": "1",
           "TORCHELASTIC_RUN_ID": "x", "REGLINT_AUDIT_EXIT_FILE": "/tmp/x", "PATH": "/bin", "OMP_NUM_THREADS": "1"}
    assert worker.launched_as_rank(env)
    assert not worker.launched_as_rank({k: v for k, v in env.items() if k != "MASTER_PORT"})
    clean = reference.one_process_environment(env)
    assert clean == {"PATH": "/bin", "OMP_NUM_THREADS": "1"}
    assert not worker.launched_as_rank(clean)


def test_launcher_command_and_limit() -> None:
    cmd = launch.torchrun_command(3, ["setup.py", "--timeout", "5"])
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--standalone" in cmd and "--nproc-per-node=3" in cmd and cmd[-5:] == ["reglint", "audit", "setup.py",
                                                                                  "--timeout", "5"]
    assert launch.overall_limit(10) == 180 and launch.overall_limit(None) is None


def test_forwarded_options_parse_back_to_the_same_request() -> None:
    import click

    from reglint.audit.command import Request, _forwarded_args, audit

    request = Request("setup.py", "net", None, "make_opt", "lr=0.1", "cpu", None, 12.0, ("--data", "x"))
    args = _forwarded_args(request, "json", Path("out.json"), "error", True)
    ctx = audit.make_context("audit", list(args))
    p = ctx.params
    assert (p["target"], p["model_name"], p["optimizer_name"], p["optimizer_args"], p["timeout"], p["fmt"]) == (
        "setup.py", "net", "make_opt", "lr=0.1", 12.0, "json")
    assert p["output_file"] == Path("out.json") and p["fail_level"] == "error" and p["exit_zero"] is True
    assert p["script_args"] == ("--data", "x") and p["nproc"] is None
    assert isinstance(ctx, click.Context)


# ------------------------------------------------------------------------- building the set-up


def test_a_model_that_is_not_wrapped_on_a_rank_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "plain.py"
    path.write_text("from torch import nn\nmodel = nn.Linear(2, 2)\n"
                    "def penalty(model):\n    return model.weight.pow(2).sum()\n", encoding="utf-8")
    with pytest.raises(AuditError) as info:
        build(AuditRequest(str(path)), device="cpu", distributed=True)
    assert info.value.message == NOT_WRAPPED
    built = build(AuditRequest(str(path)), device="cpu", distributed=False)
    assert built.wrapping == "" and built.model is built.inner


def test_the_one_process_child_answers_for_any_piece(tmp_path: Path) -> None:
    path = tmp_path / "chatty.py"
    path.write_text(textwrap.dedent('''\
        import torch
        from torch import nn
        print("hello from the user's file")  # must not reach the protocol
        model = nn.Linear(8, 3)
        def build_optimizer(model):
            return torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.01)
        def penalty(model):
            return 0.5 * 0.2 * model.weight.pow(2).sum()
    '''), encoding="utf-8")
    os.environ.pop("REGLINT_AUDIT_EXIT_FILE", None)
    child = reference.OneProcess(AuditRequest(str(path), timeout=30), "cpu")
    try:
        result = child.result(120)
        assert [p.name for p in result.params] == ["weight", "bias"] and result.errors == []
        answers = child.ask({"decay": [("weight", 5, 7), ("bias", 0, 3)], "grads": [("weight", 5, 7)]}, 60)
    finally:
        child.close()
    decay = answers["decay"][measure.piece_key("weight", 5, 7)]
    assert decay["group"] == 0
    for s in decay["shrink"].values():  # AdamW with a zero gradient: exactly lr·λ per step
        assert s["lo"] == pytest.approx(0.1 * 0.01, rel=1e-4) and s["hi"] == pytest.approx(0.1 * 0.01, rel=1e-4)
    fit = measure.point_fit(answers["grads"][measure.piece_key("weight", 5, 7)])
    assert fit.numel == 7 and fit.a_l2 == pytest.approx(0.2, rel=1e-5)
    assert "hello from the user's file" in "".join(child.stderr)
