"""`reglint audit`: placeholder until the auditor lands (imports torch lazily)."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("target")
def audit(target: str) -> None:
    """Build the model in TARGET and measure its regularization (imports and runs TARGET)."""
    click.echo("reglint: error: audit is not implemented yet", err=True)
    sys.exit(2)
