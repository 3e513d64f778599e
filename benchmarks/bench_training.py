"""How fast is `reglint check` on training code, where little can be ruled out on the text?

Two trees, each timed cold (`--no-cache`) against ruff's default rules in the same run, the two
tools interleaved repetition by repetition (bench_check.timed_interleaved):

- `packages`: the sources of pinned PyPI packages full of training code (recommenders, knowledge
  graphs, GNNs, metric learning, self-supervised learning, continual learning, YOLO, tabular,
  books of tutorials), downloaded once into the git-ignored `.bench/training/` (wheels where PyPI
  has one, else the sdist);
- `scripts`: the repository's own fixtures (`fixtures/`, without the audit models): a few
  hundred tutorial-style training scripts and small projects, one training setup per file, written
  for the tests.

    python benchmarks/bench_training.py                 # both trees, 5 repetitions
    python benchmarks/bench_training.py --reps 3 --tree scripts

It prints, per tree, the median wall time of each tool, the ratio of the medians and the median
of the run-by-run ratios with its range, and reglint's own statistics (files analyzed, ruled
out). Findings are not compared here (bench_check.py's identity check does that).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import BENCH, ROOT, Sample, reglint, ruff_command, timed_interleaved  # noqa: E402

PACKAGES = {  # name -> pinned version (the list)
    "recbole": "1.2.1",
    "deepctr-torch": "0.3.0",
    "fuxictr": "2.3.10",
    "d2l": "1.0.3",
    "pykeen": "1.11.1",
    "torch-rechub": "0.9.0",
    "libauc": "2.0.1",
    "pygod": "1.1.0",
    "skorch": "1.4.0",
    "pytorch-tabnet": "4.1.0",
    "ultralytics": "8.4.190",
    "avalanche-lib": "0.6.0",
    "pytorch-metric-learning": "2.9.0",
    "lightly": "1.6.0",
    "torch-geometric": "2.8.1",
}


def fetch(name: str, version: str) -> Optional[Path]:
    """The package's unpacked sources under .bench/training/NAME-VERSION (None: not on PyPI here)."""
    folder = BENCH / "training" / f"{name}-{version}"
    if folder.is_dir() and any(folder.iterdir()):
        return folder
    downloads = BENCH / "training-dl"
    downloads.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_").lower()
    found = [p for p in downloads.iterdir() if p.name.lower().startswith(f"{stem}-{version}")]
    if not found:
        print(f"downloading {name}=={version} ...", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"{name}=={version}", "-d", str(downloads)],
            capture_output=True,
        )
        if done.returncode != 0:
            print(f"  {name}=={version}: not available ({done.stderr.decode(errors='replace').strip().splitlines()[-1:]})", file=sys.stderr)
            return None
        found = [p for p in downloads.iterdir() if p.name.lower().startswith(f"{stem}-{version}")]
    if not found:
        return None
    archive = sorted(found, key=lambda p: not p.name.endswith(".whl"))[0]
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(tmp)
    else:
        with tarfile.open(archive) as opened:
            opened.extractall(tmp, filter="data")
    tmp.rename(folder)
    return folder


def packages_tree() -> Path:
    tree = BENCH / "training"
    for name, version in PACKAGES.items():
        fetch(name, version)
    time.sleep(2.5)  # files written just now are "racy" for the cache (parallel.RACY_SECONDS)
    return tree


def scripts_tree() -> Path:
    """The fixtures, less the audit models (linked into one tree so both tools see the same files)."""
    tree = BENCH / "training-scripts"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(ROOT / "fixtures", tree, ignore=shutil.ignore_patterns("audit", "*.ipynb", "__pycache__"))
    return tree


def stats(tree: Path) -> str:
    done = subprocess.run(reglint("--no-cache", str(tree)), capture_output=True, text=True, env={**_env(), "REGLINT_STATS": "1"})
    lines = [line for line in done.stderr.splitlines() if "reglint stats" in line]
    return lines[-1] if lines else "?"


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _median(samples: list[Sample]) -> float:
    return statistics.median(s.wall for s in samples)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tree", choices=("packages", "scripts", "both"), default="both")
    args = parser.parse_args(argv)
    trees: dict[str, Path] = {}
    if args.tree in ("packages", "both"):
        trees["packages"] = packages_tree()
    if args.tree in ("scripts", "both"):
        trees["scripts"] = scripts_tree()
    for label, tree in trees.items():
        files = sum(1 for _ in tree.rglob("*.py"))
        print(f"\n{label}: {tree} ({files} files)", file=sys.stderr)
        results: dict[str, list[Sample]] = {}
        timed_interleaved({"ruff": ruff_command() + ["check", "--isolated", "--no-cache", "--exit-zero", str(tree)],
                           "reglint cold": reglint("--no-cache", str(tree))}, args.reps, results)
        ratios = [r.wall / f.wall for f, r in zip(results["ruff"], results["reglint cold"]) if f.wall > 0]
        print(
            f"  cold / ruff: {_median(results['reglint cold']) / _median(results['ruff']):.2f}x (medians); "
            f"run by run {statistics.median(ratios):.2f}x ({min(ratios):.2f}x-{max(ratios):.2f}x)",
            file=sys.stderr,
        )
        print(f"  {stats(tree)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
