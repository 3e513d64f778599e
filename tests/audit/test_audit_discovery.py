"""Finding the model, penalty and optimizer by name, and the errors when they are not there."""

from __future__ import annotations

import types

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from reglint.audit.discovery import discover, unwrap_optimizer  # noqa: E402
from reglint.audit.errors import AuditError  # noqa: E402
from reglint.audit.target import parse_target  # noqa: E402


def module(**attrs: object) -> types.ModuleType:
    m = types.ModuleType("user_setup")
    for k, v in attrs.items():
        setattr(m, k, v)
        if isinstance(v, type):
            v.__module__ = "user_setup"
    return m


def test_model_instance_beats_builders() -> None:
    net = nn.Linear(2, 2)
    setup = discover(module(model=net, build_model=lambda: nn.Linear(3, 3)))
    assert setup.model is net and setup.model_label == "model"


def test_builders_and_class() -> None:
    setup = discover(module(make_model=lambda: nn.Linear(3, 3)))
    assert setup.model_label == "make_model()" and setup.model.in_features == 3
    setup = discover(module(anything=nn.Linear(3, 3)), model="anything")
    assert setup.model_label == "anything"


def test_lightning_class_without_lightning() -> None:
    class LightningModule(nn.Module):
        pass

    class Lit(LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def penalty(self) -> torch.Tensor:
            return self.fc.weight.pow(2).sum()

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return [torch.optim.SGD(self.parameters(), lr=0.1)], []

    setup = discover(module(LightningModule=LightningModule, Lit=Lit))
    assert isinstance(setup.model, Lit) and setup.model_label == "Lit()"
    assert setup.penalty_label == "model.penalty()"
    assert setup.optimizer is not None and setup.optimizer.label == "model.configure_optimizers()"
    notes: list[str] = []
    opt = unwrap_optimizer(setup.optimizer.factory(setup.model), "x", notes)  # type: ignore[misc]
    assert isinstance(opt, torch.optim.SGD)


def test_penalty_constant_is_not_a_function() -> None:
    setup = discover(module(model=nn.Linear(2, 2), penalty=1e-4, regularization=lambda m: m.weight.sum()))
    assert setup.penalty_label == "regularization(model)"
    assert any("`penalty` is a float" in n for n in setup.notes)


def test_penalty_without_argument_is_an_error() -> None:
    with pytest.raises(AuditError, match="must use its argument"):
        discover(module(model=nn.Linear(2, 2), penalty=lambda: 0))


def test_optimizer_sources() -> None:
    net = nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    assert discover(module(model=net, optimizer=opt)).optimizer.instance is opt  # type: ignore[union-attr]
    setup = discover(module(model=net, build_optimizer=lambda m: opt))
    assert setup.optimizer is not None and setup.optimizer.label == "build_optimizer(model)"
    assert discover(module(model=net, optimizer=opt), optimizer="none").optimizer is None


def test_unwrap_lightning_shapes() -> None:
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    notes: list[str] = []
    for shape in (opt, [opt], ([opt], []), {"optimizer": opt, "lr_scheduler": None}, [{"optimizer": opt}]):
        assert unwrap_optimizer(shape, "f", notes) is opt
    unwrap_optimizer([opt, opt], "f", notes)
    assert any("2 optimizers" in n for n in notes)
    with pytest.raises(AuditError):
        unwrap_optimizer("adam", "f", notes)


def test_model_that_needs_arguments() -> None:
    class Needs(nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()

    with pytest.raises(AuditError, match="needs arguments"):
        discover(module(build_model=Needs))


def test_parse_target(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "m.py"
    f.write_text("")
    assert parse_target(str(f)).path == str(f)
    t = parse_target(f"{f}:net")
    assert t.path == str(f) and t.attr == "net"
    t = parse_target("pkg.models:build")
    assert t.module == "pkg.models" and t.attr == "build"
    with pytest.raises(AuditError):
        parse_target("missing_dir/file.py")
