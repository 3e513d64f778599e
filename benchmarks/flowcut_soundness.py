"""Check the flow cut against the analysis on real trees: wherever the analysis records a
penalty, reglint/analysis/triage/flowcut.py must say a term can be built.

    python benchmarks/flowcut_soundness.py [TREE ...]   # default: the corpora bench_check.py downloads

For every .py file that CPython and libcst parse and whose text mentions a reduction or a norm,
the cut runs on the whole file; where it says no term can be built, the analysis runs on libcst's
tree and must find no penalty. The cut also runs through the file's skeleton (the way the triage
reads it, textcut.Skeleton), and its answer, where it gives one, must be the whole file's. Prints
how many files each answer covered, lists any file where the cut was wrong, and exits 1 if there
is one. tests/test_flowcut.py does the same on the
fixtures and snippets in CI; this takes minutes (libcst parses most of the files).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from reglint.analysis import analyze_module
from reglint.analysis.triage.flowcut import may_build_a_term, may_build_a_term_in
from reglint.analysis.triage.textcut import skeleton_of
from reglint.engine.prefilter import decode_plain
from reglint.engine.runner import parse_module

BENCH = Path(__file__).resolve().parent.parent / ".bench" / "corpus"


def check(tree_root: Path) -> tuple[int, int, int, list[str]]:
    read = ruled_out = skeletons = 0
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
        answer = may_build_a_term(tree, text=text)
        skeleton = skeleton_of(text)
        through = may_build_a_term_in(skeleton, text) if skeleton is not None else None
        if through is not None:
            skeletons += 1
            if through != answer:
                wrong.append(f"{path} (through the skeleton: {through}, the whole file: {answer})")
        if answer:
            continue
        ruled_out += 1
        try:
            facts = analyze_module(module, text)
        except RecursionError:
            continue
        if facts.penalties:
            wrong.append(f"{path} (the analysis builds a penalty)")
    return read, ruled_out, skeletons, wrong


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or sorted(p for p in BENCH.iterdir() if p.is_dir())
    failed = False
    for root in roots:
        read, ruled_out, skeletons, wrong = check(root)
        print(
            f"{root}: {read} files read, {ruled_out} ruled out by the flow cut, {skeletons} also read through "
            f"a skeleton, {len(wrong)} wrongly"
        )
        for path in wrong:
            print(f"  wrong: {path}")
        failed |= bool(wrong)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
