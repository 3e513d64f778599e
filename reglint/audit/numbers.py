"""How numbers and gradient formulas are written in messages and in the table.

Two significant digits, keeping trailing zeros so that magnitudes read at a glance: 0.0010, 0.020,
1.0, 12; outside 0.001..9999 in exponent form, 1.0e-04.
"""

from __future__ import annotations

import math

from reglint.audit.forms import ELASTIC, L1, L2, NONE, NORM, UNKNOWN, Form


def num(x: float) -> str:
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    ax = abs(x)
    if 1e-3 <= ax < 1e4:
        decimals = max(0, 1 - math.floor(math.log10(ax)))
        return f"{x:.{decimals}f}"
    return f"{x:.1e}"


def gradient_formula(form: Form) -> str:
    """`0.0010·w`, `1.0e-05·sign(w)`, `0.0010·w/‖w‖`, ... (the gradient, not the penalty)."""
    if form.kind == NONE:
        return "0"
    if form.kind == L2:
        return f"{num(form.a)}·w"
    if form.kind == L1:
        return f"{num(form.b)}·sign(w)"
    if form.kind == ELASTIC:
        return f"{num(form.a)}·w + {num(form.b)}·sign(w)"
    if form.kind == NORM:
        return f"{num(form.c)}·w/‖w‖"
    return "unknown"


FORM_NAMES = {NONE: "none", L2: "L2", L1: "L1", ELASTIC: "elastic net", NORM: "unsquared norm", UNKNOWN: "unknown"}


def form_cell(form: Form) -> str:
    """The table's penalty column."""
    if form.kind == NONE:
        return "none"
    if form.kind == UNKNOWN:
        extra = f", g(2w)=2^{form.degree:.2f}·g(w)" if form.degree is not None else ""
        return f"unknown (residual {form.residual:.2g}{extra})"
    return f"{gradient_formula(form)} ({FORM_NAMES[form.kind]})"

