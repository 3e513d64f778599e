"""One rank of `torchrun ... -m reglint audit FILE`: build, measure, report (rank 0), exit.

Every rank starts the process group (gloo for CPU, NCCL for CUDA with gloo beside it for CPU
tensors), with `--timeout` as the timeout of every collective, before it imports the file. Rank 0
also starts the one-process measurement (reference.py) at once. Each rank then builds the set-up
(build.py) and measures it (side.py); the ranks tell each other through the store (exchange.py)
whether they got through the set-up and the penalty's value, so that a step that needs every rank
(the gradient reduction) runs only when every rank is ready for it. Each rank posts its result;
rank 0 gathers them, asks the one-process measurement for the same pieces, prints the report
(only rank 0 prints: the other ranks' stdout and stderr are kept in memory), posts `done`, and
every rank leaves with `os._exit` (interpreter shutdown with live gloo threads can abort).

Exit codes: rank 0 exits with the audit's code (0, 1 or 2) and the other ranks with 0, so torchrun
exits with rank 0's code when it is 0 and with 1 otherwise (torchrun turns any failed worker into
its own exit code 1). `reglint audit --nproc N` (launch.py) reads rank 0's code from a file
instead and exits with it exactly.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Callable, NoReturn, Optional

from reglint.audit.distributed.build import AuditRequest, build
from reglint.audit.distributed.exchange import NO_LIMIT, Exchange
from reglint.audit.distributed.side import SETUP, SideResult, StageError, measure_side, stage_error
from reglint.audit.errors import AuditError

REQUIRED = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
EXIT_FILE = "REGLINT_AUDIT_EXIT_FILE"  # set by `--nproc`: rank 0 writes its exit code there


def margin(timeout: float) -> float:
    """Seconds a store wait adds to --timeout: a rank may first sit out a collective that times out."""
    return min(30.0, max(5.0, timeout / 2))


def launched_as_rank(environ: Optional[Mapping[str, str]] = None) -> bool:
    """True in a process that torchrun (or a launcher that sets the same variables) started as a rank."""
    env = os.environ if environ is None else environ
    return all(env.get(k) for k in REQUIRED)


def _backend(device: str, local_rank: int) -> tuple[str, str]:
    """(backend, the rank's device) for `--device` (already resolved to cpu or cuda)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(local_rank)
        return "cpu:gloo,cuda:nccl", f"cuda:{local_rank}"
    return "gloo", "cpu"


def _quiet() -> io.StringIO:
    """Keep this rank's prints and warnings (only rank 0 prints)."""
    buffer = io.StringIO()
    sys.stdout = sys.stderr = buffer
    return buffer


def _all_ok(votes: dict[int, Any], world: int) -> bool:
    return len(votes) == world and all(votes.values())


Emit = Callable[[Any], int]  # prints the report, returns the exit code
Fail = Callable[[str, Optional[str]], None]  # prints an exit-2 error


def run_rank(request: AuditRequest, *, device: str, emit: Emit, fail: Fail) -> NoReturn:
    import torch.distributed as dist

    from reglint.audit.distributed.reference import OneProcess

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    timeout = request.timeout or NO_LIMIT
    if rank != 0:
        _quiet()
    backend, rank_device = _backend(device, int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    extra = margin(timeout)
    exchange = Exchange(rank, world, timeout + extra)
    one = OneProcess(request, device.split(":")[0]) if rank == 0 else None
    result: Optional[SideResult] = None
    try:
        built = build(request, device=rank_device, distributed=True)
    except Exception as exc:  # AuditError, or a bug of ours: reported by rank 0, never a hang
        result = SideResult(rank, errors=[stage_error(SETUP, exc)])
    if not _all_ok(exchange.agree(SETUP, result is None), world) and result is None:
        result = SideResult(rank, errors=[StageError(SETUP, "stopped: another rank could not build the set-up",
                                                     consequence=True)])
    if result is None:
        try:
            result, _ = measure_side(built, rank=rank, timeout=request.timeout,
                                     agree=lambda stage, ok: _all_ok(exchange.agree(stage, ok), world))
        except Exception as exc:  # pragma: no cover - measure_side keeps the user's errors itself
            result = SideResult(rank, errors=[StageError(SETUP, f"internal error: {type(exc).__name__}: {exc}",
                                                         traceback.format_exc())])
    exchange.post("result", result.to_json())
    if rank != 0:
        exchange.wait_for("done", 3 * timeout + 4 * extra)
        _leave(0)
    assert one is not None
    code = _report(exchange, one, world, backend.split(",")[-1].split(":")[-1], request, timeout, extra, emit, fail)
    exchange.post("done", code)
    exit_file = os.environ.get(EXIT_FILE)
    if exit_file:
        with open(exit_file, "w", encoding="utf-8") as handle:
            handle.write(f"{code}\n")
        _leave(0)
    _leave(code)


def _report(exchange: Exchange, one: Any, world: int, backend: str, request: AuditRequest, timeout: float,
            extra: float, emit: Emit, fail: Fail) -> int:
    from reglint.audit.distributed.report import (
        Launch,
        build_report,
        check_complete,
        pieces_request,
    )

    try:
        ranks = {r: SideResult.from_json(d) for r, d in exchange.gather("result", timeout + 2 * extra).items()}
        reference = one.result(3 * timeout + 2 * extra)
        launch = Launch(world, backend, request.target)
        check_complete(ranks, world, reference, timeout, request.target)
        answers = one.ask(pieces_request(ranks, reference.params), timeout + extra)
        return emit(build_report(reference, ranks, answers, launch, timeout))
    except AuditError as exc:
        fail(exc.message, exc.details)
        return 2
    except Exception as exc:  # a bug in reglint: exit 2, never 1
        fail(f"internal error while auditing {request.target} under torchrun: {type(exc).__name__}: {exc} (please "
             "report this with the file that caused it)", traceback.format_exc().rstrip())
        return 2
    finally:
        one.close()


def _leave(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a closed stream
            pass
    os._exit(code)
