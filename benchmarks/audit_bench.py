"""Benchmark: `reglint audit` on a ~100M-parameter transformer-shaped model, on the CPU.

Prints two ratios (goals: time ≤ 10×, memory ≤ 3×):

- time: the audit's wall time ÷ the time of one training step's regularization work, i.e. one
  penalty forward + backward and one optimizer step (AdamW with no-decay groups), measured warm
  on the same model (median of `--repeats`);
- memory: the audit's peak resident memory above what the process held before it (the model is
  already built) ÷ the bytes of the model's parameters.

Peak memory is read from the kernel's high-water mark (VmHWM in /proc/self/status), which is reset
right before the audit by writing 5 to /proc/self/clear_refs; where that is not possible (not
Linux), a thread samples the resident size every 2 ms instead.

    python benchmarks/audit_bench.py                 # ~96M parameters (10 layers, d=768, vocab 32000)
    python benchmarks/audit_bench.py --layers 2      # smaller, quicker
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import threading
import time
import warnings
from typing import Any, Callable, Optional

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from reglint.audit.runner import run_audit  # noqa: E402


class TransformerLM(nn.Module):
    """GPT-shaped: token and position embeddings, encoder layers, final norm, tied output head."""

    def __init__(self, vocab: int, d_model: int, layers: int, heads: int, context: int) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(context, d_model)
        block = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        return self.head(self.ln_f(self.layers(x)))


WEIGHT_DECAY = 0.1
L2 = 1e-5


def penalty(model: nn.Module) -> torch.Tensor:
    """A typical explicit L2 penalty on the weight matrices: λ/2·Σw² (gradient λ·w)."""
    return L2 / 2 * sum(p.pow(2).sum() for p in model.parameters() if p.ndim >= 2)  # type: ignore[return-value]


def build_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=3e-4)


def _status_kib(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_bytes() -> int:
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """Peak resident memory during a block: kernel high-water mark, or 2 ms sampling."""

    def __enter__(self) -> PeakMemory:
        gc.collect()
        self.before = rss_bytes()
        self.kernel = False
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")
            self.kernel = _status_kib("VmHWM") is not None
        except OSError:
            self.kernel = False
        self.sampled = self.before
        self._stop = threading.Event()
        if not self.kernel:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.sampled = max(self.sampled, rss_bytes())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self.kernel:
            self.peak = (_status_kib("VmHWM") or 0) * 1024
        else:
            self._thread.join()
            self.peak = max(self.sampled, rss_bytes())

    @property
    def extra(self) -> int:
        return max(0, self.peak - self.before)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--d-model", type=int, default=768)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--context", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3, help="reference steps timed (median)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    model = TransformerLM(args.vocab, args.d_model, args.layers, args.heads, args.context)
    params = list(model.parameters())
    n_values = sum(p.numel() for p in params)
    param_bytes = sum(p.numel() * p.element_size() for p in params)
    print(f"model: {n_values / 1e6:.1f}M parameters in {len(params)} tensors ({param_bytes / 2**20:.0f} MiB, float32), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    # The audit first, while the process holds only the model: its extra memory is its own.
    with PeakMemory() as audit_memory:
        start = time.perf_counter()
        report = run_audit(model, penalty, build_optimizer, device="cpu", timeout=600, model_label="TransformerLM")
        audit_time = time.perf_counter() - start
    codes = sorted({f.code for f in report.findings})
    print(f"audit: {audit_time:.2f} s, {len(report.findings)} findings {codes}, "
          f"finite-difference evaluations: {report.penalty.core.gradcheck.evaluations if report.penalty and report.penalty.core.gradcheck else 0}")
    print(f"       measured on: {report.penalty.measured_on if report.penalty else '-'}")
    del report
    gc.collect()

    optimizer = build_optimizer(model)

    def step() -> None:
        optimizer.zero_grad()
        penalty(model).backward()
        optimizer.step()

    with PeakMemory() as step_memory:
        step()  # warm-up: allocates the gradients and AdamW's state
    times = [timed(step) for _ in range(max(1, args.repeats))]
    reference = statistics.median(times)
    print(f"reference: one penalty backward + one AdamW step = {reference:.3f} s (median of {len(times)}; "
          f"first step's extra memory {step_memory.extra / param_bytes:.2f}× parameter bytes)")
    print()
    print(f"time ratio:   audit / (penalty backward + optimizer step) = {audit_time / reference:.2f}×   (goal ≤ 10×)")
    print(f"memory ratio: audit peak extra memory / parameter bytes   = {audit_memory.extra / param_bytes:.2f}×   "
          f"(goal ≤ 3×; {'kernel high-water mark' if audit_memory.kernel else 'sampled every 2 ms'})")
    print(f"              (whole process at its peak, the model and torch included: "
          f"{audit_memory.peak / param_bytes:.2f}× parameter bytes)")
    if os.environ.get("AUDIT_BENCH_STRICT") and (audit_time / reference > 10 or audit_memory.extra / param_bytes > 3):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
