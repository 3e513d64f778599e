"""Optimizers of other libraries: the table's names, how qualified names resolve, and the facts the
rules read (defaults and coupling, as read in each library's source)."""

from __future__ import annotations

import pytest
from helpers import lint

from reglint.analysis.library_optimizers import library_specs
from reglint.analysis.optimizers import (
    ALL_NAMES,
    LIBRARY_NAMES,
    OPTIMIZER_WORDS,
    spec_for,
    timm_spec,
)


def test_every_class_of_the_tables_is_a_known_name() -> None:
    names = {name for table in library_specs().values() for name in table}
    assert names == LIBRARY_NAMES
    assert all(any(word in name for word in OPTIMIZER_WORDS) for name in ALL_NAMES)


@pytest.mark.parametrize(
    "qualname,library,default,decoupled",
    [
        ("transformers.AdamW", "transformers", 0.0, True),
        ("transformers.optimization.AdamW", "transformers", 0.0, True),
        ("bitsandbytes.optim.Adam8bit", "bitsandbytes", 0.0, True),  # bnb's Adam decays the AdamW way
        ("bitsandbytes.optim.adamw.AdamW8bit", "bitsandbytes", 0.01, True),
        ("apex.optimizers.FusedAdam", "apex", 0.0, True),  # adam_w_mode=True by default
        ("torch_optimizer.AdaBound", "torch_optimizer", 0.0, False),
        ("timm.optim.Lamb", "timm", 0.01, True),
        ("torch.optim.AdamW", "torch", 1e-2, True),
        ("torch.optim._multi_tensor.Adam", "torch", 0.0, False),
    ],
)
def test_qualified_names_resolve(qualname: str, library: str, default: float, decoupled: bool) -> None:
    spec = spec_for(qualname)
    assert spec is not None
    assert (spec.library, spec.default_weight_decay, spec.decoupled(None)) == (library, default, decoupled)


def test_unknown_names_do_not_resolve() -> None:
    assert spec_for("mylib.optim.AdamW") is None
    assert spec_for("transformers.Trainer") is None


def test_switches() -> None:
    fused = spec_for("apex.optimizers.FusedAdam")
    assert fused is not None and fused.decoupled(0.0) is False and fused.decoupled(1.0) is True
    adam = spec_for("torch.optim.Adam")
    assert adam is not None and adam.decoupled(None) is False and adam.decoupled(1.0) is True


def test_timm_opt_strings() -> None:
    adam, adamw, lamb = timm_spec("adam"), timm_spec("lookahead_AdamW"), timm_spec("lamb")
    assert adam is not None and adam.name == "Adam" and adam.library == "torch"
    assert adamw is not None and adamw.name == "AdamW"
    assert lamb is not None and lamb.library == "timm"
    assert timm_spec("no-such-opt") is None


def test_a_library_optimizer_gets_no_torch_fix() -> None:
    findings = lint(
        "from apex.optimizers import FusedAdam\n"
        "opt = FusedAdam(model.parameters(), lr=1e-3, adam_w_mode=False, weight_decay=1e-4)\n"
    )
    coupled = [f for f in findings if f.code == "RL201"]
    assert coupled and coupled[0].fix is None and "adam_w_mode=True" in coupled[0].message
