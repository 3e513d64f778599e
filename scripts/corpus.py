#!/usr/bin/env python3
"""Lint real code: the sources of transformers, timm, pytorch-lightning and torchvision.

    python scripts/corpus.py              # download once, lint, print a summary per corpus
    python scripts/corpus.py --details    # ... and every finding (path:line code message)
    python scripts/corpus.py timm         # only some corpora

The wheels are fetched once from PyPI with `pip download --no-deps` into `.corpora/wheels/`
(ignored by git) and unpacked into `.corpora/<name>/`; later runs need no network. Only the
.py files matter, so torchvision's platform wheel is fetched for a fixed platform.

Each corpus is linted with the installed `reglint check ... --format json --exit-zero` in a
subprocess (all static rules selected, no config file, no cache). If that run fails (exit 2,
a traceback, or output that is not JSON) the corpus is linted again file by file in-process
so the files that crash the linter are named with their tracebacks.

Not run in CI: it needs the network for the first download. Exit status: 0 when no corpus
had an internal error, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / ".corpora"
WHEELS = CORPORA / "wheels"

# name -> (distribution==version, extra pip download arguments)
PINS: dict[str, tuple[str, list[str]]] = {
    "transformers": ("transformers==5.23.0", []),
    "timm": ("timm==1.0.31", []),
    "pytorch-lightning": ("pytorch-lightning==2.6.6", []),
    "torchvision": (
        "torchvision==0.29.1",
        ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"],
    ),
}


@dataclass
class Result:
    name: str
    files: int = 0
    parse_errors: int = 0
    internal_errors: list[str] = field(default_factory=list)
    by_code: Counter = field(default_factory=Counter)
    findings: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0


def _wheel_for(name: str) -> Path | None:
    dist = PINS[name][0].split("==")
    stem = dist[0].replace("-", "_").lower() + "-" + dist[1] + "-"
    for wheel in sorted(WHEELS.glob("*.whl")):
        if wheel.name.lower().startswith(stem):
            return wheel
    return None


def fetch(name: str) -> Path:
    """Download (once) and unpack (once) the pinned wheel; return the unpacked directory."""
    target = CORPORA / name
    marker = target / ".unpacked"
    if marker.exists():
        return target
    wheel = _wheel_for(name)
    if wheel is None:
        WHEELS.mkdir(parents=True, exist_ok=True)
        spec, extra = PINS[name]
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":none:",
            "--only-binary", ":all:", "-d", str(WHEELS), *extra, spec,
        ]
        print("$", " ".join(cmd), file=sys.stderr)
        # The machine-wide constraints file may cap versions below the pin; the pin is what we want.
        env = dict(os.environ, PIP_CONSTRAINT="")
        subprocess.run(cmd, check=True, env=env)
        wheel = _wheel_for(name)
        if wheel is None:
            raise SystemExit(f"pip did not produce a wheel for {spec} in {WHEELS}")
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            if member.endswith(".py"):
                zf.extract(member, target)
    marker.write_text(wheel.name + "\n")
    return target


def _check_flags() -> list[str]:
    """Flags added to the CLI over time: use them when this reglint has them."""
    out = subprocess.run([sys.executable, "-m", "reglint", "check", "--help"], capture_output=True, text=True).stdout
    flags = ["--isolated", "--select", "ALL"]
    for flag in ("--no-cache", "--no-prefilter"):
        if flag in out:
            flags.append(flag)
    return flags


def lint_subprocess(name: str, path: Path, flags: list[str]) -> Result:
    result = Result(name)
    cmd = [sys.executable, "-m", "reglint", "check", str(path), "--format", "json", "--exit-zero", *flags]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    result.seconds = time.perf_counter() - start
    result.exit_code = proc.returncode
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = None
    if proc.returncode != 0 or report is None or "Traceback" in proc.stderr:
        result.internal_errors.append(f"reglint check exited {proc.returncode}\n{proc.stderr[-4000:]}")
        return result
    summary = report.get("summary", {})
    result.files = int(summary.get("files_checked", 0))
    for finding in report["findings"]:
        if finding["code"] == "RL000":
            result.parse_errors += 1
        result.by_code[finding["code"]] += 1
        result.findings.append(finding)
    result.parse_errors = max(result.parse_errors, int(summary.get("parse_errors", 0)))
    return result


def lint_in_process(name: str, path: Path) -> Result:
    """File by file, catching every exception, to name the files that crash the linter."""
    from reglint.engine.config import Settings
    from reglint.engine.runner import lint_file
    from reglint.engine.session import _enabled

    codes = _enabled(Settings(select=("ALL",)))
    result = Result(name)
    start = time.perf_counter()
    for file in sorted(path.rglob("*.py")):
        result.files += 1
        try:
            findings = lint_file(file, Settings(), codes).findings
        except Exception:  # noqa: BLE001 - the point is to see them all
            result.internal_errors.append(f"{file}\n{traceback.format_exc()}")
            continue
        for f in findings:
            d = {"code": f.code, "path": str(file), "line": f.line, "message": f.message}
            result.by_code[f.code] += 1
            result.parse_errors += f.code == "RL000"
            result.findings.append(d)
    result.seconds = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[[], *PINS], default=[], metavar="NAME",
                        help=f"corpora to lint (default: all of {', '.join(PINS)})")
    parser.add_argument("--details", action="store_true", help="print every finding")
    parser.add_argument("--download-only", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write every result to FILE")
    args = parser.parse_args(argv)
    names = args.names or list(PINS)

    dirs = {name: fetch(name) for name in names}
    if args.download_only:
        return 0
    flags = _check_flags()
    print(f"reglint check flags: {' '.join(flags)}")
    results = []
    for name in names:
        res = lint_subprocess(name, dirs[name], flags)
        if res.internal_errors:
            print(f"[{name}] the CLI run failed; linting file by file to find the crash", file=sys.stderr)
            first = res.internal_errors[0]
            res = lint_in_process(name, dirs[name])
            res.internal_errors.insert(0, first)
        results.append(res)
        codes = ", ".join(f"{c}={n}" for c, n in sorted(res.by_code.items())) or "none"
        print(f"{name:18} files={res.files:5d}  parse_errors(RL000)={res.parse_errors:3d}  "
              f"internal_errors={len(res.internal_errors)}  time={res.seconds:6.1f}s  findings: {codes}")
        if args.details:
            for f in sorted(res.findings, key=lambda f: (f["path"], f.get("line") or 0, f["code"])):
                rel = os.path.relpath(f["path"], ROOT) if os.path.isabs(f["path"]) else f["path"]
                print(f"    {rel}:{f.get('line')} {f['code']} {f['message']}")
        for err in res.internal_errors:
            print(f"    INTERNAL ERROR: {err}")
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ | {"by_code": dict(r.by_code)} for r in results], indent=1))
    return 1 if any(r.internal_errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
