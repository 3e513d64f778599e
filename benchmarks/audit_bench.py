"""Benchmark: `reglint audit` on LLM-scale models on the CPU, as ratios to one training step.

Two cases (`--case`, default both):

- `gpt2`: GPT-2 124M shapes written in plain torch (vocab 50257, 12 layers, d = 768, context
  1024, the token embedding tied to the output head: a 38.6M-value tensor), an explicit L2 penalty
  λ/2·Σw² on the weight matrices and AdamW with nanoGPT's two param groups;
- `lm`: a ~96M-parameter transformer LM (10 `nn.TransformerEncoderLayer`s, d = 768, vocab 32000,
  tied head), same penalty and optimizer.

For each, measured in the same process, on the same model:

- time: the audit's wall time ÷ one training step (forward and backward of the LM loss on a batch
  of `--batch` × `--seq` tokens, plus the penalty, plus the AdamW step), median of `--repeats`
  warm steps; and ÷ the step's regularization work alone (penalty backward + AdamW step);
- memory: the audit's peak resident memory above what the process held before it (the model is
  already built, nothing else) ÷ the bytes of the model's parameters.

Goals: GPT-2 124M audited in ≤ 3× one training step and ≤ 3× its parameter bytes of extra peak
memory, with no "form depends on the tensor's size" note (the penalty is a plain λ/2·Σw²).

Peak memory is read from the kernel's high-water mark (VmHWM in /proc/self/status), which is reset
right before the audit by writing 5 to /proc/self/clear_refs; where that is not possible (not
Linux), a thread samples the resident size every 2 ms instead.

    python benchmarks/audit_bench.py                    # both cases
    python benchmarks/audit_bench.py --case gpt2        # GPT-2 124M only
    python benchmarks/audit_bench.py --case lm --layers 2   # smaller, quicker
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import warnings
from typing import Any, Callable, Optional

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

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
        mask = nn.Transformer.generate_square_subsequent_mask(idx.shape[1], device=idx.device)
        return self.head(self.ln_f(self.layers(x, mask=mask, is_causal=True)))


class CausalSelfAttention(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, d))


class GPT2Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential()
        self.mlp.c_fc = nn.Linear(d, 4 * d)
        self.mlp.gelu = nn.GELU(approximate="tanh")
        self.mlp.c_proj = nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """GPT-2's module layout (as nanoGPT names it): 124M parameters at the default sizes."""

    def __init__(self, vocab: int = 50257, layers: int = 12, d: int = 768, heads: int = 12, context: int = 1024) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, d),
            wpe=nn.Embedding(context, d),
            h=nn.ModuleList(GPT2Block(d, heads) for _ in range(layers)),
            ln_f=nn.LayerNorm(d),
        ))
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


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


def run_case(name: str, model: nn.Module, vocab: int, args: argparse.Namespace) -> dict[str, float]:
    params = list(model.parameters())
    n_values = sum(p.numel() for p in params)
    param_bytes = sum(p.numel() * p.element_size() for p in params)
    largest = max(p.numel() for p in params)
    print(f"[{name}] {n_values / 1e6:.1f}M parameters in {len(params)} tensors ({param_bytes / 2**20:.0f} MiB, float32; "
          f"largest tensor {largest / 1e6:.1f}M values), torch {torch.__version__}, {torch.get_num_threads()} threads")

    # The audit first, while the process holds only the model: its extra memory is its own.
    with PeakMemory() as audit_memory:
        start = time.perf_counter()
        report = run_audit(model, penalty, build_optimizer, device="cpu", timeout=600, model_label=name)
        audit_time = time.perf_counter() - start
    codes = sorted({f.code for f in report.findings})
    size_notes = [n for n in report.notes if "depends on the tensor" in n]
    evaluations = report.penalty.core.gradcheck.evaluations if report.penalty and report.penalty.core.gradcheck else 0
    print(f"  audit: {audit_time:.2f} s, {len(report.findings)} findings {codes}, finite-difference evaluations: "
          f"{evaluations}; 'depends on the tensor's size' notes: {len(size_notes)}")
    print(f"         measured on: {report.penalty.measured_on if report.penalty else '-'}")
    del report
    gc.collect()

    optimizer = build_optimizer(model)
    gen = torch.Generator().manual_seed(0)
    batch = torch.randint(0, vocab, (args.batch, args.seq + 1), generator=gen)
    x, y = batch[:, :-1], batch[:, 1:]

    def regularization_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        penalty(model).backward()
        optimizer.step()

    def training_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)) + penalty(model)
        loss.backward()
        optimizer.step()

    with PeakMemory() as step_memory:
        training_step()  # warm-up: allocates the gradients, AdamW's state and the activations
    train = statistics.median(timed(training_step) for _ in range(max(1, args.repeats)))
    regularization = statistics.median(timed(regularization_step) for _ in range(max(1, args.repeats)))
    time_ratio, memory_ratio = audit_time / train, audit_memory.extra / param_bytes
    print(f"  one training step ({args.batch}×{args.seq} tokens, forward + backward + penalty + AdamW) = {train:.2f} s; "
          f"its regularization work alone (penalty backward + AdamW step) = {regularization:.2f} s "
          f"(medians of {args.repeats}); the first step's extra memory: {step_memory.extra / param_bytes:.2f}× parameter bytes")
    print(f"  time ratio:   audit / training step = {time_ratio:.2f}×   (goal ≤ 3×);  "
          f"audit / regularization work = {audit_time / regularization:.2f}×")
    print(f"  memory ratio: audit peak extra memory / parameter bytes = {memory_ratio:.2f}×   (goal ≤ 3×; "
          f"{'kernel high-water mark' if audit_memory.kernel else 'sampled every 2 ms'}; the whole process at its "
          f"peak: {audit_memory.peak / param_bytes:.2f}×)")
    print()
    return {"time": time_ratio, "memory": memory_ratio, "size_notes": float(len(size_notes))}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--case", choices=("gpt2", "lm", "all"), default="all")
    parser.add_argument("--gpt2-vocab", type=int, default=50257,
                        help="gpt2 case: vocabulary (128256 gives a LLaMA-3-sized 98.5M-value embedding)")
    parser.add_argument("--vocab", type=int, default=32000, help="lm case")
    parser.add_argument("--d-model", type=int, default=768, help="lm case")
    parser.add_argument("--layers", type=int, default=10, help="lm case")
    parser.add_argument("--heads", type=int, default=12, help="lm case")
    parser.add_argument("--context", type=int, default=1024, help="lm case")
    parser.add_argument("--batch", type=int, default=4, help="sequences per training step")
    parser.add_argument("--seq", type=int, default=256, help="tokens per sequence")
    parser.add_argument("--repeats", type=int, default=3, help="reference steps timed (median)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.case == "all":
        # each case in a fresh process: memory freed by one would otherwise be reused by the next
        # and hide its peak
        forwarded, skip = [], False
        for a in sys.argv[1:]:
            if not skip and not a.startswith("--case"):
                forwarded.append(a)
            skip = a == "--case"
        failed = [c for c in ("gpt2", "lm")
                  if subprocess.run([sys.executable, __file__, "--case", c, *forwarded], check=False).returncode]
        raise SystemExit(1 if failed else 0)
    results = {}
    if args.case == "gpt2":
        torch.manual_seed(0)
        model: nn.Module = GPT2(vocab=args.gpt2_vocab)
        label = "GPT2-124M" if args.gpt2_vocab == 50257 else f"GPT2-vocab{args.gpt2_vocab}"
        results["gpt2"] = run_case(label, model, args.gpt2_vocab, args)
        del model
        gc.collect()
    if args.case == "lm":
        torch.manual_seed(0)
        model = TransformerLM(args.vocab, args.d_model, args.layers, args.heads, args.context)
        results["lm"] = run_case("TransformerLM", model, args.vocab, args)
    strict = os.environ.get("AUDIT_BENCH_STRICT")
    if strict and any(r["time"] > 3 or r["memory"] > 3 or r["size_notes"] for r in results.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
