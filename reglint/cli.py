"""The `reglint` command: check, audit, rule, rules, server."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn, Optional, TextIO

import click

from reglint import __version__
from reglint.engine.config import (
    ConfigError,
    ConfigResolver,
    Overrides,
    command_line_globs,
    split_codes,
)
from reglint.engine.discovery import DiscoveryError
from reglint.model import Finding, Severity
from reglint.report import FORMATS, STATISTICS_FORMATS, Report, Summary
from reglint.report.style import COLOR_CHOICES, Palette, use_color

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def exit_code(findings: list[Finding], fail_level: Severity, exit_zero: bool) -> int:
    if exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if any(f.severity >= fail_level for f in findings) else EXIT_OK


def _severity(_ctx: click.Context, _param: click.Parameter, value: Optional[str]) -> Optional[Severity]:
    if value is None:
        return None
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class _Main(click.Group):
    """The `reglint` group: an unexpected exception exits 2 (internal error) with its traceback,
    never 1, which means findings."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, KeyboardInterrupt, BrokenPipeError):
            raise  # click reports these itself (a closed pipe exits quietly)
        except Exception:
            import traceback

            click.echo(traceback.format_exc().rstrip(), err=True)
            click.echo("reglint: internal error (exit code 2): please report this with the command and file that caused it", err=True)
            sys.exit(EXIT_ERROR)


class _CheckCommand(click.Command):
    """`check`: a usage error (an unknown option, a bad value) is also reported in the formats that
    machines read (`--format github`, `--format sarif`, `--sarif-file`), as configuration errors are."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raw = list(args)  # click's parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            from reglint.report.failure import options_in, report_failure

            fmt = options_in(raw, "--format", "--output-format")
            output = options_in(raw, "-o", "--output-file")
            sarif = options_in(raw, "--sarif-file")
            if fmt in ("github", "sarif") or sarif is not None:
                report_failure(exc.format_message(), fmt, Path(output) if output else None, Path(sarif) if sarif else None)
            raise


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reglint")
def main() -> None:
    """Find regularization mistakes in PyTorch training code."""
    # libcst's tree walks recurse once per nesting level; deep but valid code needs headroom.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    # A stream that cannot encode a character (a cp1252 console or pipe on Windows,
    # PYTHONIOENCODING=cp1252) prints a replacement for it instead of crashing.
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):
            pass


@main.command(cls=_CheckCommand)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the default set).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable in addition.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--exclude", multiple=True, help="Glob patterns of paths to skip, replacing `exclude` (the defaults included).")
@click.option("--extend-exclude", multiple=True, help="Glob patterns of paths to skip, in addition to `exclude`.")
@click.option("--force-exclude/--no-force-exclude", default=None, help="Apply the excludes to files named on the command line too (as pre-commit names them).")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Skip files that .gitignore ignores [default: respect].")
@click.option("--format", "--output-format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format.")
@click.option("--output-file", "-o", type=click.Path(path_type=Path), help="Write the report here instead of stdout.")
@click.option("--sarif-file", type=click.Path(path_type=Path, dir_okay=False), help="Also write a SARIF report here, whatever --format says.")
@click.option("--statistics", is_flag=True, help="Show how many findings each rule produced instead of the findings (text or json).")
@click.option("--color", type=click.Choice(COLOR_CHOICES), default="auto", show_default=True, help="Colour the text report (auto: on a terminal, unless NO_COLOR; FORCE_COLOR forces it).")
@click.option("--quiet", "-q", is_flag=True, help="Print the findings and nothing else (no summary, no warnings).")
@click.option("--silent", "-s", is_flag=True, help="Print nothing; the exit code still tells findings (files asked for are still written).")
@click.option("--fail-level", callback=_severity, help="Lowest severity that makes the exit code 1 [default: warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--stdin-filename", help="The name to report for source read from '-' (stdin).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), help="Use this pyproject.toml instead of searching for one.")
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option("--no-show-source", is_flag=True, help="Text format: omit the code frame under each finding.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=None, help="Worker processes (default: one per core; 1: no workers).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False), help="Result cache directory [default: .reglint_cache at the config root, else the current directory].")
@click.option("--no-prefilter", is_flag=True, help="Parse every file, even those a text scan shows cannot produce a finding.")
@click.option("--fix", "apply_fix", is_flag=True, help="Apply the safe fixes in place (each file rewritten atomically), then report what remains.")
@click.option("--unsafe-fixes", is_flag=True, help="Also offer the fixes that change training behaviour on purpose: counted as available, applied with --fix or --diff.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff on stdout (the report goes to stderr) and write nothing.")
def check(
    paths: tuple[Path, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    force_exclude: Optional[bool],
    respect_gitignore: Optional[bool],
    fmt: str,
    output_file: Optional[Path],
    sarif_file: Optional[Path],
    statistics: bool,
    color: str,
    quiet: bool,
    silent: bool,
    fail_level: Optional[Severity],
    exit_zero: bool,
    stdin_filename: Optional[str],
    config_path: Optional[Path],
    isolated: bool,
    no_show_source: bool,
    jobs: Optional[int],
    no_cache: bool,
    cache_dir: Optional[Path],
    no_prefilter: bool,
    apply_fix: bool,
    unsafe_fixes: bool,
    show_diff: bool,
) -> None:
    """Lint PATHS (files or directories; '-' reads stdin) without importing or running them."""
    from reglint.engine.parallel import WorkerCrash
    from reglint.engine.session import check_paths, default_cache_dir
    from reglint.report.failure import report_failure

    def fail(message: str) -> NoReturn:
        report_failure(message, fmt, output_file, sarif_file)
        sys.exit(EXIT_ERROR)

    if statistics and fmt not in STATISTICS_FORMATS:
        fail(f"--statistics needs --format text or json, not {fmt}")
    if not paths:
        paths = (Path("."),)
    try:
        resolver = ConfigResolver(explicit=config_path, isolated=isolated)
        overrides = Overrides(
            select=split_codes(select) if select else None,
            ignore=split_codes(ignore),
            extend_select=split_codes(extend_select),
            exclude=command_line_globs(exclude) if exclude else None,
            extend_exclude=command_line_globs(extend_exclude),
            force_exclude=force_exclude,
            respect_gitignore=respect_gitignore,
            fail_level=fail_level,
        )
        fixing = apply_fix or show_diff
        stdin = None
        if fixing and any(str(p) == "-" for p in paths):
            # Fixed stdin goes back to stdout: read it here, fix it beside the files.
            stdin = (sys.stdin.buffer.read(), stdin_filename or "-", Path(stdin_filename) if stdin_filename else Path.cwd() / "-")
            paths = tuple(p for p in paths if str(p) != "-")
        run = check_paths(
            list(paths), overrides, resolver, stdin_filename=stdin_filename, jobs=jobs or None,
            cache_dir=None if no_cache else (cache_dir or default_cache_dir(resolver)), prefilter=not no_prefilter,
        )
    except (ConfigError, DiscoveryError, WorkerCrash) as exc:
        fail(str(exc))
    fixes = None
    if fixing:
        from reglint.engine.fixes import fix_check_run

        fixes = fix_check_run(run.results, overrides, resolver, unsafe=unsafe_fixes, write=not show_diff, stdin=stdin)
        run.results = fixes.results
    findings = run.findings
    summary = Summary(files_checked=len(run.results), fixed=fixes.fixed if fixes is not None and not show_diff else 0)
    notes = [note for result in run.results for note in getattr(result, "notes", ())]
    if notes:
        summary.extra["notes"] = [note.to_json() for note in notes]
    report_stream = sys.stdout
    if fixes is not None and (show_diff or fixes.stdin_output is not None):
        # stdout carries code (the diff, or the fixed stdin): the report goes to stderr.
        report_stream = sys.stderr
        if show_diff:
            summary.extra["would_fix"] = fixes.would_fix
            sys.stdout.write(fixes.diff)
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(fixes.stdin_output or b"")
        sys.stdout.flush()
    if not run.results and not (quiet or silent):
        warn("No Python files found under the given paths")
    report = Report(fmt, statistics=statistics, quiet=quiet, color=color, unsafe_fixes=unsafe_fixes,
                    sources=run.sources, show_frames=not no_show_source)
    if output_file is not None:
        report.write_file(findings, summary, output_file)
    elif not silent:
        try:
            report.write(findings, summary, report_stream)
            report_stream.flush()
        except BrokenPipeError:
            _reader_went_away(report_stream)
    if sarif_file is not None and not (fmt == "sarif" and output_file == sarif_file):
        Report("sarif").write_file(findings, summary, sarif_file)
    if fixes is not None:
        if show_diff and fmt == "text" and fixes.would_fix and not (quiet or silent):
            click.echo(f"Would fix {fixes.would_fix} finding{'s' if fixes.would_fix != 1 else ''} (--diff: nothing written).", err=True)
        for message in fixes.messages:
            click.echo(message, err=True)
    for note in notes:
        click.echo(f"reglint: note: {note}", err=True)
    internal = [r for r in run.results if getattr(r, "internal_error", None)]
    for result in internal:
        click.echo(f"reglint: internal error on {result.path}: {result.internal_error}", err=True)
    if internal:
        click.echo("reglint: please report this with the file that caused it", err=True)
        sys.exit(EXIT_ERROR)
    if fixes is not None and fixes.failed:
        sys.exit(EXIT_ERROR)  # a fixed file could not be written (it is untouched)
    sys.exit(exit_code(findings, run.fail_level, exit_zero))


def _reader_went_away(stream: TextIO) -> None:
    """The reader of `stream` closed it (`reglint check . | head`): write nothing more to it, and
    let the exit code still say what was found."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError):
        pass


def warn(message: str) -> None:
    """`reglint: warning: message` on stderr (coloured as the stream allows)."""
    palette = Palette(use_color(sys.stderr))
    click.echo(f"reglint: {palette.severity(Severity.WARNING, 'warning')}: {message}", err=True)


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print the documentation page of a rule (by code or name)."""
    from reglint.registry import all_rules
    from reglint.rulepages import find_page

    rules = all_rules()
    wanted = code.upper()
    if wanted not in rules:
        by_name = [c for c, info in rules.items() if info.name == code.lower()]
        if not by_name:
            click.echo(f"reglint: error: unknown rule {code!r} (see `reglint rules`)", err=True)
            sys.exit(EXIT_ERROR)
        wanted = by_name[0]
    page = find_page(wanted)
    if page is None:
        click.echo(f"reglint: error: no documentation page for {wanted}", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(page.read_text(encoding="utf-8"), nl=False)


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_command(fmt: str) -> None:
    """List every rule code with its name, severity and whether it has a fix."""
    import json

    from reglint.registry import all_rules

    rules = all_rules()
    if fmt == "json":
        data = [
            {"code": i.code, "name": i.name, "severity": str(i.severity), "origin": i.origin,
             "fix": i.fix.value if i.fix else None, "default_enabled": i.default_enabled, "summary": i.summary}
            for i in rules.values()
        ]
        click.echo(json.dumps(data, indent=2))
        return
    for info in rules.values():
        fix = f" [fix: {info.fix.value}]" if info.fix else ""
        scope = {"audit": " (audit only)", "engine": ""}.get(info.origin, "")
        off = " (off by default)" if not info.default_enabled else ""
        click.echo(f"{info.code}  {info.name:<30} {str(info.severity):<8} {info.summary}{fix}{scope}{off}")


@main.command("server")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), help="Use this pyproject.toml for every document instead of searching for one.")
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option("--debounce", type=click.FloatRange(min=0), default=0.05, show_default=True, help="Seconds without a change before a changed document is linted again.")
def server_command(config_path: Optional[Path], isolated: bool, debounce: float) -> None:
    """Run the language server on stdin/stdout, for editors (needs the `lsp` extra).

    Diagnostics on open, change and save, code actions for fixes and suppression comments, the
    rule's page on hover. Setup for VS Code, Neovim and Helix: docs/editors.md.
    """
    try:
        from reglint.lsp.server import serve
    except ImportError as exc:
        click.echo(f"reglint: error: `reglint server` needs the lsp extra (pip install 'reglint[lsp]'): {exc}", err=True)
        sys.exit(EXIT_ERROR)
    serve(config=config_path, isolated=isolated, debounce=debounce)


def _register_audit() -> None:
    from reglint.audit.command import audit

    main.add_command(audit)


_register_audit()
