"""Closed-form updates of PyTorch's optimizers for one value with a zero data gradient.

Each function follows the algorithm box of the optimizer's page in the PyTorch documentation
(torch.optim.SGD, Adam, AdamW, NAdam, RAdam, Adagrad, RMSprop, Adamax), written out for a scalar
in Python floats (float64), with the data gradient ∇f = 0, so that the only force is weight decay.
Decay is applied either *coupled* (g ← g + λθ, an L2 term in the gradient, which the adaptive
denominator then rescales) or *decoupled* (θ ← θ − γλθ before the update, as in AdamW). The audit
compares the optimizer's measured trajectory with both and so tells which one it applies; the
closed forms never call the optimizer they describe.

`maximize` only flips the sign of ∇f, which is zero here, so it is not modelled.
"""

from __future__ import annotations

import math
from typing import Any, Callable

COUPLED, DECOUPLED = "coupled", "decoupled"


def _f(value: Any) -> float:
    return float(value)


def _betas(h: dict[str, Any]) -> tuple[float, float]:
    b1, b2 = h.get("betas", (0.9, 0.999))
    return _f(b1), _f(b2)


def _decay(theta: float, g: float, lr: float, wd: float, mode: str) -> tuple[float, float]:
    """Apply weight decay λ = wd: returns (θ, g) after the coupled or decoupled step."""
    if wd == 0.0:
        return theta, g
    if mode == COUPLED:
        return theta, g + wd * theta
    return theta - lr * wd * theta, g


def sgd(theta: float, steps: int, h: dict[str, Any], mode: str) -> list[float]:
    lr, wd = _f(h["lr"]), _f(h.get("weight_decay", 0))
    mu, tau, nesterov = _f(h.get("momentum", 0)), _f(h.get("dampening", 0)), bool(h.get("nesterov", False))
    out, b = [theta], 0.0
    for t in range(1, steps + 1):
        theta, g = _decay(theta, 0.0, lr, wd, mode)
        if mu != 0.0:
            b = g if t == 1 else mu * b + (1 - tau) * g
            g = g + mu * b if nesterov else b
        theta = theta - lr * g
        out.append(theta)
    return out


def adam(theta: float, steps: int, h: dict[str, Any], mode: str) -> list[float]:
    lr, wd, eps = _f(h["lr"]), _f(h.get("weight_decay", 0)), _f(h.get("eps", 1e-8))
    b1, b2 = _betas(h)
    amsgrad = bool(h.get("amsgrad", False))
    out, m, v, vmax = [theta], 0.0, 0.0, 0.0
    for t in range(1, steps + 1):
        theta, g = _decay(theta, 0.0, lr, wd, mode)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        if amsgrad:
            vmax = max(vmax, v)
            v_hat = vmax / (1 - b2**t)
        else:
            v_hat = v / (1 - b2**t)
        theta = theta - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def nadam(theta: float, steps: int, h: dict[str, Any], mode: str) -> list[float]:
    lr, wd, eps = _f(h["lr"]), _f(h.get("weight_decay", 0)), _f(h.get("eps", 1e-8))
    psi = _f(h.get("momentum_decay", 4e-3))
    b1, b2 = _betas(h)

    def mu(t: int) -> float:
        return b1 * (1 - 0.5 * 0.96 ** (t * psi))

    out, m, v, prod = [theta], 0.0, 0.0, 1.0
    for t in range(1, steps + 1):
        theta, g = _decay(theta, 0.0, lr, wd, mode)
        mu_t, mu_next = mu(t), mu(t + 1)
        prod *= mu_t  # Π_{i≤t} μ_i
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = mu_next * m / (1 - prod * mu_next) + (1 - mu_t) * g / (1 - prod)
        v_hat = v / (1 - b2**t)
        theta = theta - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def radam(theta: float, steps: int, h: dict[str, Any], mode: str) -> list[float]:
    lr, wd, eps = _f(h["lr"]), _f(h.get("weight_decay", 0)), _f(h.get("eps", 1e-8))
    b1, b2 = _betas(h)
    rho_inf = 2 / (1 - b2) - 1
    out, m, v = [theta], 0.0, 0.0
    for t in range(1, steps + 1):
        theta, g = _decay(theta, 0.0, lr, wd, mode)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            l_t = math.sqrt(1 - b2**t) / (math.sqrt(v) + eps)
            r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            theta = theta - lr * m_hat * r_t * l_t
        else:
            theta = theta - lr * m_hat
        out.append(theta)
    return out


def adagrad(theta: float, steps: int, h: dict[str, Any], mode: str) -> list[float]:
    lr, wd, eps = _f(h["lr"]), _f(h.get("weight_decay", 0)), _f(h.get("eps", 1e-10))
    eta, state = _f(h.get("lr_decay", 0)), _f(h.get("initial_accumulator_value", 0))
    out = [theta]
    for t in range(1, steps + 1):
        lr_t = lr / (1 + (t - 1) * eta)
        theta, g = _decay(theta, 0.0, lr_t, wd, mode)
        state = state + g * g
        theta = theta - lr_t * g / (math.sqrt(state) + eps)
        out.append(theta)
    return out


def rmsprop(theta: float, steps: int, h: dict[str, Any], mode: str) -> list[float]:
    lr, wd, eps = _f(h["lr"]), _f(h.get("weight_decay", 0)), _f(h.get("eps", 1e-8))
    alpha, mu, centered = _f(h.get("alpha", 0.99)), _f(h.get("momentum", 0)), bool(h.get("centered", False))
    out, v, b, g_ave = [theta], 0.0, 0.0, 0.0
    for _ in range(1, steps + 1):
        theta, g = _decay(theta, 0.0, lr, wd, mode)
        v = alpha * v + (1 - alpha) * g * g
        v_tilde = v
        if centered:
            g_ave = g_ave * alpha + (1 - alpha) * g
            v_tilde = v_tilde - g_ave * g_ave
        if mu > 0:
            b = mu * b + g / (math.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (math.sqrt(v_tilde) + eps)
        out.append(theta)
    return out


def adamax(theta: float, steps: int, h: dict[str, Any], mode: str) -> list[float]:
    lr, wd, eps = _f(h["lr"]), _f(h.get("weight_decay", 0)), _f(h.get("eps", 1e-8))
    b1, b2 = _betas(h)
    out, m, u = [theta], 0.0, 0.0
    for t in range(1, steps + 1):
        theta, g = _decay(theta, 0.0, lr, wd, mode)
        m = b1 * m + (1 - b1) * g
        u = max(b2 * u, abs(g) + eps)
        theta = theta - lr * m / ((1 - b1**t) * u)
        out.append(theta)
    return out


ALGORITHMS: dict[str, Callable[[float, int, dict[str, Any], str], list[float]]] = {
    "SGD": sgd,
    "Adam": adam,
    "AdamW": adam,
    "NAdam": nadam,
    "RAdam": radam,
    "Adagrad": adagrad,
    "RMSprop": rmsprop,
    "Adamax": adamax,
}
ADAPTIVE = frozenset({"Adam", "AdamW", "NAdam", "RAdam", "Adagrad", "RMSprop", "Adamax"})


def declared_mode(name: str, hyper: dict[str, Any]) -> str:
    """How the optimizer says it applies weight decay (AdamW and `decoupled_weight_decay=True`)."""
    if name == "AdamW" or hyper.get("decoupled_weight_decay"):
        return DECOUPLED
    return COUPLED


def trajectory(name: str, theta: float, steps: int, hyper: dict[str, Any], mode: str) -> list[float]:
    return ALGORITHMS[name](theta, steps, hyper, mode)
