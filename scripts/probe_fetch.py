#!/usr/bin/env python3
"""Rebuild the PyPI part of the probe corpus outside the repo, and report on the rest.

    python scripts/probe_fetch.py                  # fetch what is missing into /work/probes
    python scripts/probe_fetch.py --corpus DIR     # elsewhere
    python scripts/probe_fetch.py --check          # only say what is missing

scripts/probes/manifest.json pins every distribution the labels use (name, version, sdist or wheel,
and the folder `root` it unpacks to: `pkgs/<name>-<version>`), and lists every GitHub file with its
repository, path and commit where the index gave them, else the id of the stored copy (the search
tool's `read_file id=...` returns it). No third-party code is kept in this repo: PyPI sources are
downloaded with `pip download --no-deps` and unpacked here; GitHub files must be fetched again with
the search tool (this script only lists the missing ones), since the machines reach PyPI only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "scripts" / "probes" / "manifest.json"


def download(dist: dict, dl_dir: Path) -> Path:
    spec = f"{dist['name']}=={dist['version']}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dl_dir), spec]
    if dist["kind"] == "sdist":
        cmd[5:5] = ["--no-binary", ":all:"]
    else:
        cmd[5:5] = ["--only-binary", ":all:", *dist.get("pip_args", [])]
    subprocess.run(cmd, check=True)
    wanted = dist["file"]
    path = dl_dir / wanted
    if not path.is_file():
        raise SystemExit(f"pip did not produce {wanted} for {spec}")
    return path


def unpack(archive: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".whl") or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
        return
    with tarfile.open(archive) as tf:
        for member in tf.getmembers():
            parts = Path(member.name).parts[1:]  # strip the top folder, as tar --strip-components=1
            if not parts or member.issym() or member.islnk():
                continue
            member.name = str(Path(*parts))
            tf.extract(member, dest, filter="data")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=Path("/work/probes"))
    ap.add_argument("--check", action="store_true", help="only report what is missing")
    args = ap.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    missing_snippets = [s for s in manifest["snippets"] if not (args.corpus / s["file"]).is_file()]
    missing_dists = [d for d in manifest["pypi"] if not (args.corpus / d["root"]).is_dir()]
    for dist in missing_dists:
        print(f"missing {dist['root']}" + ("" if args.check else ": downloading"))
        if not args.check:
            archive = download(dist, args.corpus / "dl")
            unpack(archive, args.corpus / dist["root"])
    for snip in missing_snippets:
        src = snip["source"]
        where = (
            f"{src['repo']}:{src['path']}" if "repo" in src else f"read_file id={src['index_id']}"
        )
        print(f"missing snippet {snip['file']} (fetch with the search tool: {where})")
    print(
        f"{len(manifest['pypi'])} distributions, {len(manifest['snippets'])} snippets; "
        f"{len(missing_dists)} distributions and {len(missing_snippets)} snippets were missing"
    )
    return 1 if (args.check and (missing_dists or missing_snippets)) else 0


if __name__ == "__main__":
    sys.exit(main())
