"""Small bad and good training scripts shared by the integration tests.

Expectations are written on the lines they concern (`# expect: CODE`), as in fixtures/.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from helpers import ROOT, expected

BAD = textwrap.dedent(
    """\
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)  # expect: RL201, RL202


    def step(x, y):
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss = loss + 1e-4 * sum(torch.norm(p, 2) for p in model.parameters())  # expect: RL101, RL102, RL203, RL206
        opt.zero_grad()
        loss.backward()
        opt.step()
    """
)

GOOD = textwrap.dedent(
    """\
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)


    def step(x, y):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    """
)

# A training script reglint cannot parse: one RL000 at line 1 (a missing comma). (A file whose
# text holds no training code at all is not parsed: see rules/RL000.md.)
BROKEN = "opt = torch.optim.SGD(model.parameters() lr=0.1)\nfor x, y in loader:\n    loss = crit(model(x), y)\n"

BAD_EXPECTED: set[tuple[str, int]] = expected(BAD)
NOTEBOOKS = ROOT / "fixtures" / "notebooks"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# What installing reglint from a checkout needs (pyproject's build reads the README and the rule
# pages), and the integration files at the root.
PACKAGE_FILES = ("pyproject.toml", "README.md", "reglint", "rules", "action.yml", ".pre-commit-hooks.yaml")


def snapshot_package(dest: Path) -> Path:
    """Copy the working tree's package files to `dest`, as a clean checkout of this repo has them.

    The integration tests install reglint from this copy rather than from the repository itself,
    so they test the working tree (not only the last commit) without depending on unrelated
    untracked or half-written files, caches or build outputs in the checkout.
    """
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".reglint_cache")
    for name in PACKAGE_FILES + tuple(p.name for p in ROOT.glob("LICENSE*")):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copy2(source, dest / name)
    return dest
