#!/usr/bin/env python3
"""Time and exit code of `reglint check` on the inputs of issue 14 (files that once made --fix write
a wrong byte, or cost other files their findings), for any checkout.

    python benchmarks/robustness_figures.py                  # the reglint this Python imports
    python benchmarks/robustness_figures.py --source ../main # another checkout, to compare

Each case runs the CLI in a subprocess (`python -m reglint`, with `--source` first on PYTHONPATH)
in a fresh temporary directory and prints one line: the case, wall seconds, exit code, and what
happened. Nothing here runs in CI; the tests check the behaviour (tests/test_fix_positions.py,
tests/robustness/test_deep_nesting.py, tests/test_parallel.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

TRAIN = (
    "import torch\nmodel = torch.nn.Linear(2, 2)\n"
    "opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)\n"
    "x = {expression}\n"
    "reg = sum(p.norm(2) for p in model.parameters())\n"
    "loss = loss + 1e-4 * reg\n"
)
BACKSLASH = (
    "import torch\nimport torch.optim as optim\n\nmodel = torch.nn.Linear(2, 2)\n\n\n"
    "def step(x, y):\n    if x:\n        x = 1\n{backslash}\n    out = model(x)\n"
    "    opt = 1 + optim.Adam(p,q) + 2\n    l2_reg = torch.tensor(0.)\n"
    "    for param in model.parameters():\n        l2_reg += param.pow(2).sum()\n"
    "    loss = (out - y).pow(2).mean() + 1e-4 * l2_reg\n    loss.backward()\n"
)


def run(args: list[str], cwd: Path, source: Optional[Path], timeout: float) -> tuple[float, str, str, str]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source) + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "reglint", "check", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
        code = str(done.returncode)
        out, err = done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        code, out, err = f"timeout>{timeout:g}s", "", ""
    return time.perf_counter() - start, code, out, err


def _findings(out: str) -> list[dict[str, object]]:
    try:
        return list(json.loads(out)["findings"])
    except (ValueError, KeyError):
        return []


def case_backslash(work: Path, source: Optional[Path], timeout: float, indent: str) -> str:
    text = BACKSLASH.format(backslash=indent + "\\")
    (work / "train.py").write_text(text)
    seconds, code, out, err = run(["train.py", "--no-cache", "--fix"], work, source, timeout)
    after = (work / "train.py").read_text()
    changed = [b for a, b in zip(text.splitlines(), after.splitlines()) if a != b]
    fixed = [line for line in (out + err).splitlines() if line.startswith("Fixed")]
    return f"{seconds:6.2f}s exit {code}: {fixed[0] if fixed else 'nothing fixed'}; changed lines {changed}"


def case_directory(work: Path, source: Optional[Path], timeout: float, jobs: str) -> str:
    crashers = {
        "calls_1200.py": "f(" * 1200 + "1" + ")" * 1200,
        "brackets_2000.py": "[" * 2000 + "]" * 2000,
        "and_7500.py": " and ".join(["a"] * 7500),
    }
    for name, expression in crashers.items():
        (work / name).write_text(TRAIN.format(expression=expression))
    for index in range(10):
        (work / f"train_{index}.py").write_text(TRAIN.format(expression="1"))
    seconds, code, out, err = run([".", "--no-cache", "--format", "json", "--jobs", jobs], work, source, timeout)
    paths = {str(f["path"]) for f in _findings(out)}
    rl000 = sorted(str(f["path"]) for f in _findings(out) if f["code"] == "RL000")
    tail = (err.strip().splitlines() or [""])[-1][:120]
    return f"{seconds:6.2f}s exit {code}: {len(paths)} of 13 files with findings, RL000 in {rl000}; {tail}"


def case_chain(work: Path, source: Optional[Path], timeout: float, terms: int, term: str) -> str:
    expression = " + ".join(term.format(i=i) for i in range(terms))
    (work / "sum.py").write_text(TRAIN.format(expression=expression))
    seconds, code, out, err = run(["sum.py", "--no-cache", "--format", "json"], work, source, timeout)
    codes = sorted({str(f["code"]) for f in _findings(out)})
    internal = "internal error" in err
    return f"{seconds:6.2f}s exit {code}: codes {codes}{'; internal error' if internal else ''}"


def case_annotation(work: Path, source: Optional[Path], timeout: float) -> str:
    (work / "ann.py").write_text(TRAIN.format(expression="1").replace("x = 1\n", "(x): int = 1\n"))
    seconds, code, out, err = run(["ann.py", "--no-cache", "--format", "json"], work, source, timeout)
    codes = sorted({str(f["code"]) for f in _findings(out)})
    return f"{seconds:6.2f}s exit {code}: codes {codes}"


def case_hard_link(work: Path, source: Optional[Path], timeout: float) -> str:
    path = work / "train.py"
    path.write_text(BACKSLASH.format(backslash=""))
    os.link(path, work / "link.py")
    inode = path.stat().st_ino
    seconds, code, out, err = run(["train.py", "--no-cache", "--fix"], work, source, timeout)
    same = path.stat().st_ino == inode
    both = (work / "link.py").read_text() == path.read_text()
    return f"{seconds:6.2f}s exit {code}: same inode {same}, other link sees the fix {both}, links {path.stat().st_nlink}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="a reglint checkout to run instead of the installed one")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per case")
    options = parser.parse_args()
    source = options.source.resolve() if options.source else None
    cases: list[tuple[str, Callable[[Path], str]]] = [
        ("1. backslash line, block indentation", lambda w: case_backslash(w, source, options.timeout, "    ")),
        ("1. backslash line, deeper than the next", lambda w: case_backslash(w, source, options.timeout, "        ")),
        ("2. directory with 3 crashers, --jobs 2", lambda w: case_directory(w, source, options.timeout, "2")),
        ("2. directory with 3 crashers, --jobs 1", lambda w: case_directory(w, source, options.timeout, "1")),
    ]
    for terms in (1200, 2000, 5000):
        cases.append((f"3. sum of {terms} names", lambda w, n=terms: case_chain(w, source, options.timeout, n, "a{i}")))
    for terms in (1200, 2000):
        cases.append(
            (f"3. sum of {terms} penalty terms", lambda w, n=terms: case_chain(w, source, options.timeout, n, "model.l{i}.weight.pow(2).sum()"))
        )
    cases += [
        ("4. (x): int = 1", lambda w: case_annotation(w, source, options.timeout)),
        ("5. --fix of a hard-linked file", lambda w: case_hard_link(w, source, options.timeout)),
    ]
    print(f"reglint from {source or 'the installed package'}; {os.cpu_count()} cores")
    for name, case in cases:
        with tempfile.TemporaryDirectory() as directory:
            print(f"{name:42s} {case(Path(directory))}", flush=True)


if __name__ == "__main__":
    main()
