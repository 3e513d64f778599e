"""Check the flow cut against the analysis on real trees: wherever the analysis records a
penalty, reglint/analysis/triage/flowcut.py must say a term can be built.

    python benchmarks/flowcut_soundness.py [TREE ...]   # default: the corpora bench_check.py downloads

For every .py file that CPython and libcst parse and whose text mentions a reduction or a norm,
the cut runs on the whole file; where it says no term can be built, the analysis runs on libcst's
tree and must find no penalty. Prints how many files each answer covered, lists any file where
the cut was wrong, and exits 1 if there is one. tests/test_flowcut.py does the same on the
fixtures and snippets in CI; this takes minutes (libcst parses most of the files).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from reglint.analysis import analyze_module
from reglint.analysis.triage.flowcut import may_build_a_term
from reglint.engine.prefilter import decode_plain
from reglint.engine.runner import parse_module

BENCH = Path(__file__).resolve().parent.parent / ".bench" / "corpus"


def check(tree_root: Path) -> tuple[int, int, list[str]]:
    read = ruled_out = 0
    wrong: list[str] = []
    for path in sorted(tree_root.rglob("*.py")):
        text = decode_plain(path.read_bytes())
        if text is None or not any(word in text for word in ("sum", "mean", "norm")):
            continue
        try:
            tree = ast.parse(text)
            module = parse_module(text)
        except Exception:
            continue
        read += 1
        if may_build_a_term(tree):
            continue
        ruled_out += 1
        try:
            facts = analyze_module(module, text)
        except RecursionError:
            continue
        if facts.penalties:
            wrong.append(str(path))
    return read, ruled_out, wrong


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or sorted(p for p in BENCH.iterdir() if p.is_dir())
    failed = False
    for root in roots:
        read, ruled_out, wrong = check(root)
        print(f"{root}: {read} files read, {ruled_out} ruled out by the flow cut, {len(wrong)} wrongly")
        for path in wrong:
            print(f"  the analysis builds a penalty in {path}")
        failed |= bool(wrong)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
