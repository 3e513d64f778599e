"""`--expect l1=1e-5,l2=1e-4`: the penalty the user means to have, checked against the measurement.

`l2=λ` declares the gradient λ·w (the penalty λ/2·Σw², the same pull as weight_decay λ); `l1=λ`
declares λ·sign(w) (λ·Σ|w|); both together declare elastic net; `none` declares no penalty. The
same text may sit in the audited file as `REGLINT_EXPECT = "l2=1e-4"`; the option wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from reglint.audit.errors import AuditError
from reglint.audit.forms import ELASTIC, L1, L2, NONE

COEFFICIENT_TOL = 0.01  # relative: RL305 when a measured coefficient is further off than 1%


@dataclass(frozen=True)
class Expectation:
    l1: float = 0.0
    l2: float = 0.0
    text: str = ""

    @property
    def kind(self) -> str:
        if self.l1 and self.l2:
            return ELASTIC
        if self.l2:
            return L2
        if self.l1:
            return L1
        return NONE

    def formula(self) -> str:
        from reglint.audit.numbers import num

        parts = []
        if self.l2:
            parts.append(f"{num(self.l2)}·w")
        if self.l1:
            parts.append(f"{num(self.l1)}·sign(w)")
        return " + ".join(parts) if parts else "0"


def parse_expect(text: Optional[str]) -> Optional[Expectation]:
    if text is None or not text.strip():
        return None
    values = {"l1": 0.0, "l2": 0.0}
    items = [item.strip() for item in text.replace(";", ",").split(",") if item.strip()]
    if items == ["none"]:
        return Expectation(text=text.strip())
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in values:
            raise AuditError(f"--expect {text!r}: expected items like l2=1e-4 or l1=1e-5 (or 'none'), got {item!r}")
        try:
            number = float(value)
        except ValueError:
            raise AuditError(f"--expect {text!r}: {value.strip()!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise AuditError(f"--expect {text!r}: coefficients must be finite and ≥ 0")
        values[key] = number
    return Expectation(l1=values["l1"], l2=values["l2"], text=text.strip())
