"""Lint many files across worker processes, with results in the order the files were given.

Why processes: the prefilter's text scans, parsing and the analysis are pure Python and
CPU-bound, so threads would share one core. Workers receive the distinct (Settings, enabled
codes) pairs once, in their initializer; a job then only names a file and the index of its pair.
Neither the parent nor a worker imports libcst and the rules before a file needs them (the
runner imports them, the first time the prefilter keeps a file): on most trees few files or none
get that far, and the import costs a third of a second. Big files are sent first so that one
large file does not finish last on a single core while the others idle.

`lint_job` is also what `--jobs 1` runs in-process, so both paths produce identical results.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

from reglint.model import Finding, Note

if TYPE_CHECKING:
    from reglint.engine.config import Settings

# A file modified this recently (seconds) may change again within the file system's timestamp
# granularity without its size changing: its stat fingerprint is not stored (git's "racy" rule).
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class Job:
    """One file to lint: where it is, how to show it, and which (settings, codes) pair applies."""

    index: int
    path: str  # the file system path to read
    display: str  # the path findings carry
    config: int  # index into the Config table given to the workers
    size: int = 0  # for scheduling only


@dataclass(frozen=True)
class Config:
    settings: "Settings"
    enabled: frozenset[str]
    prefilter: bool = True
    cached: bool = True  # False (`--no-cache`): no digest or stat fingerprint is computed


Fingerprint = tuple[int, int, int, int]  # (mtime_ns, ctime_ns, size, inode)


@dataclass
class Outcome:
    """What linting one file produced, small enough to send back from a worker.

    `source_lines` are kept only when there are findings (for code frames); `digest` and
    `fingerprint` feed the cache (None: do not cache, e.g. the file could not be read).
    """

    index: int
    path: str
    findings: list[Finding] = field(default_factory=list)
    source_lines: Optional[list[str]] = None
    digest: Optional[str] = None
    fingerprint: Optional[Fingerprint] = None
    analyzed: bool = True  # False: the prefilter showed there was nothing to analyze
    internal_error: Optional[str] = None  # a bug in reglint met on this file: reported, exit 2, not cached
    dependencies: dict[str, str] = field(default_factory=dict)  # project modules read: path -> digest
    notes: list[Note] = field(default_factory=list)  # how the file was read (not cached: shown every run)


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def fingerprint_of(st: os.stat_result, now: Optional[float] = None) -> Optional[Fingerprint]:
    """The stat fingerprint to store, or None when the file is too fresh to trust it."""
    now = time.time() if now is None else now
    if now - st.st_mtime < RACY_SECONDS or now - st.st_ctime < RACY_SECONDS:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def current_fingerprint(st: os.stat_result) -> Fingerprint:
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def read_fingerprinted(path: str) -> tuple[bytes, Optional[Fingerprint]]:
    """The file's bytes, and the fingerprint they belong to (None if it changed while read, or is racy)."""
    with open(path, "rb") as handle:
        before = os.fstat(handle.fileno())
        data = handle.read()
    try:
        after = os.stat(path)
    except OSError:
        return data, None
    if current_fingerprint(after) != current_fingerprint(before):
        return data, None
    return data, fingerprint_of(before)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def lint_job(job: Job, config: Config) -> Outcome:
    """Read, hash and lint one file (in a worker or in-process)."""
    from reglint.engine.prefilter import lint_data

    try:
        if config.cached:
            data, fingerprint = read_fingerprinted(job.path)
        else:
            data, fingerprint = _read(job.path), None
    except OSError:
        # Let the runner report it exactly as it always has (RL000 "cannot read").
        from reglint.engine import runner

        result = runner.lint_file(Path(job.path), config.settings, config.enabled, display=job.display)
        return Outcome(job.index, result.path, list(result.findings), result.source_lines, internal_error=result.internal_error)
    linted = lint_data(data, job.display, config.settings, config.enabled, config.prefilter)
    return Outcome(
        index=job.index,
        path=job.display,
        findings=linted.findings,
        source_lines=linted.source_lines if linted.findings else None,
        digest=None if linted.internal_error or linted.notes or not config.cached else content_digest(data),
        fingerprint=fingerprint,
        analyzed=linted.analyzed,
        internal_error=linted.internal_error,
        dependencies=linted.dependencies or {},
        notes=list(linted.notes),
    )


# ---------------------------------------------------------------------------- worker side

_CONFIGS: Sequence[Config] = ()
_STATES: Any = None  # shared with the parent: which jobs this worker has started and finished


def _init_worker(configs: Sequence[Config], states: Any = None) -> None:
    global _CONFIGS, _STATES
    _CONFIGS = configs
    _STATES = states
    gc.freeze()  # what is imported now lives as long as the worker: keep it out of every collection


def _run_chunk(jobs: Sequence[Job]) -> list[Outcome]:
    with collector_paused():
        out = []
        for job in jobs:
            if _STATES is not None:
                _STATES[job.index] = _STARTED
            out.append(lint_job(job, _CONFIGS[job.config]))
            if _STATES is not None:
                _STATES[job.index] = _FINISHED
        return out


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Parsing allocates millions of objects and hardly any cycles; the cyclic garbage collector
    would scan them over and over (about 15% of the time). Pause it for a batch, then let it run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------------- parent side


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _context() -> Any:
    import multiprocessing

    # fork is the cheapest start on Linux (the parent has already imported what workers need);
    # elsewhere (macOS, Windows) fork is unsafe or missing and spawn is the default.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _chunks(jobs: list[Job], workers: int) -> list[list[Job]]:
    """Largest files first, in chunks small enough to balance and big enough to amortize IPC."""
    ordered = sorted(jobs, key=lambda j: (-j.size, j.index))
    size = max(1, min(16, len(ordered) // (workers * 8)))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


# Fewer jobs than this run in-process: starting workers costs more than it saves.
MIN_PARALLEL_JOBS = 8


def run_jobs(jobs: Iterable[Job], configs: Sequence[Config], workers: int) -> list[Outcome]:
    """Lint every job; the outcomes come back in job order whatever the number of workers.

    A worker that dies (a crash in native code, the out-of-memory killer) takes no other file's
    findings with it: the files it had not finished are linted again in a new pool, except the
    ones a worker had started and not finished when the pool broke; each of those is linted alone
    in a process of its own, and the one that kills that process too is reported as an internal
    error (exit code 2) while every other file keeps its findings.
    """
    jobs = list(jobs)
    workers = max(1, min(workers, len(jobs)))
    if workers == 1 or len(jobs) < MIN_PARALLEL_JOBS:
        outcomes_in_process = []
        for job in jobs:
            with collector_paused():
                outcomes_in_process.append(lint_job(job, configs[job.config]))
        return outcomes_in_process
    from concurrent.futures.process import BrokenProcessPool

    outcomes: dict[int, Outcome] = {}
    remaining = jobs
    while remaining:
        started = _context().RawArray("b", max(job.index for job in remaining) + 1)
        try:
            _run_pool(remaining, configs, min(workers, len(remaining)), started, outcomes)
            break
        except BrokenProcessPool as exc:
            unfinished = [job for job in remaining if job.index not in outcomes]
            suspects = [job for job in unfinished if started[job.index] == _STARTED]
            if not suspects:  # it died between files: nothing to blame, nothing to retry safely
                raise WorkerCrash(sorted(job.display for job in unfinished)) from exc
            for job in suspects:
                outcomes[job.index] = run_alone(job, configs[job.config])
            remaining = [job for job in unfinished if job.index not in outcomes]
    return [outcomes[job.index] for job in jobs]


_STARTED, _FINISHED = 1, 2


def _run_pool(jobs: list[Job], configs: Sequence[Config], workers: int, started: Any, outcomes: dict[int, Outcome]) -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(), initializer=_init_worker, initargs=(tuple(configs), started)
    ) as pool:
        for batch in pool.map(_run_chunk, _chunks(jobs, workers)):
            for outcome in batch:
                outcomes[outcome.index] = outcome


def run_alone(job: Job, config: Config) -> Outcome:
    """Lint one file in a process of its own: its outcome, or an internal error if it died."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_lint_and_send, args=(job, config, sender), daemon=True)
    process.start()
    sender.close()
    try:
        outcome: Optional[Outcome] = receiver.recv()
    except (EOFError, OSError):
        outcome = None
    finally:
        receiver.close()
    process.join()
    if outcome is not None:
        return outcome
    return Outcome(
        job.index,
        job.display,
        internal_error=(
            f"the process linting this file died ({_exit_description(process.exitcode)}), most likely in "
            "libcst's native parser; every other file was linted"
        ),
    )


def _lint_and_send(job: Job, config: Config, sender: Any) -> None:
    with collector_paused():
        outcome = lint_job(job, config)
    sender.send(outcome)
    sender.close()


def _exit_description(code: Optional[int]) -> str:
    if code is not None and code < 0:
        import signal

        try:
            return f"signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class WorkerCrash(Exception):
    """A worker process died (killed, out of memory, a crash in native code) mid-run."""

    def __init__(self, unfinished: list[str]) -> None:
        self.unfinished = unfinished
        shown = ", ".join(unfinished[:5]) + (f" and {len(unfinished) - 5} more" if len(unfinished) > 5 else "")
        super().__init__(
            f"a worker process died before finishing {len(unfinished)} file(s) ({shown}); "
            "run again with --jobs 1 to see which file it was"
        )
