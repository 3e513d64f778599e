"""Reporting a run that stopped on an error (usage, configuration, internal) in the report formats
that machines read, so that CI still gets what it expects:

- `--format github`: an `::error title=reglint::<message>` annotation carrying reglint's message;
- `--format sarif` and `--sarif-file`: a valid SARIF log with no results and the invocation marked
  failed (`executionSuccessful: false`), so an upload step that follows does not fail on a
  missing or empty file.

The message also goes to stderr, as `reglint: error: <message>`, whatever the format.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Optional, Sequence, TextIO

import click


def report_failure(
    message: str,
    fmt: Optional[str],
    output_file: Optional[Path],
    sarif_file: Optional[Path],
    exit_code: int = 2,
) -> None:
    """Print `reglint: error: message` to stderr and write the machine-readable forms asked for."""
    from reglint.report.github_format import error_command
    from reglint.report.sarif_format import write_failure

    click.echo(f"reglint: error: {message}", err=True)
    if fmt == "github":
        _write(output_file, lambda out: out.write(error_command(message) + "\n"))
    elif fmt == "sarif":
        _write(output_file, lambda out: write_failure(message, out, exit_code=exit_code))
    if sarif_file is not None and not (fmt == "sarif" and output_file == sarif_file):
        _write(sarif_file, lambda out: write_failure(message, out, exit_code=exit_code))


def _write(path: Optional[Path], write: Callable[[TextIO], object]) -> None:
    if path is None:
        write(sys.stdout)
        sys.stdout.flush()
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            write(handle)
    except OSError as exc:
        click.echo(f"reglint: error: cannot write {path}: {exc.strerror or exc}", err=True)


def options_in(args: Sequence[str], *names: str) -> Optional[str]:
    """The value of the last of the options `names` in raw command-line `args` (`--name value` or
    `--name=value`), read without click: for reporting a usage error click raised before parsing."""
    value: Optional[str] = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        for name in names:
            if arg == name and index + 1 < len(args):
                value = args[index + 1]
            elif arg.startswith(name + "=") and name.startswith("--"):
                value = arg[len(name) + 1 :]
    return value
