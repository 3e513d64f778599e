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


def _dot(x: Any, y: Any) -> float:
    return float((x.double().reshape(-1) * y.double().reshape(-1)).sum())


def fit_point(g: Optional[Any], w: Any) -> PointFit:
    """Fit gradient `g` (None: no gradient) of the tensor whose value is `w`."""
    import torch

    w64 = w.detach().double().reshape(-1)
    n = w64.numel()
    wnorm = float(w64.norm())
    if g is None:
        return PointFit(gnorm=0.0, wnorm=wnorm, numel=n, finite=True)
    g64 = g.detach().double().reshape(-1)
    finite = bool(torch.isfinite(g64).all())
    gnorm = float(g64.norm()) if finite else math.inf
    if not finite or gnorm == 0.0 or n == 0:
        return PointFit(gnorm=gnorm, wnorm=wnorm, numel=n, finite=finite)
    s = torch.sign(w64)
    sww, sws, sss = wnorm**2, float(w64.abs().sum()), float((s * s).sum())
    sgw, sgs = _dot(g64, w64), _dot(g64, s)
    a = sgw / sww if sww > 0 else 0.0
    r_l2 = float((g64 - a * w64).norm()) / gnorm
    b = sgs / sss if sss > 0 else 0.0
    r_l1 = float((g64 - b * s).norm()) / gnorm
    det = sww * sss - sws * sws
    if det > 1e-12 * sww * sss and n > 2:
        a_el = (sgw * sss - sgs * sws) / det
        b_el = (sgs * sww - sgw * sws) / det
        r_el = float((g64 - a_el * w64 - b_el * s).norm()) / gnorm
    else:
        a_el, b_el, r_el = a, 0.0, r_l2
    return PointFit(gnorm, wnorm, n, True, a, r_l2, b, r_l1, a_el, b_el, r_el)


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


@dataclass(frozen=True)
class FullStats:
    """Sums over a full-size gradient tensor at the tiled test point (for the miniature check)."""

    sgw: float
    sgg: float
    sgs: float
    sww: float
    sws: float
    numel: int
    finite: bool


def full_stats(g: Optional[Any], w: Any, sign_block: Any) -> FullStats:
    """Float64 sums of g·w, g², g·sign(w), w², |w| without temporaries of the tensor's size."""
    import torch

    wf = w.detach().reshape(-1)
    n = wf.numel()
    sww = float(torch.dot(wf, wf).double()) if n else 0.0
    b = sign_block.numel()
    rows, rest = divmod(n, b)
    sblock = sign_block.to(dtype=wf.dtype)
    sws = 0.0
    if rows:
        sws += float((wf[: rows * b].view(rows, b) @ sblock).double().sum())
    if rest:
        sws += float(torch.dot(wf[rows * b :], sblock[:rest]).double())
    if g is None:
        return FullStats(0.0, 0.0, 0.0, sww, sws, n, True)
    gf = g.detach().reshape(-1)
    finite = bool(torch.isfinite(gf).all())
    if not finite:
        return FullStats(math.nan, math.inf, math.nan, sww, sws, n, False)
    sgw = float(torch.dot(gf, wf).double())
    sgg = float(torch.dot(gf, gf).double())
    sgs = 0.0
    if rows:
        sgs += float((gf[: rows * b].view(rows, b) @ sblock).double().sum())
    if rest:
        sgs += float(torch.dot(gf[rows * b :], sblock[:rest]).double())
    return FullStats(sgw, sgg, sgs, sww, sws, n, True)


CONSISTENCY_TOL = 1e-3


def rescale_to_full(form: Form, stats: FullStats) -> Optional[Form]:
    """The miniature's form with coefficients refitted on the full tensor, or None if it does not fit.

    The fit is consistent when the form, with the refitted coefficients, accounts for ‖g‖² of the
    full tensor to CONSISTENCY_TOL (so the residual is below about 3%: float32 sums are used).
    """
    if not stats.finite:
        return None
    if form.kind == NONE:
        return form if stats.sgg == 0.0 else None
    if stats.sgg == 0.0:
        return None
    n, sww, sws = stats.numel, stats.sww, stats.sws
    if form.kind == L2:
        a = stats.sgw / sww
        predicted, new = a * a * sww, Form(L2, a=a, residual=form.residual)
    elif form.kind == NORM:
        c = stats.sgw / math.sqrt(sww)
        predicted, new = c * c, Form(NORM, c=c, residual=form.residual)
    elif form.kind == L1:
        b = stats.sgs / n
        predicted, new = b * b * n, Form(L1, b=b, residual=form.residual)
    elif form.kind == ELASTIC:
        det = sww * n - sws * sws
        if det <= 0:
            return None
        a = (stats.sgw * n - stats.sgs * sws) / det
        b = (stats.sgs * sww - stats.sgw * sws) / det
        predicted = a * a * sww + 2 * a * b * sws + b * b * n
        new = Form(ELASTIC, a=a, b=b, residual=form.residual)
    else:
        return None
    return new if abs(stats.sgg - predicted) <= CONSISTENCY_TOL * stats.sgg else None
