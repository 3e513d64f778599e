"""The same set-up measured in one process: a child of rank 0, with no process group.

Rank 0 starts it first thing (so it runs while the ranks measure), with the launcher's variables
(RANK, WORLD_SIZE, MASTER_ADDR, ...) taken out of its environment: the file is imported as in a
plain `python` run, `dist.is_initialized()` is False, `wrap(model)` is not called. It measures
exactly what the ranks measure (side.py) and writes one JSON line: its `SideResult`. It then waits
for one request, the pieces the ranks hold (which values of which parameter each holds depends on
the wrapper), and answers with its own numbers for exactly those pieces, so rank 0 compares like
with like. The protocol runs over the child's stdin and a copy of its original stdout; the user's
own prints go to its stderr, which rank 0 keeps to show if the child fails.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections import deque
from dataclasses import asdict
from typing import IO, Any, Optional

from reglint.audit.distributed.build import AuditRequest, build
from reglint.audit.distributed.measure import decay_stats, grad_fit, piece_key
from reglint.audit.distributed.side import (
    SETUP,
    Raw,
    SideResult,
    StageError,
    measure_side,
    stage_error,
)
from reglint.audit.errors import AuditError

LAUNCHER_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
                      "ROLE_RANK", "ROLE_NAME", "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
LAUNCHER_PREFIXES = ("TORCHELASTIC_", "REGLINT_AUDIT_")
STDERR_KEPT = 20_000  # characters of the child's stderr kept for an error report


def one_process_environment(environ: Optional[dict[str, str]] = None) -> dict[str, str]:
    """`environ` without the variables that tell a process it is a rank."""
    env = dict(os.environ if environ is None else environ)
    for key in list(env):
        if key in LAUNCHER_VARIABLES or key.startswith(LAUNCHER_PREFIXES):
            del env[key]
    return env


def answer(raw: Raw, request: dict[str, Any]) -> dict[str, Any]:
    """This process's numbers for the pieces in `request` (fqn, start, length)."""
    index = {h.pieces[0].fqn: k for k, h in enumerate(raw.holders) if h.pieces}
    decay: dict[str, Any] = {}
    grads: dict[str, Any] = {}
    for fqn, start, length in request.get("decay", []):
        k = index.get(fqn)
        if raw.decay is None or k is None:
            continue
        group = raw.decay.group_of.get(k)
        stats = {}
        if group is not None and k in raw.decayed:
            stats = {m: asdict(s) for m, s in decay_stats(raw.decayed[k][start:start + length], start).items()}
        decay[piece_key(fqn, start, length)] = {"group": group, "shrink": stats}
    for fqn, start, length in request.get("grads", []):
        k = index.get(fqn)
        if raw.penalty is None or raw.penalty.grads is None or k not in raw.penalty.grads:
            continue
        g = raw.penalty.grads[k]
        like = raw.holders[k].local_values()
        grads[piece_key(fqn, start, length)] = grad_fit(None if g is None else g[start:start + length], start, length,
                                                        like)
    return {"decay": decay, "grads": grads}


def main(argv: Optional[list[str]] = None) -> int:
    """The child: measure, write the result, answer one request."""
    import warnings

    args = sys.argv[1:] if argv is None else argv
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the user's prints must not reach the protocol
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    data = json.loads(args[0])
    request = AuditRequest(**{**data["request"], "script_args": tuple(data["request"]["script_args"])})
    raw: Optional[Raw] = None
    try:
        built = build(request, device=data["device"], distributed=False)
        result, raw = measure_side(built, rank=None, timeout=request.timeout, agree=lambda _stage, ok: ok, keep=True)
    except AuditError as exc:
        result = SideResult(None, errors=[stage_error(SETUP, exc)])
    except Exception as exc:
        result = SideResult(None, errors=[StageError(SETUP, f"{type(exc).__name__}: {exc}")])
    protocol.write(json.dumps({"result": result.to_json()}) + "\n")
    protocol.flush()
    line = sys.stdin.readline()
    if line.strip() and raw is not None:
        protocol.write(json.dumps(answer(raw, json.loads(line))) + "\n")
        protocol.flush()
    return 0


class OneProcess:
    """Rank 0's handle on the child: start it, read its result, ask it about pieces, stop it."""

    def __init__(self, request: AuditRequest, device: str) -> None:
        payload = json.dumps({"request": asdict(request), "device": device})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reglint.audit.distributed.reference", payload],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
            env=one_process_environment(),
        )
        self.lines: queue.Queue[Optional[str]] = queue.Queue()
        self.stderr: deque[str] = deque()
        self._stderr_size = 0
        threading.Thread(target=self._read_lines, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True).start()

    def _read_lines(self, stream: Optional[IO[str]]) -> None:
        assert stream is not None
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self, stream: Optional[IO[str]]) -> None:
        assert stream is not None
        for line in stream:
            self.stderr.append(line)
            self._stderr_size += len(line)
            while self._stderr_size > STDERR_KEPT and len(self.stderr) > 1:
                self._stderr_size -= len(self.stderr.popleft())

    def _next(self, timeout: float, what: str) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise AuditError(f"the measurement in one process did not {what} within {timeout:g} s") from None
        if line is None:
            self.proc.wait(timeout=5)
            raise AuditError(f"the measurement in one process ended (exit code {self.proc.returncode}) before it "
                             f"could {what}", details="".join(self.stderr).rstrip() or None)
        parsed: dict[str, Any] = json.loads(line)
        return parsed

    def result(self, timeout: float) -> SideResult:
        return SideResult.from_json(self._next(timeout, "finish")["result"])

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._next(timeout, "answer")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill always ends it
            pass


if __name__ == "__main__":
    sys.exit(main())
