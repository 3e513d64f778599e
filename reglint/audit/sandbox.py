"""Running the user's code safely: RNG state kept, a deadline, and a checked penalty call.

Every call into the user's penalty goes through `call_penalty`: it reseeds torch's RNG first, so a
penalty that draws random numbers gives the same value at every evaluation (finite differences
need that), stops after `timeout` seconds, and checks that the result is a scalar tensor.
`preserved_rng` restores the caller's RNG state afterwards: an audit leaves no trace.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, Callable, Optional

from reglint.audit.errors import AuditError, AuditTimeout

PENALTY_SEED = 20240611


@contextlib.contextmanager
def preserved_rng(cuda: bool = False) -> Iterator[None]:
    """Restore Python's, torch's (CPU, and CUDA when used) and numpy's RNG state on exit.

    `cuda`: the audit will use the GPU, so its generators are saved too (which initializes CUDA,
    as the audit would anyway). Without it, CUDA is left alone unless it is already initialized.
    """
    import torch

    py_state = random.getstate()
    torch_state = torch.get_rng_state()
    use_cuda = torch.cuda.is_available() and (cuda or torch.cuda.is_initialized())
    cuda_states = torch.cuda.get_rng_state_all() if use_cuda else None
    numpy: Any = sys.modules.get("numpy")
    np_state = numpy.random.get_state() if numpy is not None and hasattr(numpy, "random") else None
    try:
        yield
    finally:
        random.setstate(py_state)
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        if np_state is not None:
            numpy.random.set_state(np_state)


@contextlib.contextmanager
def deadline(seconds: Optional[float], what: str) -> Iterator[None]:
    """Raise AuditTimeout inside the block if it runs longer than `seconds` (None: no limit).

    In the main thread on Unix a SIGALRM timer interrupts Python code cleanly; elsewhere a watchdog
    thread interrupts the main thread (KeyboardInterrupt, translated back into AuditTimeout).
    C code that never returns to Python (one huge torch op) is interrupted when it returns.
    """
    if not seconds or seconds <= 0:
        yield
        return
    message = f"did not return within {seconds:g} s (--timeout)"
    in_main = threading.current_thread() is threading.main_thread()
    if in_main and hasattr(signal, "setitimer"):
        def on_alarm(_signum: int, _frame: Any) -> None:
            raise AuditTimeout(message)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    if not in_main:  # cannot interrupt another thread: run without a limit
        yield
        return
    import _thread

    fired = threading.Event()
    done = threading.Event()

    def watchdog() -> None:
        if not done.wait(seconds):
            fired.set()
            _thread.interrupt_main()

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        yield
    except KeyboardInterrupt:
        if fired.is_set():
            raise AuditTimeout(message) from None
        raise
    finally:
        done.set()


def reseed() -> None:
    """Give every penalty evaluation the same random stream.

    Seeds the generators directly (CPU, and CUDA devices already initialized) rather than through
    `torch.manual_seed`, which would queue a seed for CUDA's later initialization in the user's
    process.
    """
    import torch

    torch.default_generator.manual_seed(PENALTY_SEED)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for generator in torch.cuda.default_generators:
            generator.manual_seed(PENALTY_SEED)


def describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_penalty_value(value: Any, what: str, strict: bool = True) -> Any:
    """Return `value` if it is a scalar floating tensor; otherwise raise an AuditError saying why.

    Not `strict` (calls on the audit's own copies, after the first call on the model as it is): a
    Python number is taken as a constant, since `sum(...)` over no tensor at all gives 0.
    """
    import torch

    if isinstance(value, (int, float)) and not isinstance(value, bool) and not strict:
        return torch.tensor(float(value), dtype=torch.float64)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise AuditError(
            f"{what} returned the Python number {describe_value(value)}, not a tensor: a number carries "
            "no gradient, so adding it to the loss changes nothing (RL103); return a scalar tensor"
        )
    if not isinstance(value, torch.Tensor):
        raise AuditError(f"{what} returned {type(value).__name__} {describe_value(value)}, not a scalar tensor")
    if value.numel() != 1:
        raise AuditError(
            f"{what} returned a tensor of shape {tuple(value.shape)}, not a scalar: sum it (`.sum()`) "
            "before adding it to the loss"
        )
    if not value.is_floating_point():
        raise AuditError(f"{what} returned a {value.dtype} tensor: a penalty must be a real floating-point scalar")
    return value.reshape(())


def call_penalty(fn: Callable[[Any], Any], model: Any, what: str, timeout: Optional[float], strict: bool = True) -> Any:
    """Evaluate the penalty on `model`: reseeded, with a deadline, result checked (may raise)."""
    reseed()
    with deadline(timeout, what):
        value = fn(model)
    return check_penalty_value(value, what, strict)
