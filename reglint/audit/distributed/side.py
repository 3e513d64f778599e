"""One side of the comparison: the set-up measured on one rank, or in one process.

`measure_side` runs the optimizer's decay and then the penalty's training step (measure.py) on a
built set-up and returns a `SideResult`: plain data that travels as JSON (between ranks through the
store, from the one-process measurement through a pipe). A failure of the user's code in one of
the two is kept with its traceback and does not stop the other; a failure to build the set-up is
the `setup` error.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from reglint.audit.distributed.build import Built
from reglint.audit.distributed.measure import (
    DecayPiece,
    DecayRun,
    DecayStat,
    GradPiece,
    HolderInfo,
    OptimizerInfo,
    OtherRankFailed,
    PenaltyRun,
    decay_pieces,
    grad_pieces,
    holder_infos,
    run_decay,
    run_penalty,
)
from reglint.audit.distributed.names import Holder, holders
from reglint.audit.errors import AuditError, AuditTimeout, user_traceback

SETUP, OPTIMIZER, PENALTY = "setup", "optimizer", "penalty"
# how a collective that another rank never joined ends: gloo's and NCCL's watchdog's messages
_TIMEOUT = re.compile(r"timed out|Timeout|DistBackendError|NCCL communicator was aborted", re.IGNORECASE)


@dataclass
class StageError:
    stage: str  # SETUP, OPTIMIZER or PENALTY
    message: str
    details: Optional[str] = None  # the user's traceback
    consequence: bool = False  # a collective that timed out, or another rank's failure stopped this one


def stage_error(stage: str, exc: BaseException) -> StageError:
    if isinstance(exc, AuditError):  # the user's code raised (or a timeout of a collective inside it)
        return StageError(stage, exc.message, exc.details, consequence=bool(_TIMEOUT.search(exc.message)))
    if isinstance(exc, OtherRankFailed):
        return StageError(stage, "stopped: another rank failed before the gradient reduction", consequence=True)
    if isinstance(exc, AuditTimeout):
        return StageError(stage, str(exc))
    text = f"{type(exc).__name__}: {exc}"
    return StageError(stage, text, user_traceback(exc), consequence=bool(_TIMEOUT.search(text)))


@dataclass
class ParamMeta:
    """A parameter of the model as written (one process): what the table shows about it."""

    name: str
    aliases: list[str]
    shape: list[int]
    kind: str
    frozen: bool
    dtype: str
    numel: int


@dataclass
class SideResult:
    rank: Optional[int]  # None: one process
    wrapping: str = ""
    model_label: str = ""
    penalty_label: Optional[str] = None
    optimizer_label: Optional[str] = None
    holders: list[HolderInfo] = field(default_factory=list)
    optimizer: Optional[OptimizerInfo] = None
    decay: Optional[list[DecayPiece]] = None
    penalty_value: Optional[float] = None
    penalty_value_kind: Optional[str] = None
    grads: Optional[list[GradPiece]] = None
    params: list[ParamMeta] = field(default_factory=list)
    errors: list[StageError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def error(self, stage: str) -> Optional[StageError]:
        return next((e for e in self.errors if e.stage == stage), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SideResult:
        d = dict(data)
        d["holders"] = [HolderInfo(**h) for h in d.get("holders", [])]
        d["optimizer"] = OptimizerInfo(**d["optimizer"]) if d.get("optimizer") else None
        if d.get("decay") is not None:
            d["decay"] = [DecayPiece(p["fqn"], p["start"], p["length"], p["group"],
                                     {k: DecayStat(**s) for k, s in p["shrink"].items()}) for p in d["decay"]]
        if d.get("grads") is not None:
            d["grads"] = [GradPiece(**p) for p in d["grads"]]
        d["params"] = [ParamMeta(**p) for p in d.get("params", [])]
        d["errors"] = [StageError(**e) for e in d.get("errors", [])]
        return cls(**d)


@dataclass
class Raw:
    """What one process keeps to answer for any piece later: the holders and the raw runs."""

    holders: list[Holder]
    decay: Optional[DecayRun] = None
    decayed: dict[int, Any] = field(default_factory=dict)  # holder index → its values after the decay steps
    penalty: Optional[PenaltyRun] = None


Agree = Callable[[str, bool], bool]


def _param_metas(model: Any) -> list[ParamMeta]:
    from reglint.audit.params import describe_parameters

    return [ParamMeta(i.name, list(i.aliases), list(i.shape), i.kind, i.frozen, i.dtype, i.numel)
            for i in describe_parameters(model)]


def measure_side(built: Built, *, rank: Optional[int], timeout: Optional[float], agree: Agree,
                 keep: bool = False) -> tuple[SideResult, Raw]:
    """Decay, then the penalty's training step, on `built` (whose parameters it overwrites).

    `keep`: also keep the raw values and gradients in `Raw`, to answer for any piece later (the
    one-process side does; a rank keeps only its summaries).
    """
    found, notes = holders(built.model)
    result = SideResult(rank, built.wrapping, built.model_label, built.penalty_label if built.penalty else None,
                        built.optimizer.label if built.optimizer else None, holder_infos(found),
                        notes=[*built.notes, *notes])
    if rank is None:
        result.params = _param_metas(built.inner)
    raw = Raw(found)
    if built.optimizer is not None:
        try:
            raw.decay = run_decay(built.build_optimizer(timeout), found, timeout)
            result.optimizer = raw.decay.info
            result.decay = decay_pieces(raw.decay, found)
            if keep:  # to answer for other pieces later; the penalty's step overwrites the values
                raw.decayed = {k: found[k].local_values().clone() for k in raw.decay.group_of}
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the user's code: reported with its traceback
            result.errors.append(stage_error(OPTIMIZER, exc))
    if built.penalty is not None:
        raw.penalty = PenaltyRun()
        try:
            run_penalty(built.model, built.penalty_target, built.penalty, built.penalty_label, found, timeout,
                        lambda stage, error: agree(stage, error is None), raw.penalty)
            result.grads = grad_pieces(raw.penalty, found)
            if not keep:
                raw.penalty.grads = None
                for h in found:
                    h.tensor.grad = None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            result.errors.append(stage_error(PENALTY, exc))
        result.penalty_value, result.penalty_value_kind = raw.penalty.value, raw.penalty.value_kind
    return result, raw
