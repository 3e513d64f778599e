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

# A file reglint cannot parse: one RL000 at line 1.
BROKEN = "def broken(:\n    pass\n"

BAD_EXPECTED: set[tuple[str, int]] = expected(BAD)
NOTEBOOKS = ROOT / "fixtures" / "notebooks"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
