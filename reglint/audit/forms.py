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

from reglint.audit.sums import Folded, fold

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


def fit_folded(f: Folded) -> PointFit:
    """Fit the folded gradient `f` (see sums.py): weighted least squares, residuals computed directly."""
    import torch

    n, wnorm = f.numel, f.wnorm
    if not f.finite:
        return PointFit(gnorm=math.inf, wnorm=wnorm, numel=n, finite=False)
    sgg = f.sgg
    if sgg == 0.0 or n == 0:
        return PointFit(gnorm=math.sqrt(sgg), wnorm=wnorm, numel=n, finite=True)
    w, g, c = f.w, f.g, f.weight
    s = torch.sign(w)

    def dot(x: Any, y: Any) -> float:
        return float((c * x * y).sum())

    def residual(fit: Any) -> float:
        return math.sqrt((dot(g - fit, g - fit) + f.spread) / sgg)

    sww, sss, sws = dot(w, w), dot(s, s), dot(w.abs(), torch.ones_like(w))
    sgw, sgs = dot(g, w), dot(g, s)
    a = sgw / sww if sww > 0 else 0.0
    b = sgs / sss if sss > 0 else 0.0
    r_l2, r_l1 = residual(a * w), residual(b * s)
    det = sww * sss - sws * sws
    if det > 1e-12 * sww * sss and n > 2:
        a_el = (sgw * sss - sgs * sws) / det
        b_el = (sgs * sww - sgw * sws) / det
        r_el = residual(a_el * w + b_el * s)
    else:
        a_el, b_el, r_el = a, 0.0, r_l2
    return PointFit(math.sqrt(sgg), wnorm, n, True, a, r_l2, b, r_l1, a_el, b_el, r_el)


@dataclass(frozen=True)
class Measured:
    """What the audit keeps of one gradient at one point: its fit and autograd's directional
    derivatives ⟨g, w⟩ and ⟨g, sign w⟩ (for the finite-difference check)."""

    fit: PointFit
    along_w: float
    along_sign: float


def measure(f: Folded) -> Measured:
    """Reduce a folded gradient to what the audit keeps (the folded arrays are then dropped)."""
    return Measured(fit_folded(f), f.sgw, f.sgs)


def fit_point(g: Optional[Any], w: Any) -> PointFit:
    """Fit gradient `g` (None: no gradient) of the tensor whose value is `w` (any values)."""
    return fit_folded(fold(g, w))


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


def carry_over(mini: Form, full: PointFit) -> Optional[Form]:
    """The miniature's form with the full tensor's coefficients, if the full gradient has its shape.

    `full` is the fit of the full-size gradient at the test point w. L2 and the unsquared norm
    both have the shape ∝ w there (the miniature's second point, 2·w, told them apart); L1 and
    elastic net have their own shapes. None: the full gradient does not have the miniature's
    shape, and the form must be measured at full size (at w and 2·w).
    """
    shape = full.shape()
    if mini.kind == NONE:
        return mini if shape == NONE else None
    if mini.kind in (L2, NORM) and shape == L2:
        if mini.kind == L2:
            return Form(L2, a=full.a_l2, residual=full.r_l2)
        return Form(NORM, c=full.a_l2 * full.wnorm, residual=full.r_l2)
    if mini.kind == L1 and shape == L1:
        return Form(L1, b=full.b_l1, residual=full.r_l1)
    if mini.kind == ELASTIC and shape == ELASTIC:
        return Form(ELASTIC, a=full.a_el, b=full.b_el, residual=full.r_el)
    if mini.kind == UNKNOWN and full.finite and shape is None:
        return Form(UNKNOWN, a=full.a_l2, b=full.b_l1, residual=min(full.r_l2, full.r_l1, full.r_el),
                    degree=mini.degree)
    return None
