#!/usr/bin/env python3
"""Score reglint against the hand-labelled probe corpus of real training code.

    python scripts/probe_score.py                          # the reglint of this checkout's venv
    python scripts/probe_score.py --python /work/main/.venv/bin/python --json /tmp/main.json
    python scripts/probe_score.py --batch b1_bolts --details

The corpus (third-party code) lives outside the repo, under --corpus (default /work/probes):
`pkgs/<dist>-<version>/...` unpacked by scripts/probe_fetch.py, `snippets/<owner>__<repo>/...`
fetched from GitHub by hand. The labels are JSON files, one per batch (default: /work/probes/labels
when it exists, else scripts/probes/labels in this repo). Each batch holds items:

    {"id": "...", "root": "pkgs/recbole-1.2.1", "kind": "file" | "project",
     "files": ["recbole/model/loss.py", ...],      # relative to root; all are linted
     "train": "recbole/trainer/trainer.py",        # project only: the file pre-commit would pass
     "findings": [{"code": "RL201", "file": "...", "line": 12, "alt": [13],
                   "status": "req" | "opt", "why": "one line"}]}

`req` findings are what an expert applying the rule catalog reports; `opt` ones are cases the code
cannot settle (an unknown optimizer class, a value from a config file): reporting them is neither a
true nor a false positive, missing them is not a miss.

Three runs, each scored at two levels:
- single:    every `file` item (all files of one root in one reglint call);
- project:   every `project` item, all its files in one call;
- precommit: every `project` item, its train file alone (the others are read, not reported).
Levels: (file, code) pairs, and (file, line, code) where a reported line matches a label when it
falls in the same statement as the label's line or one of its `alt` lines.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path("/work/probes")
REPO_LABELS = REPO / "scripts" / "probes" / "labels"
SCORED_PREFIX = "RL"
SKIPPED_CODES = {"RL000", "RL900"}
MODES = ("single", "project", "precommit")


@dataclass(frozen=True)
class Label:
    item: str
    code: str
    places: tuple[tuple[str, int], ...]  # (file, line) where the finding may be reported
    required: bool
    why: str

    @property
    def files(self) -> frozenset[str]:
        return frozenset(f for f, _ in self.places)

    @property
    def file(self) -> str:
        return self.places[0][0]

    def restricted_to(self, file: str) -> Label | None:
        kept = tuple(p for p in self.places if p[0] == file)
        return Label(self.item, self.code, kept, self.required, self.why) if kept else None


@dataclass(frozen=True)
class Reported:
    item: str
    code: str
    file: str
    line: int
    message: str


@dataclass
class Item:
    id: str
    root: Path
    kind: str
    files: list[str]
    train: str | None
    labels: list[Label]


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Outcome:
    by_code: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    false_pos: list[dict] = field(default_factory=list)
    false_neg: list[dict] = field(default_factory=list)
    optional_hits: int = 0

    def total(self) -> Tally:
        out = Tally()
        for t in self.by_code.values():
            out.tp += t.tp
            out.fp += t.fp
            out.fn += t.fn
        return out


def load_items(label_dir: Path, corpus: Path, batches: set[str] | None) -> list[Item]:
    items: list[Item] = []
    for path in sorted(label_dir.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if batches and data["batch"] not in batches:
            continue
        for raw in data["items"]:
            labels = [
                Label(
                    item=raw["id"],
                    code=f["code"],
                    places=(
                        (f["file"], f["line"]),
                        *((f["file"], ln) for ln in f.get("alt", [])),
                        *((af, ln) for af, ln in f.get("also", [])),
                    ),
                    required=f.get("status", "req") == "req",
                    why=f.get("why", ""),
                )
                for f in raw.get("findings", [])
            ]
            for label in labels:
                if not label.files <= set(raw["files"]):
                    raise SystemExit(
                        f"{path.name}: {raw['id']}: label file {label.file} not in files"
                    )
            items.append(
                Item(
                    id=raw["id"],
                    root=corpus / raw["root"],
                    kind=raw.get("kind", "file"),
                    files=raw["files"],
                    train=raw.get("train"),
                    labels=labels,
                )
            )
    return items


def run_reglint(python: str, root: Path, files: list[str], extra: list[str]) -> list[dict]:
    """Lint `files` (relative to root) in one call; return the findings with root-relative paths."""
    paths = [str(root / f) for f in files]
    cmd = [
        python,
        "-m",
        "reglint",
        "check",
        "--format",
        "json",
        "--no-cache",
        "--exit-zero",
        *extra,
        *paths,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"reglint failed ({proc.returncode}) on {root}: {proc.stderr[-2000:]}")
    findings = json.loads(proc.stdout)["findings"]
    for f in findings:
        f["path"] = str(Path(f["path"]).resolve().relative_to(root.resolve()))
    return findings


@cache
def statement_spans(path: Path) -> tuple[tuple[int, int], ...]:
    """(first, last) line of every statement; a compound statement counts only its header."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return ()
    spans = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            first = node.lineno
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node.decorator_list
            ):
                first = min(d.lineno for d in node.decorator_list)
            spans.append((first, max(first, body[0].lineno - 1)))
        else:
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return tuple(spans)


def span_of(path: Path, line: int) -> tuple[int, int]:
    containing = [s for s in statement_spans(path) if s[0] <= line <= s[1]]
    return min(containing, key=lambda s: s[1] - s[0]) if containing else (line, line)


def line_matches(root: Path, label: Label, rep: Reported) -> bool:
    if label.code != rep.code:
        return False
    return any(
        file == rep.file and lo <= rep.line <= hi
        for file, line in label.places
        for lo, hi in [span_of(root / file, line)]
    )


def dedupe_by_statement(root: Path, reported: list[Reported]) -> list[Reported]:
    seen: set[tuple[str, str, tuple[int, int]]] = set()
    kept = []
    for rep in sorted(reported, key=lambda r: (r.file, r.line)):
        key = (rep.code, rep.file, span_of(root / rep.file, rep.line))
        if key not in seen:
            seen.add(key)
            kept.append(rep)
    return kept


def score_items(
    pairs: list[tuple[Item, list[Label], list[Reported]]], codes: set[str]
) -> tuple[Outcome, Outcome]:
    """Return (file x code outcome, line outcome) over (item, expected labels, reported) triples."""
    by_file, by_line = Outcome(), Outcome()
    for item, labels, reported in pairs:
        # (file, code) level: a label is met by any finding of its code in one of its files
        units = {(lb.code, lb.files): lb for lb in labels if lb.required}
        got = {(r.file, r.code) for r in reported}
        covered = {(f, lb.code) for lb in labels for f in lb.files}
        for (code, files), lb in units.items():
            if code not in codes:
                continue
            if any((f, code) in got for f in files):
                by_file.by_code[code].tp += 1
            else:
                by_file.by_code[code].fn += 1
                by_file.false_neg.append(
                    {"item": item.id, "file": lb.file, "code": code, "why": lb.why}
                )
        for file, code in sorted(got):
            if code not in codes:
                continue
            if (file, code) in covered:
                if not any(code == c and file in fs for c, fs in units):
                    by_file.optional_hits += 1
                continue
            by_file.by_code[code].fp += 1
            first = min(
                (r for r in reported if (r.file, r.code) == (file, code)), key=lambda r: r.line
            )
            by_file.false_pos.append(
                {
                    "item": item.id,
                    "file": file,
                    "line": first.line,
                    "code": code,
                    "message": first.message,
                }
            )
        # line level: one reported finding satisfies at most one label; findings of one code in one
        # statement (two norms on a line) count once, as the labels are written per statement
        unused = dedupe_by_statement(item.root, reported)
        for label in sorted(labels, key=lambda lb: not lb.required):
            if label.code not in codes:
                continue
            hit = next((r for r in unused if line_matches(item.root, label, r)), None)
            if hit is not None:
                unused.remove(hit)
                if label.required:
                    by_line.by_code[label.code].tp += 1
                else:
                    by_line.optional_hits += 1
            elif label.required:
                by_line.by_code[label.code].fn += 1
                by_line.false_neg.append(
                    {
                        "item": item.id,
                        "file": label.file,
                        "line": label.places[0][1],
                        "code": label.code,
                        "why": label.why,
                    }
                )
        for rep in unused:
            if rep.code not in codes:
                continue
            by_line.by_code[rep.code].fp += 1
            by_line.false_pos.append(
                {
                    "item": item.id,
                    "file": rep.file,
                    "line": rep.line,
                    "code": rep.code,
                    "message": rep.message,
                }
            )
    return by_file, by_line


def as_reported(item: Item, findings: list[dict], files: list[str]) -> list[Reported]:
    wanted = set(files)
    return [
        Reported(
            item=item.id,
            code=f["code"],
            file=f["path"],
            line=f["line"],
            message=f.get("message", ""),
        )
        for f in findings
        if f["path"] in wanted
        and f["code"].startswith(SCORED_PREFIX)
        and f["code"] not in SKIPPED_CODES
    ]


def collect(items: list[Item], python: str, extra: list[str], modes: set[str]) -> dict[str, list]:
    runs: dict[str, list] = {m: [] for m in MODES}
    if "single" in modes:
        by_root: dict[Path, list[Item]] = defaultdict(list)
        for item in items:
            if item.kind == "file":
                by_root[item.root].append(item)
        for root, group in by_root.items():
            files = sorted({f for it in group for f in it.files})
            findings = run_reglint(python, root, files, extra)
            for it in group:
                runs["single"].append((it, it.labels, as_reported(it, findings, it.files)))
    for item in items:
        if item.kind != "project":
            continue
        if "project" in modes:
            findings = run_reglint(python, item.root, item.files, extra)
            runs["project"].append((item, item.labels, as_reported(item, findings, item.files)))
        if "precommit" in modes and item.train:
            findings = run_reglint(python, item.root, [item.train], extra)
            train = item.train
            labels = [r for lb in item.labels if (r := lb.restricted_to(train)) is not None]
            runs["precommit"].append((item, labels, as_reported(item, findings, [item.train])))
    return runs


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def table(title: str, outcome: Outcome) -> str:
    lines = [f"{title}", f"  {'code':6} {'TP':>4} {'FP':>4} {'FN':>4}  {'prec':>5} {'rec':>5}"]
    for code in sorted(outcome.by_code):
        t = outcome.by_code[code]
        lines.append(
            f"  {code:6} {t.tp:4d} {t.fp:4d} {t.fn:4d}  {fmt(t.precision()):>5} {fmt(t.recall()):>5}"
        )
    t = outcome.total()
    lines.append(
        f"  {'all':6} {t.tp:4d} {t.fp:4d} {t.fn:4d}  {fmt(t.precision()):>5} {fmt(t.recall()):>5}"
    )
    lines.append(f"  (optional labels reported: {outcome.optional_hits})")
    return "\n".join(lines)


def details(outcome: Outcome, labels_by_key: dict) -> str:
    out = []
    for fp in sorted(outcome.false_pos, key=lambda d: (d["code"], d["item"], d.get("line", 0))):
        out.append(
            f"  FP {fp['code']} {fp['item']} :: {fp['file']}:{fp.get('line', '?')}  {fp['message'][:140]}"
        )
    for fn in sorted(outcome.false_neg, key=lambda d: (d["code"], d["item"], d.get("line", 0))):
        out.append(
            f"  FN {fn['code']} {fn['item']} :: {fn['file']}:{fn.get('line', '?')}  {fn['why'][:140]}"
        )
    return "\n".join(out)


def markdown_table(outcome: Outcome) -> str:
    """The per-code table as Markdown, for notes and reviews."""
    rows = ["| code | TP | FP | FN | prec | rec |", "|---|---|---|---|---|---|"]
    for code in sorted(outcome.by_code):
        t = outcome.by_code[code]
        rows.append(
            f"| {code} | {t.tp} | {t.fp} | {t.fn} | {fmt(t.precision())} | {fmt(t.recall())} |"
        )
    t = outcome.total()
    rows.append(f"| all | {t.tp} | {t.fp} | {t.fn} | {fmt(t.precision())} | {fmt(t.recall())} |")
    return "\n".join(rows)


def summary(outcome: Outcome) -> dict:
    return {
        "by_code": {c: vars(t) for c, t in sorted(outcome.by_code.items())},
        "total": vars(outcome.total()),
        "optional_hits": outcome.optional_hits,
        "false_pos": outcome.false_pos,
        "false_neg": outcome.false_neg,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="where pkgs/ and snippets/ are"
    )
    ap.add_argument("--labels", type=Path, default=None, help="folder of label JSON files")
    ap.add_argument("--python", default=sys.executable, help="interpreter whose reglint is scored")
    ap.add_argument("--batch", action="append", help="only these batches (repeatable)")
    ap.add_argument("--mode", action="append", choices=MODES, help="only these runs (repeatable)")
    ap.add_argument("--level", choices=("file", "line", "both"), default="both")
    ap.add_argument("--details", action="store_true", help="list every FP and FN")
    ap.add_argument("--json", type=Path, help="write the full result here")
    ap.add_argument("--markdown", type=Path, help="write the per-code tables as Markdown here")
    ap.add_argument(
        "--reglint-arg", action="append", default=[], help="extra argument for reglint check"
    )
    args = ap.parse_args(argv)

    label_dir = args.labels or (
        args.corpus / "labels" if (args.corpus / "labels").is_dir() else REPO_LABELS
    )
    items = load_items(label_dir, args.corpus, set(args.batch) if args.batch else None)
    missing = sorted(
        {str(it.root / f) for it in items for f in it.files if not (it.root / f).is_file()}
    )
    if missing:
        print(
            f"{len(missing)} corpus files missing (run scripts/probe_fetch.py?), e.g. {missing[:3]}",
            file=sys.stderr,
        )
        return 2
    extra = ["--isolated", "--select", "ALL", *args.reglint_arg]
    modes = set(args.mode or MODES)
    runs = collect(items, args.python, extra, modes)

    codes = {lb.code for it in items for lb in it.labels} | {
        r.code for triples in runs.values() for _, _, reps in triples for r in reps
    }
    result: dict = {"labels": str(label_dir), "python": args.python, "runs": {}}
    markdown: list[str] = []
    n_single = sum(1 for it in items if it.kind == "file")
    n_proj = sum(1 for it in items if it.kind == "project")
    print(f"{n_single} single-file items, {n_proj} projects, labels from {label_dir}")
    for mode in MODES:
        if mode not in modes or not runs[mode]:
            continue
        by_file, by_line = score_items(runs[mode], codes)
        result["runs"][mode] = {"file": summary(by_file), "line": summary(by_line)}
        for level, outcome in (("file", by_file), ("line", by_line)):
            markdown.append(f"\n[{mode}] level={level} ({len(runs[mode])} items)\n")
            markdown.append(markdown_table(outcome))
        for level, outcome in (("file", by_file), ("line", by_line)):
            if args.level not in (level, "both"):
                continue
            print()
            print(table(f"[{mode}] level={level} ({len(runs[mode])} items)", outcome))
            if args.details:
                print(details(outcome, {}))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    if args.markdown:
        args.markdown.write_text("\n".join(markdown) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
