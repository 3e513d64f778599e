"""Fitting a parameter's penalty gradient to the analytic forms of a regularizer.

At the test point w (and at 2·w) the gradient g of the penalty with respect to one parameter
tensor is compared with:

    L2              g = a·w            (λ/2·Σw² gives a = λ: the same pull as weight_decay λ)
    L1              g = b·sign(w)      (λ·Σ|w| gives b = λ)
    elastic net     g = a·w + b·sign(w)
    unsquared norm  g = c·w/‖w‖        (λ·‖w‖ gives c = λ: a pull of constant size)
    none            g = 0
    unknown         anything else (the best fit and its residual are kept)

Within one tensor, L2 and the unsquared norm have the same shape (both ∝ w); they differ in how g
scales when w doubles: a·w doubles, c·w/‖w‖ does not. Hence the two points. All sums are taken in
float64; the relative residual ‖g − fit‖/‖g‖ says how well a form fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from reglint.audit.sums import GradSums, tensor_sums

NONE, L2, L1, ELASTIC, NORM, UNKNOWN = "none", "l2", "l1", "elastic", "norm", "unknown"
FIT_TOL = 1e-4  # relative residual below which a form fits
SCALE_TOL = 1e-3  # relative agreement of coefficients between w and 2·w
POINT_SCALE = 2.0


@dataclass(frozen=True)
class PointFit:
    """Least-squares fits of one gradient tensor at one point."""

    gnorm: float
    wnorm: float
    numel: int
    finite: bool
    a_l2: float = 0.0
    r_l2: float = math.inf
    b_l1: float = 0.0
    r_l1: float = math.inf
    a_el: float = 0.0
    b_el: float = 0.0
    r_el: float = math.inf

    @property
    def zero(self) -> bool:
        return self.finite and self.gnorm == 0.0

    def shape(self) -> Optional[str]:
        """The simplest form that fits at this point (L2 stands for 'proportional to w')."""
        if self.zero:
            return NONE
        if not self.finite:
            return None
        if self.r_l2 <= FIT_TOL:
            return L2
        if self.r_l1 <= FIT_TOL:
            return L1
        if self.r_el <= FIT_TOL:
            return ELASTIC
        return None


@dataclass(frozen=True)
class Form:
    """The measured form of one parameter's penalty gradient."""

    kind: str
    a: float = 0.0  # coefficient of w (L2, elastic)
    b: float = 0.0  # coefficient of sign(w) (L1, elastic)
    c: float = 0.0  # coefficient of w/‖w‖ (unsquared norm)
    residual: float = 0.0
    degree: Optional[float] = None  # for unknown forms ∝ w: g(2w) = 2^degree·g(w)

    @property
    def penalized(self) -> bool:
        return self.kind != NONE

    @property
    def l2_like(self) -> bool:
        """An L2-type pull toward 0 (what weight decay also does)."""
        return (self.kind in (L2, NORM) or (self.kind == ELASTIC and self.a > 0)) and self.strength > 0

    @property
    def strength(self) -> float:
        return {L2: self.a, L1: self.b, NORM: self.c, ELASTIC: max(self.a, self.b)}.get(self.kind, 0.0)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"form": self.kind}
        if self.kind in (L2, ELASTIC):
            out["l2"] = self.a
        if self.kind in (L1, ELASTIC):
            out["l1"] = self.b
        if self.kind == NORM:
            out["norm"] = self.c
        if self.kind == UNKNOWN:
            out["residual"] = self.residual
            if self.degree is not None:
                out["degree"] = self.degree
        return out


def _residual(left: float, total: float) -> float:
    """‖g − fit‖/‖g‖ from ‖g‖² and the fitted part's share of it (a least-squares identity)."""
    return math.sqrt(max(left, 0.0) / total)


def fit_sums(s: GradSums) -> PointFit:
    """Fit the gradient whose float64 sums are `s` (see sums.py).

    The residuals come from the least-squares identity ‖g − Xβ‖² = ‖g‖² − β·Xᵀg, so they are
    resolved down to about 1e-8 relative (√ of float64's rounding), far below FIT_TOL.
    """
    n, wnorm = s.numel, s.wnorm
    if not s.finite:
        return PointFit(gnorm=math.inf, wnorm=wnorm, numel=n, finite=False)
    gnorm = s.gnorm
    if gnorm == 0.0 or n == 0:
        return PointFit(gnorm=gnorm, wnorm=wnorm, numel=n, finite=True)
    sgg, sgw, sgs, sww, sws, sss = s.sgg, s.sgw, s.sgs, s.sww, s.sws, float(s.nonzero)
    a = sgw / sww if sww > 0 else 0.0
    r_l2 = _residual(sgg - a * sgw, sgg) if sww > 0 else 1.0
    b = sgs / sss if sss > 0 else 0.0
    r_l1 = _residual(sgg - b * sgs, sgg) if sss > 0 else 1.0
    det = sww * sss - sws * sws
    if det > 1e-12 * sww * sss and n > 2:
        a_el = (sgw * sss - sgs * sws) / det
        b_el = (sgs * sww - sgw * sws) / det
        r_el = _residual(sgg - a_el * sgw - b_el * sgs, sgg)
    else:
        a_el, b_el, r_el = a, 0.0, r_l2
    return PointFit(gnorm, wnorm, n, True, a, r_l2, b, r_l1, a_el, b_el, r_el)


def fit_point(g: Optional[Any], w: Any) -> PointFit:
    """Fit gradient `g` (None: no gradient) of the tensor whose value is `w`."""
    return fit_sums(tensor_sums(g, w))


def _close(x: float, y: float, tol: float = SCALE_TOL) -> bool:
    return abs(x - y) <= tol * max(abs(x), abs(y), 1e-300)


def classify(at_w: PointFit, at_2w: Optional[PointFit], scale: float = POINT_SCALE) -> Form:
    """The form that fits at w and at scale·w (None when the second point could not be measured)."""
    if not at_w.finite:
        return Form(UNKNOWN, residual=math.inf)
    shape = at_w.shape()
    if shape == NONE:
        return Form(NONE)
    if shape is None:
        best = min(at_w.r_l2, at_w.r_l1, at_w.r_el)
        return Form(UNKNOWN, a=at_w.a_l2, b=at_w.b_l1, residual=best)
    if at_2w is not None and at_2w.shape() != shape:
        return Form(UNKNOWN, a=at_w.a_l2, b=at_w.b_l1, residual=at_w.r_el)
    if shape == L2:
        a1 = at_w.a_l2
        a2 = at_2w.a_l2 if at_2w is not None else a1
        if at_2w is None or _close(a1, a2):
            return Form(L2, a=a1, residual=at_w.r_l2)
        if _close(a2 * scale, a1):
            if at_w.numel == 1:
                return Form(L1, b=a1 * at_w.wnorm, residual=at_w.r_l2)
            return Form(NORM, c=a1 * at_w.wnorm, residual=at_w.r_l2)
        degree = 1.0 + math.log(abs(a2 / a1)) / math.log(scale) if a1 and a2 and a1 * a2 > 0 else None
        return Form(UNKNOWN, a=a1, residual=at_w.r_l2, degree=degree)
    if shape == L1:
        b1 = at_w.b_l1
        if at_2w is None or _close(b1, at_2w.b_l1):
            return Form(L1, b=b1, residual=at_w.r_l1)
        return Form(UNKNOWN, b=b1, residual=at_w.r_l1)
    a1, b1 = at_w.a_el, at_w.b_el
    if at_2w is None or (_close(a1, at_2w.a_el) and _close(b1, at_2w.b_el)):
        return Form(ELASTIC, a=a1, b=b1, residual=at_w.r_el)
    return Form(UNKNOWN, a=a1, b=b1, residual=at_w.r_el)
