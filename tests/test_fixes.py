"""Autofix: each rule's fix (before -> after), idempotence, the file's own spelling kept, imports
added only when needed, fixes whose result does not parse dropped, atomic writes, files changed on
disk not clobbered, --diff writing nothing, exit codes, notebooks."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Optional

import pytest
from click.testing import CliRunner
from helpers import FIXTURES, all_static_codes

from reglint.checks import STATIC_RULES
from reglint.checks.base import StaticRule
from reglint.cli import main
from reglint.engine import fixes
from reglint.engine.config import Settings
from reglint.engine.fixes import apply_fixes, fix_text
from reglint.engine.runner import lint_text
from reglint.model import Applicability, Edit, Finding, Fix, Severity


def fix(source: str, unsafe: bool = True) -> str:
    outcome = fix_text(textwrap.dedent(source).lstrip(), "train.py", Settings(), all_static_codes(), unsafe=unsafe)
    assert outcome.converged
    assert not outcome.dropped, outcome.dropped
    return outcome.text


def fixed_ok(source: str, expected: str, unsafe: bool = True) -> str:
    """Fix `source`, compare with `expected`, and check a second fix changes nothing."""
    after = fix(source, unsafe)
    assert after == textwrap.dedent(expected).lstrip()
    assert fix(after, unsafe) == after, "a second --fix changed the text"
    remaining = lint_text(after, "train.py", Settings(), all_static_codes()).findings
    assert not fixes.fixable(remaining, unsafe), "fixable findings remain after fixing"
    return after


def codes(source: str) -> list[str]:
    return [f.code for f in lint_text(textwrap.dedent(source).lstrip(), "train.py", Settings(), all_static_codes()).findings]


def fix_of(source: str, code: str) -> Optional[Fix]:
    findings = lint_text(textwrap.dedent(source).lstrip(), "train.py", Settings(), all_static_codes()).findings
    return next(f.fix for f in findings if f.code == code)


# ---------------------------------------------------------------------------------- RL102


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("l2 = l2 + torch.norm(p, 2)", "l2 = l2 + torch.norm(p, 2) ** 2"),
        ("l2 = l2 + torch.norm(p, p=2)", "l2 = l2 + torch.norm(p, p=2) ** 2"),
        ("l2 = l2 + p.norm()", "l2 = l2 + p.norm() ** 2"),
        ("l2 = l2 + torch.linalg.vector_norm(p)", "l2 = l2 + torch.linalg.vector_norm(p) ** 2"),
        ("l2 = l2 + torch.sqrt((p ** 2).sum())", "l2 = l2 + (p ** 2).sum()"),
        ("l2 = l2 + p.pow(2).sum().sqrt()", "l2 = l2 + p.pow(2).sum()"),
        ("l2 = l2 + p.pow(2).sum() ** 0.5", "l2 = l2 + p.pow(2).sum()"),
        ("l2 = l2 + (p * p).sum().pow(0.5)", "l2 = l2 + (p * p).sum()"),
    ],
)
def test_rl102_squares_the_norm_or_drops_the_sqrt(before: str, after: str) -> None:
    template = """
    import torch
    l2 = 0.
    for p in model.parameters():
        if p.ndim > 1:
            {line}
    loss = loss + 1e-4 * l2
    """
    fixed_ok(template.format(line=before), template.format(line=after))


def test_rl102_keeps_the_alias_and_adds_parentheses_only_where_needed() -> None:
    fixed_ok(
        """
        import torch as th
        loss = loss + 1e-4 * th.norm(model.fc.weight, 2)
        norm = model.fc2.weight.norm().float()
        reg = th.sqrt(model.fc3.weight.pow(2).sum() + model.fc4.weight.pow(2).sum())
        loss = loss + 1e-4 * reg + norm
        loss = loss + 1e-4 * th.sqrt(model.fc5.weight.pow(2).sum() + model.fc6.weight.pow(2).sum())
        """,
        """
        import torch as th
        loss = loss + 1e-4 * th.norm(model.fc.weight, 2) ** 2
        norm = (model.fc2.weight.norm() ** 2).float()
        reg = model.fc3.weight.pow(2).sum() + model.fc4.weight.pow(2).sum()
        loss = loss + 1e-4 * reg + norm
        loss = loss + 1e-4 * (model.fc5.weight.pow(2).sum() + model.fc6.weight.pow(2).sum())
        """,
    )


def test_rl102_is_unsafe_so_plain_fix_leaves_it() -> None:
    source = "import torch\nloss = loss + 1e-4 * torch.norm(model.fc.weight)\n"
    assert fix(source, unsafe=False) == source
    found = fix_of(source, "RL102")
    assert found is not None and found.applicability is Applicability.UNSAFE


def test_rl102_sqrt_in_a_helper_has_no_fix() -> None:
    source = """
    import torch
    def l2(w):
        return torch.sqrt((w ** 2).sum())
    loss = loss + 1e-4 * l2(model.fc.weight)
    """
    assert "RL102" in codes(source)
    assert fix_of(source, "RL102") is None


# ---------------------------------------------------------------------------------- RL105


def test_rl105_starts_from_a_float() -> None:
    fixed_ok(
        """
        import torch
        reg = torch.tensor(0.)
        for p in model.parameters():
            if p.ndim > 1:
                reg += p.pow(2).sum()
        loss = loss + 1e-4 * reg
        """,
        """
        import torch
        reg = 0.
        for p in model.parameters():
            if p.ndim > 1:
                reg += p.pow(2).sum()
        loss = loss + 1e-4 * reg
        """,
        unsafe=False,
    )


# ---------------------------------------------------------------------------------- RL106


@pytest.mark.parametrize(
    ("before", "after", "safe"),
    [
        (
            "torch.norm(torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1]), 1)",
            "sum(p.abs().sum() for p in model.parameters() if p.ndim > 1)",
            True,
        ),
        (
            "torch.cat([w.reshape(-1) for n, w in model.named_parameters() if 'bias' not in n]).abs().sum()",
            "sum(w.abs().sum() for n, w in model.named_parameters() if 'bias' not in n)",
            True,
        ),
        (
            "torch.cat([p.flatten() for p in model.parameters() if p.dim() > 1]).pow(2).sum()",
            "sum(p.pow(2).sum() for p in model.parameters() if p.dim() > 1)",
            True,
        ),
        (
            "torch.sum(torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1]) ** 2)",
            "sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)",
            True,
        ),
        (
            "torch.norm(torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1])) ** 2",
            "sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)",
            True,
        ),
    ],
)
def test_rl106_sums_per_parameter(before: str, after: str, safe: bool) -> None:
    template = "import torch\nloss = loss + 1e-5 * {expr}\n"
    source = template.format(expr=before)
    found = fix_of(source, "RL106")
    assert found is not None and (found.applicability is Applicability.SAFE) == safe
    fixed_ok(source, template.format(expr=after), unsafe=False)


def test_rl106_unsquared_norm_is_an_unsafe_sqrt_of_the_sum() -> None:
    # ‖cat‖₂ = sqrt(Σ‖p‖²): same value, but sqrt's gradient is NaN where every weight is 0.
    source = "import torch\nreg = torch.norm(torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1]))\nloss = loss + 1e-5 * reg\n"
    found = fix_of(source, "RL106")
    assert found is not None and found.applicability is Applicability.UNSAFE
    assert found.replacement == "sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1).sqrt()"
    assert fix(source, unsafe=False) == source
    # With --unsafe-fixes, RL102 (square it) and RL106 (no copy) both apply, in two passes.
    fixed_ok(source, "import torch\nreg = sum(p.pow(2).sum() for p in model.parameters() if p.ndim > 1)\nloss = loss + 1e-5 * reg\n")


def test_rl106_inlines_a_cat_variable_used_once() -> None:
    fixed_ok(
        """
        import torch as th
        def train_step(model, x, y):
            out = model(x)
            weights = th.cat([p.view(-1) for p in model.parameters() if p.ndim > 1])
            loss = criterion(out, y) + 1e-5 * th.norm(weights, 1)
            loss.backward()
        """,
        """
        import torch as th
        def train_step(model, x, y):
            out = model(x)
            loss = criterion(out, y) + 1e-5 * sum(p.abs().sum() for p in model.parameters() if p.ndim > 1)
            loss.backward()
        """,
        unsafe=False,
    )


def test_rl106_rewrites_inside_the_helper_that_computes_the_penalty() -> None:
    fixed_ok(
        """
        import torch
        def weight_decay_term(model):
            flat = torch.cat([w.flatten() for n, w in model.named_parameters() if "bias" not in n])
            return flat.pow(2).sum()
        loss = loss + 1e-4 * weight_decay_term(model)
        """,
        """
        import torch
        def weight_decay_term(model):
            return sum(w.pow(2).sum() for n, w in model.named_parameters() if "bias" not in n)
        loss = loss + 1e-4 * weight_decay_term(model)
        """,
        unsafe=False,
    )


@pytest.mark.parametrize(
    "source",
    [
        # the cat is used elsewhere: rewriting the penalty would keep the copy anyway
        """
        import torch
        weights = torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1])
        print(weights.numel())
        loss = loss + 1e-5 * torch.norm(weights, 1)
        """,
        # something runs between the cat and its use (the parameters may change)
        """
        import torch
        weights = torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1])
        optimizer.step()
        loss = loss + 1e-5 * torch.norm(weights, 1)
        """,
        # a mean over the concatenation is not the sum of the per-parameter means
        """
        import torch
        loss = loss + 1e-5 * torch.cat([p.view(-1) for p in model.parameters() if p.ndim > 1]).abs().mean()
        """,
    ],
)
def test_rl106_offers_no_fix_rather_than_a_wrong_one(source: str) -> None:
    assert "RL106" in codes(source)
    assert fix_of(source, "RL106") is None
    assert fix(source) == textwrap.dedent(source).lstrip()


# ---------------------------------------------------------------------------------- RL201


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "import torch.optim as optim\nopt = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n",
            "import torch.optim as optim\nopt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)\n",
        ),
        (
            "import torch\nopt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n",
            "import torch\nopt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)\n",
        ),
        (
            "import torch as th\nopt = th.optim.Adam(model.parameters(), 1e-3, (0.9, 0.999), 1e-8, 1e-4)\n",
            "import torch as th\nopt = th.optim.AdamW(model.parameters(), 1e-3, (0.9, 0.999), 1e-8, 1e-4)\n",
        ),
        (
            "from torch import optim\nopt = optim.Adam(model.parameters(), weight_decay=1e-4)\n",
            "from torch import optim\nopt = optim.AdamW(model.parameters(), weight_decay=1e-4)\n",
        ),
    ],
)
def test_rl201_adam_to_adamw_keeps_the_spelling(before: str, after: str) -> None:
    fixed_ok(before, after)


def test_rl201_bare_adam_adds_adamw_to_the_import_line() -> None:
    fixed_ok(
        """
        from torch.optim import Adam, SGD
        opt = Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        opt2 = Adam(head.parameters(), lr=1e-3, weight_decay=1e-4)
        """,
        """
        from torch.optim import Adam, SGD, AdamW
        opt = AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        opt2 = AdamW(head.parameters(), lr=1e-3, weight_decay=1e-4)
        """,
    )


def test_rl201_parenthesized_import_keeps_its_layout() -> None:
    fixed_ok(
        """
        from torch.optim import (
            Adam,
            SGD,
        )
        opt = Adam(model.parameters(), weight_decay=1e-4)
        """,
        """
        from torch.optim import (
            Adam,
            SGD,
            AdamW,
        )
        opt = AdamW(model.parameters(), weight_decay=1e-4)
        """,
    )


def test_rl201_no_import_when_adamw_is_already_imported() -> None:
    fixed_ok(
        """
        from torch.optim import Adam, AdamW
        opt = Adam(model.parameters(), weight_decay=1e-4)
        """,
        """
        from torch.optim import Adam, AdamW
        opt = AdamW(model.parameters(), weight_decay=1e-4)
        """,
    )
    fixed_ok(
        """
        from torch.optim import *
        opt = Adam(model.parameters(), weight_decay=1e-4)
        """,
        """
        from torch.optim import *
        opt = AdamW(model.parameters(), weight_decay=1e-4)
        """,
    )


def test_rl201_aliased_import_from_a_submodule_gets_a_new_import_line() -> None:
    fixed_ok(
        """
        from torch.optim.adam import Adam as Opt
        def make(model):
            return Opt(model.parameters(), weight_decay=1e-4)
        """,
        """
        from torch.optim.adam import Adam as Opt
        from torch.optim import AdamW
        def make(model):
            return AdamW(model.parameters(), weight_decay=1e-4)
        """,
    )


def test_rl201_adamw_meaning_something_else_gets_no_fix() -> None:
    source = """
    from torch.optim import Adam
    from mylib import AdamW
    opt = Adam(model.parameters(), weight_decay=1e-4)
    """
    assert "RL201" in codes(source)
    assert fix_of(source, "RL201") is None


def test_rl201_groups_only_decay_keeps_the_other_groups_at_zero() -> None:
    # AdamW's default weight_decay is 1e-2: the groups without one must stay at Adam's 0.
    fixed_ok(
        """
        import torch
        groups = [{"params": decay, "weight_decay": 1e-4}, {"params": no_decay}]
        opt = torch.optim.Adam(groups, lr=1e-3)
        """,
        """
        import torch
        groups = [{"params": decay, "weight_decay": 1e-4}, {"params": no_decay}]
        opt = torch.optim.AdamW(groups, lr=1e-3, weight_decay=0.0)
        """,
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "opt = torch.optim.NAdam(model.parameters(), weight_decay=1e-4)",
            "opt = torch.optim.NAdam(model.parameters(), weight_decay=1e-4, decoupled_weight_decay=True)",
        ),
        (
            "opt = torch.optim.RAdam(\n    model.parameters(),\n    weight_decay=1e-4,\n)",
            "opt = torch.optim.RAdam(\n    model.parameters(),\n    weight_decay=1e-4, decoupled_weight_decay=True,\n)",
        ),
        (
            "opt = torch.optim.NAdam(model.parameters(), weight_decay=1e-4, betas=((0.9, 0.99)),  # note\n)",
            "opt = torch.optim.NAdam(model.parameters(), weight_decay=1e-4, betas=((0.9, 0.99)), decoupled_weight_decay=True,  # note\n)",
        ),
        (
            "opt = torch.optim.Adam(model.parameters(), weight_decay=1e-4, decoupled_weight_decay=False)",
            "opt = torch.optim.Adam(model.parameters(), weight_decay=1e-4, decoupled_weight_decay=True)",
        ),
    ],
)
def test_rl201_nadam_radam_get_decoupled_weight_decay(before: str, after: str) -> None:
    fixed_ok(f"import torch\n{before}\n", f"import torch\n{after}\n")


@pytest.mark.parametrize("name", ["Adamax", "Adagrad", "RMSprop"])
def test_rl201_no_decoupled_mode_no_fix(name: str) -> None:
    source = f"import torch\nopt = torch.optim.{name}(model.parameters(), weight_decay=1e-4)\n"
    assert "RL201" in codes(source)
    assert fix_of(source, "RL201") is None


def test_rl201_kwargs_may_hold_the_flag_no_fix() -> None:
    source = "import torch\nopt = torch.optim.Adam(model.parameters(), weight_decay=1e-4, **extra)\n"
    assert fix_of(source, "RL201") is None


def test_rl201_is_unsafe() -> None:
    source = "import torch\nopt = torch.optim.Adam(model.parameters(), weight_decay=1e-4)\n"
    assert fix(source, unsafe=False) == source


# ---------------------------------------------------------------------------------- RL205


def test_rl205_renames_the_misspelled_key() -> None:
    fixed_ok(
        """
        import torch
        groups = [{"params": decay, 'wd': 0.05}, {"params": no_decay, "weight_decay": 0.0}]
        opt = torch.optim.AdamW(groups, lr=1e-3)
        """,
        """
        import torch
        groups = [{"params": decay, 'weight_decay': 0.05}, {"params": no_decay, "weight_decay": 0.0}]
        opt = torch.optim.AdamW(groups, lr=1e-3)
        """,
        unsafe=False,
    )


# ---------------------------------------------------------------------------------- the engine


def _finding(line: int, column: int, end_column: int, replacement: str, code: str = "RL105", edits: tuple[Edit, ...] = ()) -> Finding:
    return Finding(
        code=code, name="x", severity=Severity.ERROR, message=f"m{line}:{column}", path="t.py",
        line=line, column=column, end_line=line, end_column=end_column,
        fix=Fix(Applicability.SAFE, "test", replacement, edits),
    )


def test_a_fix_whose_result_does_not_parse_is_dropped_and_the_others_applied() -> None:
    text = "a = 1\nb = 2\n"
    good = _finding(1, 5, 6, "10")
    bad = _finding(2, 5, 6, "(((")
    new_text, applied, dropped = apply_fixes(text, [good, bad], unsafe=False)
    assert new_text == "a = 10\nb = 2\n"
    assert [a.findings for a in applied] == [(good,)]
    assert [(d.finding, d.reason) for d in dropped] == [(bad, "its result does not parse")]


def test_a_rule_whose_fix_would_break_the_file_changes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    original = STATIC_RULES["RL105"]

    def broken(ctx):  # type: ignore[no-untyped-def]
        for report in original.check(ctx):
            yield replace(report, fix=Fix(Applicability.SAFE, "broken", "0. +"))

    monkeypatch.setitem(STATIC_RULES, "RL105", StaticRule(original.info, broken))
    source = "import torch\nreg = torch.tensor(0.)\nfor p in model.parameters():\n    reg += p.abs().sum()\nloss = loss + 1e-5 * reg\n"
    outcome = fix_text(source, "t.py", Settings(), all_static_codes())
    assert outcome.text == source and not outcome.applied
    assert [d.reason for d in outcome.dropped] == ["its result does not parse"]
    path = tmp_path / "train.py"
    path.write_text(source)
    code, out, err = cli(["check", "train.py", "--fix", "--no-cache"], tmp_path)
    assert path.read_text() == source
    assert "RL105 fix not applied: its result does not parse" in err
    assert code == 1


def test_overlapping_fixes_apply_one_per_pass() -> None:
    text = "x = f(g(1))\n"
    outer = _finding(1, 5, 12, "h(2)", code="RL102")
    inner = _finding(1, 7, 11, "k(3)", code="RL106")
    new_text, applied, _ = apply_fixes(text, [inner, outer], unsafe=False)
    assert new_text == "x = h(2)\n" and len(applied) == 1  # outermost first; the inner one waits


def test_identical_edits_of_two_findings_are_applied_once() -> None:
    edit = Edit(1, 1, 1, 2, "b")
    first = _finding(1, 5, 6, "", edits=(edit,))
    second = _finding(2, 5, 6, "", code="RL201", edits=(edit,))
    new_text, applied, _ = apply_fixes("a = 1\nc = 2\n", [first, second], unsafe=False)
    assert new_text == "b = 1\nc = 2\n"
    assert sum(len(a.findings) for a in applied) == 2


def test_edits_outside_the_text_are_dropped() -> None:
    stray = _finding(9, 1, 2, "x")
    new_text, applied, dropped = apply_fixes("a = 1\n", [stray], unsafe=False)
    assert new_text == "a = 1\n" and not applied and dropped[0].reason == "its edits do not fit the source"


def test_fix_json_is_stable_and_lists_edits_only_when_there_are_several() -> None:
    single = Fix(Applicability.SAFE, "d", "0.")
    assert single.to_json() == {"applicability": "safe", "description": "d", "replacement": "0."}
    several = Fix(Applicability.UNSAFE, "d", "AdamW", (Edit(1, 1, 1, 5, "AdamW"),))
    assert several.to_json()["edits"] == [{"line": 1, "column": 1, "end_line": 1, "end_column": 5, "replacement": "AdamW"}]


def test_crlf_and_bom_survive(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    source = "import torch\r\nreg = torch.tensor(0.)\r\nfor p in model.parameters():\r\n    reg += p.abs().sum()\r\nloss = loss + 1e-5 * reg\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + source.encode())
    code, _, _ = cli(["check", "train.py", "--fix", "--no-cache", "--select", "RL105"], tmp_path)
    assert code == 0
    assert path.read_bytes() == b"\xef\xbb\xbf" + source.replace("torch.tensor(0.)", "0.").encode()


# ---------------------------------------------------------------------------------- files and the CLI

BAD = textwrap.dedent(
    """
    import torch
    import torch.optim as optim
    reg = torch.tensor(0.)
    for p in model.parameters():
        if p.ndim > 1:
            reg += torch.norm(p, 2)
    loss = loss + 1e-4 * reg
    opt = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    """
).lstrip()
SAFE_ONLY = textwrap.dedent(
    """
    import torch
    reg = torch.tensor(0.)
    for p in model.parameters():
        if p.ndim > 1:
            reg += p.abs().sum()
    loss = loss + 1e-5 * reg
    """
).lstrip()


def cli(args: list[str], cwd: Path, input: Optional[str] = None) -> tuple[int, str, str]:
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(main, args, input=input, catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if "reglint-tmp" in p.name)


def test_fix_writes_safe_fixes_and_exits_by_what_remains(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SAFE_ONLY)
    code, out, _ = cli(["check", "train.py", "--fix", "--no-cache"], tmp_path)
    assert code == 0, out  # the only finding was fixed
    assert "reg = 0.\n" in path.read_text()
    assert "Fixed 1 finding." in out and "All checks passed" in out
    code, out, _ = cli(["check", "train.py", "--fix", "--no-cache"], tmp_path)
    assert code == 0 and "Fixed" not in out  # idempotent

    path.write_text(BAD)
    code, out, _ = cli(["check", "train.py", "--fix", "--no-cache"], tmp_path)
    assert code == 1  # RL102, RL201 (unsafe) and RL202, RL203 remain
    text = path.read_text()
    assert "reg = 0.\n" in text and "torch.norm(p, 2)\n" in text and "optim.Adam(" in text
    assert "1 fixable with --fix --unsafe-fixes" not in out and "2 fixable with --fix --unsafe-fixes." in out

    code, out, _ = cli(["check", "train.py", "--fix", "--unsafe-fixes", "--no-cache"], tmp_path)
    assert code == 1  # RL202 and RL203 have no fix
    text = path.read_text()
    assert "torch.norm(p, 2) ** 2" in text and "optim.AdamW(" in text
    assert "Fixed 2 findings." in out
    before = path.read_bytes()
    cli(["check", "train.py", "--fix", "--unsafe-fixes", "--no-cache"], tmp_path)
    assert path.read_bytes() == before


def test_exit_zero_and_fail_level_after_fixing(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BAD)
    assert cli(["check", "train.py", "--fix", "--exit-zero", "--no-cache"], tmp_path)[0] == 0
    assert cli(["check", "train.py", "--fix", "--fail-level", "error", "--no-cache"], tmp_path)[0] == 0


def test_text_output_counts_safe_and_unsafe_fixes(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BAD)
    _, out, _ = cli(["check", "train.py", "--no-cache"], tmp_path)
    assert "1 fixable with --fix (2 more with --fix --unsafe-fixes)." in out
    _, out, _ = cli(["check", "train.py", "--unsafe-fixes", "--no-cache"], tmp_path)
    assert "3 fixable with --fix --unsafe-fixes." in out


def test_json_says_whether_a_fix_exists_and_is_safe(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BAD)
    _, out, _ = cli(["check", "train.py", "--format", "json", "--no-cache"], tmp_path)
    by_code = {f["code"]: f["fix"] for f in json.loads(out)["findings"]}
    assert by_code["RL105"]["applicability"] == "safe" and by_code["RL105"]["replacement"] == "0."
    assert by_code["RL102"]["applicability"] == "unsafe"
    assert by_code["RL201"]["applicability"] == "unsafe" and by_code["RL201"]["edits"][0]["replacement"] == "AdamW"
    assert by_code["RL202"] is None
    _, out, _ = cli(["check", "train.py", "--format", "json", "--fix", "--no-cache"], tmp_path)
    doc = json.loads(out)
    assert doc["summary"]["fixed"] == 1 and "RL105" not in {f["code"] for f in doc["findings"]}


def test_diff_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(BAD)
    before = os.stat(path)
    code, out, err = cli(["check", "train.py", "--diff", "--unsafe-fixes", "--no-cache"], tmp_path)
    assert code == 1  # nothing was written: the findings are all still there
    assert path.read_text() == BAD and os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert out.startswith("--- a/train.py\n+++ b/train.py\n")
    assert "-reg = torch.tensor(0.)\n+reg = 0.\n" in out and "+opt = optim.AdamW(" in out
    assert "Would fix 3 findings" in err and "RL201" in err  # the report goes to stderr
    assert leftovers(tmp_path) == []
    if shutil.which("git"):
        # The diff applies as a patch and gives what --fix writes.
        (tmp_path / "fix.patch").write_text(out)
        subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
        patched = path.read_text()
        path.write_text(BAD)
        cli(["check", "train.py", "--fix", "--unsafe-fixes", "--no-cache"], tmp_path)
        assert path.read_text() == patched


def test_diff_of_a_clean_file_is_empty(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    code, out, _ = cli(["check", "ok.py", "--diff", "--no-cache"], tmp_path)
    assert code == 0 and out == ""


def test_interrupted_write_leaves_the_original_intact(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SAFE_ONLY)

    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fixes.os, "replace", fail)
    code, _, err = cli(["check", "train.py", "--fix", "--no-cache"], tmp_path)
    assert code == 2
    assert "cannot write" in err and "No space left on device" in err
    assert path.read_text() == SAFE_ONLY
    assert leftovers(tmp_path) == []


def test_write_failing_midway_leaves_the_original_intact(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SAFE_ONLY)

    def fail(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fixes.os, "fsync", fail)  # the temporary file is half-written at this point
    with pytest.raises(fixes.FixWriteError):
        fixes.write_atomic(path, b"garbage", SAFE_ONLY.encode(), fixes._snapshot(path))
    assert path.read_text() == SAFE_ONLY
    assert leftovers(tmp_path) == []


def test_file_changed_on_disk_is_not_clobbered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SAFE_ONLY)
    edited = SAFE_ONLY + "print('edited meanwhile')\n"
    real_fix_bytes = fixes.fix_bytes

    def edit_meanwhile(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        out = real_fix_bytes(*args, **kwargs)  # type: ignore[arg-type]
        path.write_text(edited)  # an editor saves while reglint computes the fix
        return out

    monkeypatch.setattr(fixes, "fix_bytes", edit_meanwhile)
    code, out, err = cli(["check", "train.py", "--fix", "--no-cache"], tmp_path)
    assert code == 2
    assert "changed on disk after it was read; not written" in err
    assert path.read_text() == edited
    assert "Fixed" not in out and "RL105" in out  # the finding is reported as still there
    assert leftovers(tmp_path) == []


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SAFE_ONLY)
    path.chmod(0o750)
    cli(["check", "train.py", "--fix", "--no-cache"], tmp_path)
    assert "reg = 0." in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o750


def test_fix_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_text(SAFE_ONLY)
    link = tmp_path / "train.py"
    link.symlink_to(target)
    cli(["check", "train.py", "--fix", "--no-cache"], tmp_path)
    assert link.is_symlink() and "reg = 0." in target.read_text()


def test_fix_with_results_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SAFE_ONLY)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert cli(["check", "train.py", *cache], tmp_path)[0] == 1  # fills the cache
    code, out, _ = cli(["check", "train.py", "--fix", *cache], tmp_path)
    assert code == 0 and "reg = 0." in path.read_text() and "Fixed 1 finding." in out
    assert cli(["check", "train.py", *cache], tmp_path)[0] == 0  # the cache does not bring it back


def test_stdin_fix_prints_the_fixed_source(tmp_path: Path) -> None:
    code, out, err = cli(["check", "-", "--fix", "--stdin-filename", "train.py"], tmp_path, input=SAFE_ONLY)
    assert out == SAFE_ONLY.replace("torch.tensor(0.)", "0.")
    assert "Fixed 1 finding." in err
    assert code == 0


def test_several_files_only_those_with_fixes_are_written(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SAFE_ONLY)
    (tmp_path / "b.py").write_text("x = 1\n")
    os.utime(tmp_path / "b.py", (1, 1))
    code, out, _ = cli(["check", ".", "--fix", "--no-cache"], tmp_path)
    assert code == 0 and "Fixed 1 finding." in out
    assert os.stat(tmp_path / "b.py").st_mtime == 1


# ---------------------------------------------------------------------------------- notebooks


def test_notebook_fix_writes_valid_json_and_keeps_magics(tmp_path: Path) -> None:
    notebook = tmp_path / "train.ipynb"
    shutil.copy(FIXTURES / "notebooks" / "train_bad.ipynb", notebook)
    original = json.loads(notebook.read_text())
    code, out, _ = cli(["check", "train.ipynb", "--fix", "--unsafe-fixes", "--no-cache"], tmp_path)
    assert "Fixed 2 findings." in out
    document = json.loads(notebook.read_text())  # valid JSON
    sources = ["".join(c.get("source", "")) for c in document["cells"]]
    assert "torch.norm(w, 2) ** 2 for w in" in sources[1]
    assert sources[3].startswith("?torch.optim.Adam\n") and "torch.optim.AdamW(" in sources[3]
    assert sources[1].startswith("%matplotlib inline\n!pip install -q torch\n")
    # Only the sources of the fixed cells changed; the layout is the file's own.
    for before, after in zip(original["cells"], document["cells"]):
        assert {k: v for k, v in before.items() if k != "source"} == {k: v for k, v in after.items() if k != "source"}
    assert notebook.read_text() == json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    before = notebook.read_bytes()
    cli(["check", "train.ipynb", "--fix", "--unsafe-fixes", "--no-cache"], tmp_path)
    assert notebook.read_bytes() == before
    assert code == 1  # RL202, RL203 remain


def test_notebook_fix_never_edits_an_ipython_line(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": ["import torch\n", "reg = torch.tensor(0.)\n", "%time x = 1\n", "for p in model.parameters():\n",
                    "    reg += p.abs().sum()\n", "loss = loss + 1e-5 * reg"]},
    ]
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n")
    cli(["check", "n.ipynb", "--fix", "--no-cache"], tmp_path)
    source = json.loads(notebook.read_text())["cells"][0]["source"]
    assert source[1] == "reg = 0.\n" and source[2] == "%time x = 1\n"


# ---------------------------------------------------------------------------------- every fixture


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.py")), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixing_a_fixture_parses_settles_and_is_idempotent(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    for unsafe in (False, True):
        outcome = fix_text(text, str(path), Settings(), all_static_codes(), unsafe=unsafe)
        assert outcome.converged and not outcome.dropped, outcome.dropped
        again = fix_text(outcome.text, str(path), Settings(), all_static_codes(), unsafe=unsafe)
        assert not again.changed
        if outcome.changed:
            assert fixes.parses(outcome.text)
            assert outcome.result is not None and not fixes.fixable(outcome.result.findings, unsafe)
        if "/good/" in str(path):
            assert not outcome.changed, "a good fixture was changed"
