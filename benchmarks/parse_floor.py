"""How fast could `reglint check` be on a tree while its analysis reads libcst's trees?

A lower bound, measured: what a run pays before the analysis does anything, against ruff's whole
run on the same tree. It times

- start-up: the interpreter importing reglint's command line, and libcst with it (every run that
  parses a file imports it; the workers are forked after);
- the triage (reglint/analysis/triage) deciding every file, in one process;
- libcst's parse of what the triage sends on (the pruned copy where it made one), in one process,
  and CPython's parse (`ast`) of the same texts for comparison;

and prints the floor `start-up + (triage + parse) / cores` for each parser with its ratio to ruff
(the median of `--reps` runs of `ruff check --isolated --no-cache TREE`). Reading the linked
project modules, the analysis and the rules all come on top, so `reglint check` cannot be faster
than the libcst floor whatever else is made faster.

    python benchmarks/parse_floor.py                     # the training packages and the scripts
    python benchmarks/parse_floor.py --tree PATH         # any tree

Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import ast
import gc
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import measure, python_files, ruff_command  # noqa: E402
from bench_training import packages_tree, scripts_tree  # noqa: E402


def _startup(imports: str, reps: int) -> float:
    return statistics.median(measure([sys.executable, "-c", f"import {imports}"]).wall for _ in range(reps))


def _parse_all(texts: list[str], parse: Callable[[str], object]) -> float:
    gc.disable()  # reglint pauses the collector while it lints (engine/parallel.py)
    try:
        start = time.process_time()
        for text in texts:
            try:
                parse(text)
            except Exception:
                pass  # RL000: the run reports it, at the parse's cost
        return time.process_time() - start
    finally:
        gc.enable()


def floor(tree: Path, reps: int) -> None:
    from reglint.analysis.triage.decision import decide
    from reglint.checks import STATIC_RULES
    from reglint.engine.parallel import default_jobs
    from reglint.engine.runner import parse_module
    from reglint.engine.source import decode

    enabled = frozenset(STATIC_RULES)
    files = python_files(tree)
    sent: list[str] = []
    gc.disable()
    start = time.process_time()
    for path in files:
        text, _error = decode(path.read_bytes(), str(path))
        if text is None:
            continue
        decision, _ = decide(text, str(path), enabled)
        if decision.analyze:
            sent.append(decision.parse_text if decision.parse_text is not None else text)
    triage = time.process_time() - start
    gc.enable()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_libcst = _parse_all(sent, parse_module)
        with_ast = _parse_all(sent, ast.parse)
    ruff = statistics.median(measure([*ruff_command(), "check", "--isolated", "--no-cache", str(tree)]).wall for _ in range(reps))
    bare = _startup("reglint.cli", reps)
    loaded = _startup("reglint.cli, libcst, reglint.engine.runner", reps)
    cores = default_jobs()
    libcst_floor = loaded + (triage + with_libcst) / cores
    ast_floor = bare + (triage + with_ast) / cores
    print(f"{tree}: {len(files)} files, {len(sent)} sent to the parser, {cores} cores")
    print(f"  ruff check (median of {reps})            {ruff:6.2f} s")
    print(f"  start-up: reglint {bare:.2f} s, with libcst {loaded:.2f} s")
    print(f"  triage, one process (CPU)              {triage:6.2f} s")
    print(f"  parse of what it sends: libcst {with_libcst:.2f} s, ast {with_ast:.2f} s (CPU, one process)")
    print(f"  floor with libcst  {libcst_floor:6.2f} s = {libcst_floor / ruff:5.1f}x ruff")
    print(f"  floor with ast     {ast_floor:6.2f} s = {ast_floor / ruff:5.1f}x ruff")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tree", type=Path, action="append", help="a tree (default: the training packages and scripts)")
    args = parser.parse_args(argv)
    trees = args.tree or [packages_tree(), scripts_tree()]
    for tree in trees:
        floor(tree, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
