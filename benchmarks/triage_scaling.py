#!/usr/bin/env python3
"""How the triage in front of libcst scales with the size of a file (issue 17, item 3).

    python benchmarks/triage_scaling.py                 # every case, a few sizes each
    python benchmarks/triage_scaling.py --case model --sizes 25000 50000 100000 200000

For each generated input, three figures, wall seconds on this machine:

- `decide`: the triage's decision alone (`triage.verdict`, text and syntax cuts, no libcst);
- `check`: `reglint check --no-cache` in a subprocess (the triage, then libcst where needed);
- `no-prefilter`: the same with `--no-prefilter` (libcst always), the figure to stay under.

A linear triage keeps `decide` proportional to the size: the last column prints the ratio of
each row's `decide` per line to the smallest row's. The cases:

- `model`: a model file with no penalty: many nn.Module classes sharing method names
  (`forward`, `reset_parameters`), each with parameters, reductions and loss-like names, so
  every cut has to look at every unit and the method linking has many candidates;
- `modules`: the same kind of file where each block holds the one before it and calls it with
  a weight (`self.inner(self.proj.weight)`), so the flow cut follows every class and instance
  of the file (flowcut._activate);
- `imports`: one line of `import ` words (a text the import patterns must not backtrack on);
- `brackets`: a long run of opened brackets never closed (a broken file: RL000 from CPython).

Nothing here runs in CI; tests/test_prefilter.py checks the patterns do not backtrack.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

MODEL_CLASS = '''

class Block{index}(nn.Module):
    """Block {index}: a linear layer, a norm and a residual."""

    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)
        self.scale = nn.Parameter(torch.ones(width))

    def reset_parameters(self):
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x, mask=None):
        h = self.norm(x)
        h = self.proj(h) * self.scale
        if mask is not None:
            h = h.masked_fill(mask, 0.0)
        total = h.sum(dim=-1, keepdim=True)
        return x + h / (total.abs() + 1e-6)

    def extra_loss(self, x):
        aux_loss = self.forward(x).mean()
        return aux_loss
'''
MODEL_HEAD = "import torch\nfrom torch import nn\n"

NESTED_CLASS = '''

class Stage{index}(nn.Module):
    """Stage {index}: the stage before it, fed its own projection's weight."""

    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.inner = Stage{previous}(width)

    def forward(self, x):
        h = self.proj(x)
        gate = self.inner(self.proj.weight)
        return h * gate.sum(dim=-1, keepdim=True)

    def extra_loss(self, x):
        aux_loss = self.forward(x).mean()
        return aux_loss
'''


def model_file(lines: int) -> str:
    per_class = MODEL_CLASS.count("\n")
    return MODEL_HEAD + "".join(MODEL_CLASS.format(index=i) for i in range(max(1, lines // per_class)))


def modules_file(lines: int) -> str:
    per_class = NESTED_CLASS.count("\n")
    first = "\n\nclass Stage0(nn.Module):\n    def forward(self, x):\n        return x\n"
    count = max(1, lines // per_class)
    return MODEL_HEAD + first + "".join(NESTED_CLASS.format(index=i, previous=i - 1) for i in range(1, count))


def imports_line(words: int) -> str:
    return "import torch\nx = 1\n" + "import " * words + "\n"


def open_brackets(count: int) -> str:
    return "import torch\nloss = model.weight.sum() + " + "(" * count + "\n"


def commented_keys(count: int) -> str:
    """String keys and params, each followed by comments with many `#` and no colon: the shape on
    which the param-group key pattern once backtracked exponentially."""
    line = '"params" # ' + "# " * 40 + "\n"
    return "import torch\ngroups = [\n" + line * count + "]\n"


def getattr_calls(count: int) -> str:
    """getattr calls on dotted names with blanks and continuations, none closed by a comma."""
    return "import torch\nfrom torch import optim\n" + "getattr( ( torch . \\\n optim ) " * count + "\n"


CASES: dict[str, tuple[Callable[[int], str], list[int], str]] = {
    "model": (model_file, [25_000, 50_000, 100_000, 200_000], "lines"),
    "modules": (modules_file, [25_000, 50_000, 100_000, 200_000], "lines"),
    "imports": (imports_line, [2_000, 4_000, 8_000, 16_000], "words"),
    "brackets": (open_brackets, [2_000, 4_000, 8_000, 16_000], "brackets"),
    "commented-keys": (commented_keys, [2_000, 4_000, 8_000, 16_000], "lines"),
    "getattr": (getattr_calls, [2_000, 4_000, 8_000, 16_000], "calls"),
}


def decide_seconds(text: str) -> float:
    from reglint.analysis.triage import decision as triage
    from reglint.engine.config import Settings
    from reglint.engine.session import _enabled

    enabled = _enabled(Settings())
    start = time.perf_counter()
    triage.verdict(text, "generated.py", enabled)
    return time.perf_counter() - start


def check_seconds(path: Path, *extra: str, timeout: float) -> str:
    start = time.perf_counter()
    try:
        subprocess.run(
            [sys.executable, "-m", "reglint", "check", "--no-cache", "-q", *extra, str(path)],
            capture_output=True, timeout=timeout, env=dict(os.environ),
        )
    except subprocess.TimeoutExpired:
        return f">{timeout:g}"
    return f"{time.perf_counter() - start:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--no-check", action="store_true", help="time the decision only")
    args = parser.parse_args()
    sys.setrecursionlimit(10_000)  # as the CLI does
    for name in args.case or list(CASES):
        make, sizes, unit = CASES[name]
        print(f"{name}: size ({unit}), lines, decide s, check s, no-prefilter s, decide per {unit[:-1]} ÷ first row's")
        first_rate = None
        for size in args.sizes or sizes:
            text = make(size)
            lines = text.count("\n")
            decide = decide_seconds(text)
            rate = decide / size
            first_rate = first_rate or rate
            if args.no_check:
                checked = unfiltered = "-"
            else:
                with tempfile.TemporaryDirectory() as directory:
                    path = Path(directory) / "generated.py"
                    path.write_text(text, encoding="utf-8")
                    checked = check_seconds(path, timeout=args.timeout)
                    unfiltered = check_seconds(path, "--no-prefilter", timeout=args.timeout)
            print(f"  {size:>8} {lines:>8} {decide:8.3f} {checked:>8} {unfiltered:>8} {rate / first_rate:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
