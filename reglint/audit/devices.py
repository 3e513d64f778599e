"""RL304 evidence: does the penalty stay on the parameters' device?

On a GPU, a penalty that accumulates into `torch.tensor(0.)` or `torch.zeros(1)` (made on the CPU,
since no device was given) either raises a device error or leaves the result on the CPU, and one
that calls `.item()`, `.cpu()` or `.tolist()` copies data to the host at every step.

With `--device cuda` the penalty is run on the GPU under a recorder (a TorchFunctionMode that sees
every torch call) and compared with the CPU result. Without a GPU the run is *simulated* on the
`meta` device, which follows the same device rules as CUDA (a CPU scalar may be combined with a
meta tensor, anything else raises) without computing anything: a device error, a result that is
not on the parameters' device, or an explicit copy off the device is what a GPU would show too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

FACTORIES = frozenset({
    "tensor", "as_tensor", "scalar_tensor", "zeros", "ones", "empty", "full", "arange", "rand",
    "randn", "randint", "eye", "linspace", "logspace",
})
HOST_COPIES = frozenset({"item", "tolist", "numpy", "__float__", "__int__"})
MOVES = frozenset({"cpu", "cuda", "to"})


@dataclass
class DeviceResult:
    device: str
    simulated: bool
    error: Optional[str] = None
    transfers: list[str] = field(default_factory=list)
    cpu_factories: list[str] = field(default_factory=list)
    result_device: Optional[str] = None
    mismatch: Optional[str] = None
    inconclusive: Optional[str] = None
    raised: bool = False

    @property
    def flagged(self) -> bool:
        return bool(self.error or self.transfers or self.mismatch or self.off_device)

    @property
    def off_device(self) -> bool:
        return self.result_device is not None and self.result_device != self.device


def _name(func: Any) -> str:
    return getattr(func, "__name__", "") or str(func)


def _device_of(value: Any) -> Optional[Any]:
    import torch

    if isinstance(value, torch.device):
        return value
    if isinstance(value, str):
        try:
            return torch.device(value)
        except RuntimeError:
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        return torch.device("cuda", value)
    if isinstance(value, torch.Tensor):
        return value.device
    return None


def _move_target(name: str, args: tuple, kwargs: dict) -> Optional[Any]:
    """The device that `.cpu()`, `.cuda()` or `.to(...)` sends a tensor to (None: unchanged)."""
    import torch

    if name == "cpu":
        return torch.device("cpu")
    if kwargs.get("device") is not None:
        return _device_of(kwargs["device"])
    if name == "cuda":
        return torch.device("cuda")
    for extra in args[1:]:
        if isinstance(extra, (torch.dtype, bool)):
            continue
        dev = _device_of(extra)
        if dev is not None:
            return dev
    return None


def _recorder(device_type: str, result: DeviceResult) -> Any:
    import torch
    from torch.overrides import TorchFunctionMode

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Optional[dict] = None) -> Any:
            kwargs = kwargs or {}
            name = _name(func)
            source = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if source is not None and source.device.type == device_type:
                if name in HOST_COPIES:
                    result.transfers.append(f".{name.strip('_')}()" if name.startswith("__") else f".{name}()")
                elif name in MOVES:
                    dev = _move_target(name, args, kwargs)
                    if dev is not None and dev.type != device_type:
                        result.transfers.append(f".to({dev.type!r})" if name == "to" else f".{name}()")
            out = func(*args, **kwargs)
            if name in FACTORIES and kwargs.get("device") is None and isinstance(out, torch.Tensor):
                if out.device.type != device_type:
                    result.cpu_factories.append(f"torch.{name}(...)")
            return out

    return Recorder()


def _is_device_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "device" in text and ("expected" in text or "same device" in text or "not on the" in text)


def run_on_device(model: Any, call: Callable[[Any], Any], device: str, simulated: bool) -> DeviceResult:
    """Evaluate `call(model)` with `model` on `device` (meta for a simulation) and record moves."""
    result = DeviceResult(device=device, simulated=simulated)
    value = None
    try:
        with _recorder(device, result):
            value = call(model)
    except Exception as exc:  # the penalty's own error, seen on this device
        result.raised = True
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if _is_device_error(exc):
            result.error = f"{type(exc).__name__}: {first}"
        elif not result.transfers:
            result.inconclusive = f"{type(exc).__name__}: {first}"
    if value is not None and hasattr(value, "device"):
        result.result_device = value.device.type
    result.transfers = list(dict.fromkeys(result.transfers))
    result.cpu_factories = list(dict.fromkeys(result.cpu_factories))
    return result


def compare_values(result: DeviceResult, on_device: float, on_cpu: float, tol: float = 1e-6) -> None:
    """Record a mismatch when the value on the device differs from the CPU value."""
    if math.isfinite(on_cpu) and (not math.isfinite(on_device) or abs(on_device - on_cpu) > tol * max(abs(on_cpu), 1e-300)):
        result.mismatch = f"penalty = {on_device:.6g} on {result.device}, {on_cpu:.6g} on cpu"
