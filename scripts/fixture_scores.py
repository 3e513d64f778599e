"""Recall and precision of every static rule over the repository's own fixtures.

Each `# expect: CODE` marker in fixtures/**/*.py (audit models excluded) is a true finding; a finding
without a marker is a false positive, a marker without a finding a miss. VALID/INVALID snippets of
the rule modules count the same way. Usage: python scripts/fixture_scores.py
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reglint.checks import STATIC_RULES  # noqa: E402
from reglint.engine.config import Settings  # noqa: E402
from reglint.engine.runner import lint_text  # noqa: E402
from reglint.engine.session import _enabled  # noqa: E402

EXPECT = re.compile(r"#\s*expect:\s*((?:RL\d{3}[\s,]*)+)")


def markers(source: str) -> set[tuple[str, int]]:
    out = set()
    for number, line in enumerate(source.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            out |= {(code, number) for code in re.findall(r"RL\d{3}", match.group(1))}
    return out


def sources() -> list[tuple[str, str, str | None]]:
    """(name, source, only_code): a rule's snippets are judged on that rule alone."""
    out: list[tuple[str, str, str | None]] = []
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        if "audit" not in path.relative_to(ROOT / "fixtures").parts:
            out.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"), None))
    for code, rule in sorted(STATIC_RULES.items()):
        for kind, snippets in (("valid", rule.valid), ("invalid", rule.invalid)):
            for index, snippet in enumerate(snippets):
                out.append((f"<{code} {kind} {index}>", textwrap.dedent(snippet), code))
    return out


def main() -> int:
    enabled = _enabled(Settings(select=("ALL",)))
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    problems = []
    for name, source, only in sources():
        want = {m for m in markers(source) if only is None or m[0] == only}
        got = {(f.code, f.line or 0) for f in lint_text(source, name, Settings(), enabled).findings}
        if only is not None:
            got = {g for g in got if g[0] == only}
        for code, _line in got & want:
            tp[code] += 1
        for code, line in got - want:
            fp[code] += 1
            problems.append(f"  false positive {code} {name}:{line}")
        for code, line in want - got:
            fn[code] += 1
            problems.append(f"  miss           {code} {name}:{line}")
    print(f"{'code':<6} {'name':<28} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}")
    for code in sorted(set(tp) | set(fp) | set(fn) | set(STATIC_RULES)):
        t, f, n = tp[code], fp[code], fn[code]
        precision = f"{t / (t + f):.3f}" if t + f else "-"
        recall = f"{t / (t + n):.3f}" if t + n else "-"
        name = STATIC_RULES[code].info.name if code in STATIC_RULES else ""
        print(f"{code:<6} {name:<28} {t:>4} {f:>4} {n:>4} {precision:>9} {recall:>7}")
    T, F, N = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print(f"{'all':<35} {T:>4} {F:>4} {N:>4} {T / max(T + F, 1):>9.3f} {T / max(T + N, 1):>7.3f}")
    if problems:
        print("\n".join(problems))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
