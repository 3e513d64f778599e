"""Benchmark: how soon after a change does `reglint server` publish the diagnostics of the new text?

It starts the real server (`python -m reglint server`) over stdio with pygls' own client, opens a
training script of `--lines` lines (benchmarks/training_file.py: argparse, datasets, model
classes, metrics, and a training step with seven findings), then makes `--edits` edits, one at a
time, as a user would between pauses: each edit is a one-line change sent as an incremental
`didChange`, and its latency is the time from sending it to receiving `publishDiagnostics` for
that document version (so it includes the server's debounce delay, the lint and the JSON-RPC
round trip). Edits alternate between a line of the training step (code the analysis reads) and a
line inside a model's `forward` (code it does not), and each kind is reported apart.

    python benchmarks/lsp_latency.py                    # 2,000 lines, 20 edits
    python benchmarks/lsp_latency.py --lines 500 --edits 10 --debounce 0.1

It also times linting the same text in-process (no server, no debounce) for comparison. The
figures depend on the machine and on whatever else runs on it; it prints the core count and the
load average. Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_file import EDITED_IN_MODEL, EDITED_IN_TRAINING_STEP, training_file  # noqa: E402


class TimingClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("reglint-latency-bench", "1")
        self.arrived: dict[int, tuple[float, int]] = {}  # version -> (time, number of diagnostics)
        self.event = asyncio.Event()


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:6.0f} ms   p90 {p90 * 1000:6.0f} ms   max {ordered[-1] * 1000:6.0f} ms   (n={len(ordered)})"


async def wait_version(client: TimingClient, version: int, timeout: float = 120.0) -> tuple[float, int]:
    deadline = time.perf_counter() + timeout
    while version not in client.arrived:
        client.event.clear()
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TimeoutError(f"no diagnostics for version {version}")
        try:
            await asyncio.wait_for(client.event.wait(), remaining)
        except asyncio.TimeoutError:
            pass
    return client.arrived[version]


def variant(line: str) -> str:
    """The line with a no-op change: `l2_reg` -> `l2_reg * 1.0`, `(out)` -> `(out + 0)`."""
    return line.replace("l2_reg", "l2_reg * 1.0") if "l2_reg" in line else line.replace("(out)", "(out + 0)")


async def run(lines: int, edits: int, debounce: Optional[float], pause: float) -> int:
    text = training_file(lines)
    directory = Path(tempfile.mkdtemp(prefix="reglint-lsp-bench-"))
    path = directory / "train.py"
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    client = TimingClient()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        if params.uri == uri and params.version is not None:
            client.arrived.setdefault(params.version, (time.perf_counter(), len(params.diagnostics)))
            client.event.set()

    args = ["-m", "reglint", "server"] + (["--debounce", str(debounce)] if debounce is not None else [])
    await client.start_io(sys.executable, *args, cwd=str(directory))
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=directory.as_uri()))
    client.initialized(types.InitializedParams())

    start = time.perf_counter()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    arrived, count = await wait_version(client, 1)
    print(f"file: {text.count(chr(10))} lines, {count} diagnostics; first lint after open (imports included): {(arrived - start) * 1000:.0f} ms")

    lines = text.split("\n")
    kinds = {"training step": EDITED_IN_TRAINING_STEP, "model forward": EDITED_IN_MODEL}
    where = {kind: lines.index(line.rstrip("\n")) for kind, line in kinds.items()}
    originals = {kind: lines[index] for kind, index in where.items()}
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    version = 1
    for number in range(edits):
        kind = list(kinds)[number % 2]
        index = where[kind]
        old = lines[index]
        new = variant(old) if old == originals[kind] else originals[kind]
        lines[index] = new
        text = "\n".join(lines)
        change_range = types.Range(types.Position(index, 0), types.Position(index, len(old)))
        version += 1
        await asyncio.sleep(pause)  # a pause between edits, as a user makes them
        sent = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangePartial(range=change_range, text=new)],
            )
        )
        arrived, _ = await wait_version(client, version)
        latencies[kind].append(arrived - sent)

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()

    from reglint.engine.config import Settings
    from reglint.engine.session import _enabled
    from reglint.lsp.documents import lint_document

    settings = Settings()
    enabled = _enabled(settings)
    lint_document(text, str(path), settings, enabled)
    in_process = []
    for _ in range(5):
        begin = time.perf_counter()
        lint_document(text, str(path), settings, enabled)
        in_process.append(time.perf_counter() - begin)

    shown = f"{debounce}" if debounce is not None else "the default"
    print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; debounce {shown} s")
    for kind, values in latencies.items():
        print(f"change -> diagnostics, edit in the {kind:<14}: {summary(values)}")
    every = [v for values in latencies.values() for v in values]
    print(f"change -> diagnostics, all edits               : {summary(every)}")
    print(f"lint in-process (no server, no debounce)       : {summary(in_process)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--debounce", type=float, default=None, help="the server's --debounce (default: its own default)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between edits")
    options = parser.parse_args()
    return asyncio.run(run(options.lines, options.edits, options.debounce, options.pause))


if __name__ == "__main__":
    sys.exit(main())
