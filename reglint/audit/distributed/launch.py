"""`reglint audit --nproc N FILE`: run the audit under torchrun on this machine, exit as rank 0 does.

Starts `python -m torch.distributed.run --standalone --nproc-per-node N -m reglint audit ...` (a
free port, one node) with the same options, in its own process group. Rank 0 prints the report
to the inherited stdout and writes its exit code to a file whose path this process passes in
REGLINT_AUDIT_EXIT_FILE (the ranks then exit 0, so torchrun stays quiet); this process exits with
that code: 0, 1 or 2, exactly as a one-process audit. If torchrun ends without a code (a rank
crashed hard), or runs past the overall limit, torchrun's whole process group is stopped and the
exit code is 2.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Optional

from reglint.audit.distributed.worker import EXIT_FILE

GRACE = 20.0  # seconds torchrun gets to end after rank 0 has reported
POLL = 0.1


def overall_limit(timeout: Optional[float]) -> Optional[float]:
    """The most the whole run may take: room for the imports, the collectives and the waits."""
    return None if not timeout else 6 * timeout + 120


def torchrun_command(nproc: int, audit_args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "--max-restarts=0", "-m", "reglint", "audit", *audit_args]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue


def _read_code(path: str) -> Optional[int]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def launch(nproc: int, audit_args: Sequence[str], timeout: Optional[float]) -> tuple[int, Optional[str]]:
    """Run torchrun; (exit code, error message for exit 2 or None)."""
    limit = overall_limit(timeout)
    with tempfile.TemporaryDirectory(prefix="reglint-audit-") as tmp:
        exit_file = os.path.join(tmp, "exit-code")
        env = dict(os.environ)
        env[EXIT_FILE] = exit_file
        env.setdefault("OMP_NUM_THREADS", "1")  # what torchrun sets anyway, without its banner
        # torch warns at import when NumPy is absent (torchrun imports torch); the audit never needs NumPy
        quiet = "ignore:Failed to initialize NumPy"
        env["PYTHONWARNINGS"] = f"{env['PYTHONWARNINGS']},{quiet}" if env.get("PYTHONWARNINGS") else quiet
        start = time.monotonic()
        proc = subprocess.Popen(torchrun_command(nproc, audit_args), env=env, start_new_session=True)
        reported: Optional[float] = None
        try:
            while proc.poll() is None:
                now = time.monotonic()
                if reported is None and _read_code(exit_file) is not None:
                    reported = now
                if reported is not None and now - reported > GRACE:
                    break
                if limit is not None and now - start > limit:
                    _stop(proc)
                    return 2, (f"the audit under torchrun did not end within {limit:g} s (6 × --timeout + 120 s); "
                               "its processes were stopped")
                time.sleep(POLL)
        except KeyboardInterrupt:
            _stop(proc)
            return 2, "interrupted"
        _stop(proc)
        code = _read_code(exit_file)
        if code is None:
            return 2, (f"torchrun ended (exit code {proc.returncode}) before rank 0 reported: a rank crashed "
                       "(its output is above)")
        return code, None
