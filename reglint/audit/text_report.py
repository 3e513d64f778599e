"""The text report of an audit, laid out to fit the terminal.

Layout: the set-up (model, penalty, optimizer, declared expectation), the table of alike
parameters, one line per group of findings that measured the same (its code, the group's honest
label and count, then what was measured), each piece of advice once, the notes, and the summary.

Width: `COLUMNS` when set, else the terminal's width when writing to one, else 100. Table cells
and long lines wrap to that width (labels at their ", " and "." boundaries), so nothing relies on
the terminal wrapping for us.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional, TextIO

from reglint.audit.grouping import Group, group
from reglint.audit.table import Row, row_label, shared_prefix
from reglint.audit.verdicts import Verdict
from reglint.model import Severity

DEFAULT_WIDTH = 100
MIN_WIDTH = 60
HEADERS = ("parameter", "shape", "kind", "penalty gradient", "optimizer decay", "verdict")
FLEXIBLE = (0, 3, 4)  # columns that wrap when the table is too wide: label, penalty, optimizer
MIN_FLEX = 14
READING = ("gradient a·w is L2 with coefficient a (λ/2·Σw² gives a = λ, like weight_decay λ); shrink = relative "
           "decrease of |w| per optimizer step with a zero data gradient")


@dataclass
class Header:
    target: str
    model: str
    penalty: Optional[str]
    optimizer: Optional[str]
    expect: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)  # more header lines: (field, text)
    reading: str = READING
    audited: str = "1 model audited"


def terminal_width(out: Optional[TextIO] = None) -> int:
    """COLUMNS if set, else the terminal's width if `out` is one, else DEFAULT_WIDTH."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(MIN_WIDTH, int(env))
    isatty = getattr(out, "isatty", None)
    if out is not None and callable(isatty) and isatty():
        return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return DEFAULT_WIDTH


def wrap(text: str, width: int) -> list[str]:
    """Prose wrapped at spaces (a word longer than the width is split)."""
    return textwrap.wrap(text, max(width, 1), break_on_hyphens=False) or [""]


def _split_outside_braces(text: str, after: str) -> list[str]:
    """`text` cut after each character in `after` that is not inside braces (pieces keep it)."""
    pieces, depth, current = [], 0, ""
    for ch in text:
        current += ch
        depth += (ch == "{") - (ch == "}")
        if depth == 0 and ch in after:
            pieces.append(current)
            current = ""
    return pieces + [current] if current else pieces


def _pack(pieces: list[str], width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and len(line) + len(piece.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        while len(piece.rstrip()) > width:
            lines.append(piece[:width])
            piece = piece[width:]
        line += piece
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def wrap_label(text: str, width: int) -> list[str]:
    """A name label wrapped between its patterns (after ", "), and inside a pattern only after a
    "." when the pattern alone is wider than `width` (never inside braces)."""
    width = max(width, 1)
    pieces: list[str] = []
    for pattern in _split_outside_braces(text, " "):
        pieces.extend(_split_outside_braces(pattern, ".") if len(pattern.rstrip()) > width else [pattern])
    return _pack(pieces, width)


def _field(out: TextIO, name: str, value: str, width: int) -> None:
    indent = "  " + name.ljust(11)
    lines = wrap(value, width - len(indent))
    out.write(indent + lines[0] + "\n")
    for line in lines[1:]:
        out.write(" " * len(indent) + line + "\n")


def _column_widths(cells: Sequence[Sequence[str]], width: int, flexible: Sequence[int]) -> list[int]:
    widths = [max(len(c[k]) for c in cells) for k in range(len(cells[0]))]
    budget = width - 2 - 2 * (len(widths) - 1)
    while sum(widths) > budget:
        k = max(flexible, key=lambda j: widths[j])
        if widths[k] <= MIN_FLEX:
            break
        widths[k] -= 1
    return widths


def render_table(rows: Sequence[Row], out: TextIO, width: int, names: Sequence[str], prefix: str = "") -> None:
    """The table; a penalty or optimizer column that is the same on every row is said once above it.

    Labels are cut by `prefix` (the module path every name shares); "—" columns (nothing
    measured: no penalty, or no optimizer) are left out.
    """
    cells = [
        (row_label(r, names, prefix) + (f" ({len(r.members)})" if len(r.members) > 1 else ""), r.shape, r.kind,
         r.penalty, r.optimizer, " ".join(r.verdict) or "ok")
        for r in rows
    ]
    absent = [k for k in (3, 4) if all(c[k] == "—" for c in cells)]
    shared = [k for k in (3, 4) if k not in absent and len(rows) > 1 and len({c[k] for c in cells}) == 1]
    if shared:
        _field(out, "every row", "; ".join(f"{HEADERS[k]} {cells[0][k]}" for k in shared), width)
        out.write("\n")
    keep = [k for k in range(len(HEADERS)) if k not in shared and k not in absent]
    table = [tuple(HEADERS[k] for k in keep)] + [tuple(c[k] for k in keep) for c in cells]
    widths = _column_widths(table, width, [keep.index(k) for k in FLEXIBLE if k in keep])
    for n, row in enumerate(table):
        wrapped = [wrap_label(text, w) if k == 0 else wrap(text, w) for k, (text, w) in enumerate(zip(row, widths))]
        for line in range(max(len(c) for c in wrapped)):
            parts = [(c[line] if line < len(c) else "").ljust(w) for c, w in zip(wrapped, widths)]
            out.write(("  " + "  ".join(parts)).rstrip() + "\n")
        if n == 0:
            out.write("  " + "  ".join("-" * w for w in widths) + "\n")


def finding_groups(verdicts: Sequence[Verdict], names: Sequence[str], prefix: str = "") -> list[Group[Verdict]]:
    """Findings that measured the same (code and message), each group labelled honestly.

    Labels are cut by `prefix` when one is given (the text report's shared module path).
    """
    cut = len(prefix)
    return group(verdicts, key=lambda v: (v.finding.code, v.finding.message),
                 name=lambda v: v.finding.param[cut:] if v.finding.param is not None else None,
                 universe=[n[cut:] for n in names])


def _finding_lines(g: Group[Verdict], width: int) -> list[str]:
    first = g.items[0].finding
    head = f"  {first.code} [{first.severity}] "
    who = g.label or "the penalty as a whole"
    if g.count > 1 and g.label:
        who += f" ({g.count})"
    lines = wrap_label(who, width - len(head))
    out = [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]
    out += ["      " + line for line in wrap(g.items[0].summary, width - 6)]
    return out


def render_findings(verdicts: Sequence[Verdict], names: Sequence[str], out: TextIO, width: int,
                    prefix: str = "") -> None:
    groups = finding_groups(verdicts, names, prefix)
    if not groups:
        return
    total = sum(g.count for g in groups)
    for line in wrap(f"findings: {total} in {len(groups)} group{'s' if len(groups) != 1 else ''} of parameters "
                     "that measured the same", width):
        out.write(line + "\n")
    for g in groups:
        for line in _finding_lines(g, width):
            out.write(line + "\n")
    advice = list(dict.fromkeys((v.finding.code, v.advice) for v in verdicts if v.advice))
    if advice:
        out.write("what to do:\n")
        for code, text in advice:
            lines = wrap(text, width - 9)
            out.write(f"  {code}  {lines[0]}\n")
            for line in lines[1:]:
                out.write(" " * 9 + line + "\n")


def render_text(header: Header, rows: Sequence[Row], verdicts: Sequence[Verdict], names: Sequence[str],
                out: TextIO, width: Optional[int] = None) -> None:
    width = width or terminal_width(out)
    for line in wrap(f"reglint audit {header.target}", width):
        out.write(line + "\n")
    _field(out, "model", header.model, width)
    _field(out, "penalty", header.penalty or "none found (define penalty(model) or use --penalty)", width)
    _field(out, "optimizer", header.optimizer or "none found (define optimizer / build_optimizer(model) or use --optimizer)",
           width)
    if header.expect:
        _field(out, "expect", header.expect, width)
    for name, text in header.extra:
        _field(out, name, text, width)
    _field(out, "reading", header.reading, width)
    prefix = shared_prefix(names) if len(rows) > 1 else ""
    if prefix:
        _field(out, "names", f"every parameter's name starts with `{prefix}`, left out below", width)
    out.write("\n")
    render_table(rows, out, width, names, prefix)
    out.write("\n")
    render_findings(verdicts, names, out, width, prefix)
    if header.notes:
        out.write("notes:\n")
        for note in header.notes:
            lines = wrap(note, width - 4)
            out.write(f"  - {lines[0]}\n")
            for line in lines[1:]:
                out.write(f"    {line}\n")
    findings = [v.finding for v in verdicts]
    counts = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    if findings:
        parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in reversed(Severity) if counts[s]]
        out.write(f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} ({', '.join(parts)}) in "
                  f"{header.audited}.\n")
    else:
        out.write(f"All checks passed ({header.audited}).\n")
