"""`reglint audit TARGET`: the command line of the runtime auditor.

This module imports click only: torch and the audit's modules are imported when the command runs,
so `reglint --help` and `reglint check` work without torch installed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import click

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
INSTALL_HINT = "pip install 'reglint[audit]'"
FORMAT_CHOICES = ("text", "json", "sarif", "github")


def _print_error(message: str, details: Optional[str] = None) -> None:
    if details:
        click.echo(details, err=True)
    click.echo(f"reglint: error: {message}", err=True)


def _fail(message: str, details: Optional[str] = None) -> None:
    _print_error(message, details)
    sys.exit(EXIT_ERROR)


def _formats() -> tuple[str, ...]:
    try:
        from reglint.report import FORMATS

        return tuple(FORMATS)
    except Exception:  # pragma: no cover - the report package is part of the core
        return FORMAT_CHOICES


@dataclass(frozen=True)
class Request:
    """What `reglint audit` was asked to do, as given on the command line."""

    target: str
    model: Optional[str]
    penalty: Optional[str]
    optimizer: Optional[str]
    optimizer_args: Optional[str]
    device: str
    expect: Optional[str]
    timeout: Optional[float]
    script_args: tuple[str, ...]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("target")
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- SCRIPT_ARGS...]")
@click.option("--model", "model_name", metavar="NAME", help="The model: an nn.Module, a class or a zero-argument function in TARGET.")
@click.option("--penalty", "penalty_name", metavar="NAME", help="The penalty: a function of the model in TARGET, or a method of the model; 'none' to skip.")
@click.option("--optimizer", "optimizer_name", metavar="NAME", help="The optimizer: an instance, a function of the model, or a method of the model; 'none' to skip.")
@click.option("--optimizer-args", metavar="ARGS",
              help="Arguments for an optimizer factory that takes more than the model, e.g. "
                   "'weight_decay=0.1,learning_rate=6e-4,betas=(0.9,0.95)' (found in the file by name otherwise).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"], case_sensitive=False), default="cpu", show_default=True,
              help="Where to run the measurements; cuda also compares with the CPU (and needs a GPU). The default "
                   "cpu run already checks the penalty's device rules on PyTorch's meta device (RL304, simulated).")
@click.option("--expect", metavar="SPEC", help="The penalty you mean, e.g. 'l2=1e-4' (gradient 1e-4·w, i.e. 1e-4/2·Σw²), 'l1=1e-5', both, or 'none'.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds one call of the penalty or of the optimizer may take (0: no limit).")
@click.option("--format", "fmt", type=click.Choice(_formats()), default="text", show_default=True)
@click.option("--output-file", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here instead of stdout.")
@click.option("--fail-level", type=click.Choice(["info", "warning", "error"], case_sensitive=False), default=None,
              help="Lowest severity that makes the exit code 1 [default: warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--nproc", type=click.IntRange(min=1), metavar="N",
              help="Run the audit under torchrun with N processes on this machine and compare each parameter's "
                   "decay and penalty gradient under the file's DDP/FSDP wrapping with one process (RL306).")
def audit(target: str, script_args: tuple[str, ...], model_name: Optional[str], penalty_name: Optional[str],
          optimizer_name: Optional[str], optimizer_args: Optional[str], device: str, expect: Optional[str],
          timeout: float, fmt: str, output_file: Optional[Path], fail_level: Optional[str], exit_zero: bool,
          nproc: Optional[int]) -> None:
    """Build the model in TARGET and measure how each parameter is regularized.

    TARGET is a Python file (model.py), FILE:NAME, or MODULE:NAME. reglint IMPORTS AND RUNS
    TARGET's top-level code (as pytest does), with the arguments after `--` as its command line
    (reglint audit train.py -- --lr 0.1), then finds by name the model (`model`,
    `build_model()`, `make_model()` or a LightningModule class), the penalty (`penalty(model)`,
    `regularization(model)`, or the model's own method) and the optimizer (`optimizer`,
    `build_optimizer(model)`, `make_optimizer(model)` or `configure_optimizers()`).

    On copies of them, it fits each parameter's penalty gradient to L2 (a·w), L1, elastic net,
    unsquared norm (a·w/‖w‖) or none, checks the gradient against finite differences, at w = 0,
    in the model's dtype and on the device, and steps the optimizer with a zero data gradient to
    measure coupled or decoupled decay per parameter. Exit codes: 0 clean, 1 findings at or above
    the fail level, 2 usage or input error. Needs torch (pip install 'reglint[audit]').

    Under torchrun (torchrun --nproc-per-node N -m reglint audit FILE), or with --nproc N, every
    rank builds the set-up with the file's DDP/FSDP wrapping (wrap(model), or a build_model() that
    wraps when a process group exists) and each parameter's decay and penalty gradient, after the
    wrapper's gradient reduction, is compared with the same set-up in one process (RL306). Only
    rank 0 prints.
    """
    try:
        import warnings

        with warnings.catch_warnings():
            # torch warns at import when NumPy is absent; the audit never needs NumPy.
            warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
            import torch  # noqa: F401
    except ImportError:
        _fail(f"reglint audit needs torch, which is not installed: {INSTALL_HINT}")
    from reglint.audit.errors import AuditError
    from reglint.model import Severity

    level = Severity.parse(fail_level) if fail_level else Severity.WARNING
    request = Request(target, model_name, penalty_name, optimizer_name, optimizer_args, device, expect,
                      timeout or None, tuple(script_args))
    from reglint.audit.distributed.worker import launched_as_rank

    if nproc is not None:
        if launched_as_rank():
            _fail("--nproc starts torchrun itself: give it to a plain `reglint audit`, not under torchrun")
        _launch(request, nproc, fmt, output_file, fail_level, exit_zero)
    if launched_as_rank():
        _run_rank(request, fmt, output_file, level, exit_zero)
    try:
        report = _run(request)
        _emit(report, fmt, output_file)
    except AuditError as exc:
        _fail(exc.message, exc.details)
        return
    except Exception as exc:  # a bug in reglint (or an odd model): exit 2, never 1
        import traceback

        _fail(f"internal error while auditing {target}: {type(exc).__name__}: {exc} "
              "(please report this with the file that caused it)", traceback.format_exc().rstrip())
        return
    if exit_zero:
        sys.exit(EXIT_OK)
    sys.exit(EXIT_FINDINGS if any(f.severity >= level for f in report.findings) else EXIT_OK)


def _forwarded_args(request: Request, fmt: str, output_file: Optional[Path], fail_level: Optional[str],
                    exit_zero: bool) -> list[str]:
    """The options of this command line, for `reglint audit` on each rank (--nproc)."""
    args = [request.target, "--device", request.device, "--timeout", str(request.timeout or 0), "--format", fmt]
    for option, value in (("--model", request.model), ("--penalty", request.penalty),
                          ("--optimizer", request.optimizer), ("--optimizer-args", request.optimizer_args),
                          ("--expect", request.expect), ("--output-file", output_file), ("--fail-level", fail_level)):
        if value is not None:
            args += [option, str(value)]
    if exit_zero:
        args.append("--exit-zero")
    if request.script_args:
        args += ["--", *request.script_args]
    return args


def _launch(request: Request, nproc: int, fmt: str, output_file: Optional[Path], fail_level: Optional[str],
            exit_zero: bool) -> None:
    from reglint.audit.distributed.launch import launch

    code, error = launch(nproc, _forwarded_args(request, fmt, output_file, fail_level, exit_zero), request.timeout)
    if error:
        _fail(error)
    sys.exit(code)


def _run_rank(request: Request, fmt: str, output_file: Optional[Path], level, exit_zero: bool) -> None:  # type: ignore[no-untyped-def]
    """This process is a rank of torchrun: the distributed audit (never returns)."""
    from reglint.audit.distributed.build import AuditRequest
    from reglint.audit.distributed.worker import run_rank
    from reglint.audit.errors import AuditError
    from reglint.audit.runner import resolve_device

    try:
        device = resolve_device(request.device)
    except AuditError as exc:
        _fail(exc.message, exc.details)
        return

    def emit(report) -> int:  # type: ignore[no-untyped-def]
        if request.expect is not None:
            report.notes.append("--expect is not used under torchrun: RL306 compares with the same set-up in one "
                                "process (run `reglint audit` without torchrun for RL301 and RL305)")
        _emit(report, fmt, output_file)
        if exit_zero:
            return EXIT_OK
        return EXIT_FINDINGS if any(f.severity >= level for f in report.findings) else EXIT_OK

    run_rank(AuditRequest(request.target, request.model, request.penalty, request.optimizer, request.optimizer_args,
                          request.script_args, request.timeout), device=device, emit=emit, fail=_print_error)


def _run(request: Request):  # type: ignore[no-untyped-def]
    from reglint.audit.discovery import discover
    from reglint.audit.errors import AuditError
    from reglint.audit.factory_args import parse_optimizer_args
    from reglint.audit.runner import resolve_device, run_audit
    from reglint.audit.target import load, parse_target

    parsed = parse_target(request.target)
    if request.model is not None and parsed.attr is not None and request.model != parsed.attr:
        raise AuditError(f"the model is named twice: TARGET's :{parsed.attr} and --model {request.model}")
    audit_device = resolve_device(request.device)
    optimizer_args = parse_optimizer_args(request.optimizer_args)
    module = load(parsed, request.script_args)
    setup = discover(module, model=request.model or parsed.attr, penalty=request.penalty,
                     optimizer=request.optimizer, optimizer_args=optimizer_args,
                     device_type=audit_device.split(":")[0])
    if setup.penalty is None and setup.optimizer is None:
        raise AuditError(
            f"found the model ({setup.model_label}) but no penalty and no optimizer, so there is nothing to "
            "measure: define penalty(model) or regularization(model), and optimizer or build_optimizer(model) "
            "(or name them with --penalty / --optimizer)"
        )
    return run_audit(
        setup.model,
        setup.penalty,
        setup.optimizer,
        device=audit_device,
        expect=request.expect if request.expect is not None else setup.expect,
        expect_source="--expect" if request.expect is not None else "REGLINT_EXPECT in the file",
        timeout=request.timeout,
        target=request.target,
        model_label=setup.model_label,
        penalty_label=setup.penalty_label or "penalty(model)",
        notes=setup.notes,
    )


def _emit(report, fmt: str, output_file: Optional[Path]) -> None:  # type: ignore[no-untyped-def]
    if output_file is None:
        _render(report, fmt, sys.stdout)
        return
    with open(output_file, "w", encoding="utf-8") as handle:
        _render(report, fmt, handle)


def _render(report, fmt: str, out) -> None:  # type: ignore[no-untyped-def]
    from reglint.audit.grouped_formats import render_github, render_sarif
    from reglint.audit.text_report import render_text
    from reglint.report import Summary, render

    if fmt == "text":
        render_text(report.header, report.rows, report.verdicts, report.names, out)
        return
    summary = Summary(files_checked=1, extra={"audit": report.to_json()})
    target_file = report.header.target.split(":", 1)[0]
    # code scanning shows only results with a file location
    artifact = target_file if target_file.endswith(".py") and Path(target_file).is_file() else None
    try:
        if fmt == "github":
            render_github(report.verdicts, report.names, summary, out)
        elif fmt == "sarif":
            render_sarif(report.verdicts, report.names, out, artifact)
        else:
            render(fmt, report.findings, summary, out)
    except ImportError:
        _fail(f"the {fmt} format is not available in this version of reglint")
