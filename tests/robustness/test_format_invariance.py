"""Formatting invariance: reformatting a fixture or renaming its variables consistently does not
change which rule codes are reported (compared as multisets of codes; lines move).

Transformations:
- `ast.unparse(ast.parse(src))`: a full re-render (comments dropped, one statement per line,
  parentheses, quotes and number spellings normalised, e.g. `1e-4` -> `0.0001`);
- `black`, when installed;
- re-indentation to 2 spaces and to tabs, and `ast.unparse` with CRLF line endings;
- consistent renaming of local names (a libcst transformer that renames every `Name` node that is
  a variable, parameter or loop target, never attributes, keyword-argument names, imported
  modules, builtins or the names of functions and classes).

Which renames must preserve findings (RENAMES_NEUTRAL): model/net/param/p/name/optimizer/x/y/out/
criterion/epoch/lam/... — names the analysis must not care about. Names that carry meaning to
the analysis are renamed only to names that carry the same meaning (RENAMES_LOSSISH): a penalty
accumulator `reg` -> `reg_term`, `l2` -> `l2_term`, `loss` -> `loss_value`: the prefilter and the
analysis recognise penalties and losses partly by name (PENALTY_NAME / LOSS_NAME patterns), so a
rename of `loss` to a neutral word like `objective` may legitimately lose a finding and is not
asserted.
"""

from __future__ import annotations

import ast
import builtins
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest
from robust_support import FIXTURES, lint

BAD = sorted(
    p for p in FIXTURES.rglob("*.py")
    if p.relative_to(FIXTURES).parts[0] in ("bad", "demo") and "known_failing" not in p.name
)
IDS = [str(p.relative_to(FIXTURES)) for p in BAD]

RENAMES_NEUTRAL = {
    "model": "net",
    "net": "model_b",
    "m": "mod",
    "param": "w",
    "p": "q",
    "w": "weight_t",
    "name": "key",
    "n": "k",
    "optimizer": "opt_obj",
    "opt": "the_opt",
    "x": "inputs",
    "y": "targets",
    "images": "batch_x",
    "labels": "batch_y",
    "out": "pred",
    "output": "pred2",
    "logits": "scores",
    "criterion": "crit_fn",
    "loss_fn": "crit",
    "epoch": "ep",
    "step": "it",
    "i": "j",
    "lam": "coef",
    "alpha": "beta_coef",
    "loader": "batches",
    "batch": "mb",
    "args": "cfg_ns",
}
RENAMES_LOSSISH = {
    "reg": "reg_term",
    "l2": "l2_term",
    "l1": "l1_term",
    "penalty": "penalty_value",
    "loss": "loss_value",
    "l2_reg": "l2_penalty",
    "l1_reg": "l1_penalty",
}
BUILTINS = set(dir(builtins))


def _protected(module: cst.Module) -> set[str]:
    """Names a rename must not touch: imported names, defined functions/classes, keyword names."""
    out: set[str] = set(BUILTINS) | {"self", "cls", "torch", "nn", "F", "optim", "th"}

    class Collect(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                target = alias.asname.name if alias.asname else alias.name
                if isinstance(target, cst.Name):
                    out.add(target.value)
                else:
                    out.add(cst.Module([]).code_for_node(target).split(".")[0])

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if isinstance(node.names, cst.ImportStar):
                return
            for alias in node.names:
                target = alias.asname.name if alias.asname else alias.name
                if isinstance(target, cst.Name):
                    out.add(target.value)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            out.add(node.name.value)

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            out.add(node.name.value)

        def visit_Arg(self, node: cst.Arg) -> None:
            if node.keyword is not None:
                out.add(node.keyword.value)

    module.visit(Collect())
    return out


class Rename(cst.CSTTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping
        self.skip: list[cst.CSTNode] = []

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.skip.append(node.attr)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.skip.append(node.keyword)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.skip.append(node.name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.skip.append(node.name)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if any(original is s for s in self.skip):
            return updated
        new = self.mapping.get(original.value)
        return updated.with_changes(value=new) if new else updated


def rename(source: str, mapping: dict[str, str]) -> str:
    module = cst.parse_module(source)
    protected = _protected(module)
    used = {n.value for n in _all_names(module)}
    safe = {old: new for old, new in mapping.items() if old not in protected and new not in used}
    return module.visit(Rename(safe)).code


def _all_names(module: cst.Module) -> list[cst.Name]:
    names: list[cst.Name] = []

    class Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.append(node)

    module.visit(Collect())
    return names


def codes(source: str, path: str = "fixture.py") -> Counter[str]:
    result = lint(source.encode("utf-8"), path, seconds=60)
    assert result.internal_error is None, result.internal_error
    return Counter(f.code for f in result.findings)


def reindent(source: str, unit: str) -> str:
    """Re-indent an `ast.unparse` rendering (4 spaces per level, no continuation lines)."""
    out = []
    for line in source.split("\n"):
        stripped = line.lstrip(" ")
        depth = (len(line) - len(stripped)) // 4
        out.append(unit * depth + stripped)
    return "\n".join(out)


def unparse(source: str) -> str:
    return ast.unparse(ast.parse(source)) + "\n"


@pytest.mark.parametrize("path", BAD, ids=IDS)
def test_ast_unparse_round_trip_keeps_codes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    want = codes(source)
    assert want, f"{path} is a bad fixture without findings"
    rendered = unparse(source)
    assert codes(rendered) == want, rendered


@pytest.mark.parametrize("path", BAD, ids=IDS)
def test_reindent_and_line_endings_keep_codes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    want = codes(source)
    rendered = unparse(source)
    # The unparse rendering has no string spanning lines except docstrings; skip a fixture whose
    # strings would be re-indented (that would change their value, not their findings, but keep it simple).
    for variant in (reindent(rendered, "  "), reindent(rendered, "\t"), rendered.replace("\n", "\r\n")):
        try:
            ast.parse(variant)
        except SyntaxError:
            continue
        assert codes(variant) == want, variant


@pytest.mark.parametrize("path", BAD, ids=IDS)
def test_black_reformat_keeps_codes(path: Path) -> None:
    black = pytest.importorskip("black")
    source = path.read_text(encoding="utf-8")
    want = codes(source)
    for mode in (black.Mode(line_length=40), black.Mode(line_length=200, magic_trailing_comma=False)):
        formatted = black.format_str(source, mode=mode)
        assert codes(formatted) == want, formatted


@pytest.mark.parametrize("path", BAD, ids=IDS)
def test_neutral_renames_keep_codes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    want = codes(source)
    renamed = rename(source, RENAMES_NEUTRAL)
    ast.parse(renamed)
    assert codes(renamed) == want, renamed


@pytest.mark.parametrize("path", BAD, ids=IDS)
def test_lossish_renames_keep_codes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    want = codes(source)
    renamed = rename(source, RENAMES_LOSSISH)
    ast.parse(renamed)
    assert codes(renamed) == want, renamed


@pytest.mark.parametrize("path", BAD, ids=IDS)
def test_renamed_and_reformatted_keeps_codes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    want = codes(source)
    both = unparse(rename(source, {**RENAMES_NEUTRAL, **RENAMES_LOSSISH}))
    assert codes(both) == want, both


def test_rename_transform_renames() -> None:
    """The transform itself: variables renamed, attributes/keywords/imports/defs untouched."""
    source = (
        "import torch\n"
        "def penalty(model, p=2):\n"
        "    return sum(torch.norm(w, p=p) for w in model.parameters())\n"
        "model = Net()\n"
        "loss = crit(model(x), y) + penalty(model)\n"
    )
    out = rename(source, {"model": "net", "p": "q", "w": "v", "loss": "loss_value", "penalty": "pen", "torch": "tt"})
    # `p` is also a keyword-argument name (`p=`), so it is protected and kept.
    assert "def penalty(net, p=2)" in out
    assert "torch.norm(v, p=p)" in out and "net.parameters()" in out
    assert "loss_value = crit(net(x), y) + penalty(net)" in out
