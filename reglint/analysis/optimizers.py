"""What reglint knows about each torch.optim optimizer: its arguments and how it decays.

Signatures are those of torch 2.x (checked against torch 2.13). `coupling` says how
`weight_decay` acts: "coupled" adds λ·w to the gradient before the update rule (so adaptive
optimizers rescale it per weight), "decoupled" shrinks w by lr·λ outside the rule (AdamW),
"switchable" is coupled unless `decoupled_weight_decay=True`, None means no weight_decay argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    positional: tuple[str, ...]  # constructor arguments after `params`, in order
    keyword_only: tuple[str, ...]
    default_weight_decay: Optional[float]
    coupling: Optional[str]
    adaptive: bool

    @property
    def accepts(self) -> frozenset[str]:
        return frozenset(self.positional + self.keyword_only)

    @property
    def group_keys(self) -> frozenset[str]:
        # Keys a param group may carry: the per-group hyperparameters, plus what torch and
        # schedulers add themselves.
        return self.accepts | {"params", "param_names", "initial_lr", "name"}


_COMMON = ("foreach", "maximize", "capturable", "differentiable", "fused")

SPECS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec("SGD", ("lr", "momentum", "dampening", "weight_decay", "nesterov"), _COMMON, 0.0, "coupled", False),
        OptimizerSpec("Adam", ("lr", "betas", "eps", "weight_decay", "amsgrad"), _COMMON + ("decoupled_weight_decay",), 0.0, "switchable", True),
        OptimizerSpec("AdamW", ("lr", "betas", "eps", "weight_decay", "amsgrad"), _COMMON, 1e-2, "decoupled", True),
        OptimizerSpec("NAdam", ("lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"), _COMMON, 0.0, "switchable", True),
        OptimizerSpec("RAdam", ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay"), _COMMON, 0.0, "switchable", True),
        OptimizerSpec("Adamax", ("lr", "betas", "eps", "weight_decay", "foreach"), _COMMON, 0.0, "coupled", True),
        OptimizerSpec("Adagrad", ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "foreach"), _COMMON, 0.0, "coupled", True),
        OptimizerSpec("RMSprop", ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "capturable", "foreach", "maximize", "differentiable"), (), 0.0, "coupled", True),
        OptimizerSpec("Adadelta", ("lr", "rho", "eps", "weight_decay", "foreach"), _COMMON, 0.0, "coupled", True),
        OptimizerSpec("ASGD", ("lr", "lambd", "alpha", "t0", "weight_decay", "foreach", "maximize", "differentiable", "capturable"), (), 0.0, "coupled", False),
        OptimizerSpec("Adafactor", ("lr", "beta2_decay", "eps", "d", "weight_decay"), ("foreach", "maximize"), 0.0, "decoupled", True),
        OptimizerSpec("LBFGS", ("lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size", "line_search_fn"), (), None, None, False),
        OptimizerSpec("SparseAdam", ("lr", "betas", "eps", "maximize"), (), None, None, True),
        OptimizerSpec("Rprop", ("lr", "etas", "step_sizes"), ("capturable", "foreach", "maximize", "differentiable"), None, None, True),
    )
}

# Optimizers whose weight_decay RL201 calls coupled L2 on an adaptive rule (the design's list).
COUPLED_ADAPTIVE = frozenset({"Adam", "NAdam", "RAdam", "Adamax", "Adagrad", "RMSprop"})
# Adam family and other adaptive rules whose per-weight rescaling distorts an explicit L2 penalty.
ADAPTIVE = frozenset(name for name, spec in SPECS.items() if spec.adaptive)

QUALIFIED = frozenset(f"torch.optim.{name}" for name in SPECS) | frozenset(
    f"torch.optim.{name.lower()}.{name}" for name in SPECS
)


def spec_for(qualname: Optional[str]) -> Optional[OptimizerSpec]:
    """The spec of a torch.optim class given its qualified name (torch.optim.Adam, torch.optim.adam.Adam)."""
    if not qualname or not qualname.startswith("torch.optim."):
        return None
    parts = qualname.split(".")
    if len(parts) == 3 or (len(parts) == 4 and parts[2] == parts[3].lower()):
        return SPECS.get(parts[-1])
    return None


# Keys that a writer of a param group almost surely meant as `weight_decay`.
WEIGHT_DECAY_MISSPELLINGS = frozenset({"wd", "decay", "weightdecay", "weight-decay", "weight_decay_rate", "l2", "l2_reg"})


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def intended_key(key: str, spec: OptimizerSpec) -> Optional[str]:
    """The optimizer's key that an unknown param-group key most likely meant, if unambiguous."""
    if key in spec.group_keys:
        return None
    stripped = key.strip()
    if stripped != key and stripped in spec.group_keys:
        return stripped
    lowered = stripped.lower().replace(" ", "_")
    if lowered in WEIGHT_DECAY_MISSPELLINGS and "weight_decay" in spec.accepts:
        return "weight_decay"
    close = [k for k in spec.group_keys if len(k) > 3 and _distance(lowered, k) <= (2 if len(k) > 6 else 1)]
    return close[0] if len(close) == 1 else None

# Words that every optimizer construction's text contains (a class name that holds another is
# left out: `Adam` is in `AdamW`).
OPTIMIZER_WORDS: tuple[str, ...] = tuple(
    sorted(name for name in SPECS if not any(other != name and other in name for other in SPECS))
)
