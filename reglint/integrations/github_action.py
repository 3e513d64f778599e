"""The run step of the GitHub Action (action.yml): `python -m reglint.integrations.github_action`.

One `reglint check` run writes both the annotations (`--format github`, on stdout, which the
runner turns into annotations on the diff) and the SARIF report (`--sarif-file`). The inputs
arrive in environment variables, never pasted into a script:

- `REGLINT_PATHS`, `REGLINT_ARGS`: split as a POSIX shell splits words (quotes and backslashes
  honoured; nothing is expanded or run), so `args: --extend-exclude "my dir"` is two arguments;
- `REGLINT_SARIF`: where the SARIF report goes (default `reglint.sarif`);
- `REGLINT_FAIL`: `false` keeps the step green when the only problem is findings;
- `REGLINT_CACHE`: `true` puts the result cache in `$GITHUB_WORKSPACE/.reglint_cache`, the one
  directory the action keeps between runs with actions/cache, wherever the configuration root is
  (`--cache-dir` or `--no-cache` among the args win); `false` leaves reglint's default.

A usage or configuration error still leaves a valid SARIF file (no results, the invocation marked
failed), so the documented upload step does not fail too, and an `::error` annotation that
carries reglint's own message; the step then fails with exit code 2 whatever `REGLINT_FAIL` says.

Outputs (appended to `$GITHUB_OUTPUT`): `sarif-file`, `findings` (the number of results in the
SARIF report), `exit-code` (reglint's: 0 clean, 1 findings, 2 error).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Optional

from reglint.report.failure import report_failure


def split_words(value: str) -> list[str]:
    """`value` split into words as a POSIX shell does; ValueError on an unclosed quote."""
    return shlex.split(value, posix=True)


def count_results(sarif: Path) -> Optional[int]:
    """The number of results in a SARIF file; None when it is missing or not SARIF."""
    try:
        log = json.loads(sarif.read_text(encoding="utf-8"))
        return sum(len(run.get("results", [])) for run in log["runs"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


CACHE_DIRECTORY = ".reglint_cache"  # in the workspace: action.yml's actions/cache step keeps it


def cache_arguments(args: list[str], env: Mapping[str, str]) -> list[str]:
    """`--cache-dir DIR` for the directory the action keeps between runs, unless the cache input
    is off or the user's arguments choose a cache directory or turn the cache off."""
    if env.get("REGLINT_CACHE", "true").strip().lower() == "false":
        return []
    if any(arg in ("--no-cache", "--cache-dir") or arg.startswith("--cache-dir=") for arg in args):
        return []
    workspace = Path(env.get("GITHUB_WORKSPACE") or ".")
    return ["--cache-dir", str(workspace / CACHE_DIRECTORY)]


def set_output(name: str, value: object, env: Mapping[str, str]) -> None:
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{name}={value}\n")


def main(env: Mapping[str, str] = os.environ) -> int:
    sarif = Path(env.get("REGLINT_SARIF") or "reglint.sarif")
    set_output("sarif-file", sarif.as_posix(), env)
    words: dict[str, list[str]] = {}
    for name in ("paths", "args"):
        value = env.get(f"REGLINT_{name.upper()}", "")
        try:
            words[name] = split_words(value)
        except ValueError as exc:
            report_failure(f"the action's `{name}` input cannot be split into words ({exc}): {value}", "github", None, sarif)
            set_output("findings", 0, env)
            set_output("exit-code", 2, env)
            return 2
    # Ours come after the user's arguments, so a `--format` among them cannot take the annotations.
    command = [sys.executable, "-m", "reglint", "check", *words["args"], "--format", "github",
               "--sarif-file", str(sarif), *cache_arguments(words["args"], env), "--", *words["paths"]]
    try:
        sarif.unlink()  # a report left by an earlier run must not pass for this run's
    except OSError:
        pass
    sys.stdout.flush()
    status = subprocess.call(command)
    findings = count_results(sarif)
    if findings is None:
        # reglint stopped before writing the report (it crashed): still leave a file to upload.
        report_failure(f"reglint check exited with code {status} without a report; see the step's log", "github", None, sarif)
        findings = 0
        status = status if status not in (0, 1) else 2
    set_output("findings", findings, env)
    set_output("exit-code", status, env)
    print(f"reglint: {findings} finding{'s' if findings != 1 else ''}; SARIF report in {sarif.as_posix()}")
    if status == 1 and env.get("REGLINT_FAIL", "true").strip().lower() == "false":
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
