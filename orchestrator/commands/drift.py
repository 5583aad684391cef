"""orchestrate drift: compare stored state with the live clouds; report; exit 0 clean, 2 drift, 1 error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from orchestrator.app import get_app, json_flag_or
from orchestrator.commands._select import (
    Selection,
    by_reconcile,
    reconcile_option,
    select_stacks,
    selection_options,
)
from orchestrator.fileio import write_output_file

if TYPE_CHECKING:
    from orchestrator.drift.model import DriftReport, Mode
    from orchestrator.drift.scan import ScanOptions
    from orchestrator.drift_pr.run import DriftPrRun, DriftPullRequests
    from orchestrator.redact import Redactor
    from orchestrator.workspace import Workspace


@click.command("drift")
@click.argument("stacks", nargs=-1)
@click.option(
    "--mode",
    type=click.Choice(["api", "refresh", "both"]),
    default=None,
    help="api: cloud SDKs; refresh: terraform plan -refresh-only; both: merged [drift.mode, else api].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default=None,
    help="Report format [table].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to FILE (atomically).",
)
@click.option(
    "--strict", is_flag=True, help="Also report resources the cloud created itself (default VPC, ...)."
)
@click.option(
    "--open-pr",
    "open_pr",
    is_flag=True,
    help="Keep one pull request per drifted stack with its remediation plan (drift.open_prs).",
)
@reconcile_option
@selection_options
def command(
    stacks: tuple[str, ...],
    mode: str | None,
    fmt: str | None,
    out: Path | None,
    strict: bool,
    open_pr: bool,
    reconcile: str | None,
    selection: Selection,
) -> int:
    """Scan for drift between the stacks' state and the live clouds."""
    from orchestrator.drift.scan import ScanOptions
    from orchestrator.redact import Redactor
    from orchestrator.ui import warn

    app = get_app()
    ws = app.workspace()
    sel = select_stacks(ws, selection.naming(stacks).for_terraform())
    redactor = Redactor(ws.config.redact)
    ids = _scanned(ws, by_reconcile(ws, sel.ids, reconcile), app.no_color)
    prs = _pull_requests(ws, open_pr, app.no_color)
    options = ScanOptions(
        mode=_mode(mode) or ws.config.drift.mode,
        strict=strict,
        refresh_workers=ws.config.terraform.effective_parallelism,
    )
    report, secrets = _scan(ws, ids, options, redactor, app.no_color)
    redactor.add_secrets(secrets)
    shown = report.redacted(redactor.data)
    pr_run = None
    try:
        if prs is not None:
            from orchestrator.drift_pr.run import write_github_output

            pr_run = prs.run(
                shown, redactor, full_scan=set(sel.ids) == set(ws.stacks) and reconcile != "auto"
            )
            write_github_output(pr_run)
            for w in pr_run.warnings:
                warn(w, no_color=app.no_color)
    finally:
        # After the pull requests: a stack put back automatically is on record as reconciled.
        _record(ws.root, report, pr_run.reconciled if pr_run is not None else [], app.no_color)
    _report(shown, pr_run, fmt, out, app.no_color)
    return pr_run.exit_code(report.exit_code) if pr_run is not None else report.exit_code


def _mode(value: str | None) -> Mode | None:
    """--mode as the scan's mode (click already limits it to these)."""
    if value in ("api", "refresh", "both"):
        return cast("Mode", value)
    return None


def _scanned(ws: Workspace, ids: list[str], no_color: bool) -> list[str]:
    """The selected stacks without those taken out of drift scans (drift.enabled: false in
    stack.yaml; their state still counts: what they manage is not reported unmanaged)."""
    from orchestrator.ui import info

    disabled = [sid for sid in ids if not ws.stacks[sid].config.drift.enabled]
    if disabled:
        info(f"not scanned (drift.enabled: false): {', '.join(disabled)}", no_color=no_color)
    return [sid for sid in ids if sid not in disabled]


def _pull_requests(ws: Workspace, open_pr: bool, no_color: bool) -> DriftPullRequests | None:
    """With --open-pr and drift.open_prs: the drift pull requests, set up before scanning so a
    missing GitHub token or git remote fails first."""
    from orchestrator.ui import info, warn

    if not open_pr:
        return None
    if not ws.config.drift.open_prs:
        warn("--open-pr: drift.open_prs is false in orchestrate.yaml; no pull requests", no_color=no_color)
        return None
    from orchestrator.drift_pr.run import DriftPullRequests

    return DriftPullRequests.prepare(ws, progress=lambda m: info(m, no_color=no_color), no_color=no_color)


def _scan(
    ws: Workspace, ids: list[str], options: ScanOptions, redactor: Redactor, no_color: bool
) -> tuple[DriftReport, set[str]]:
    """The scan, with progress shown redacted; an interrupt stops a running terraform cleanly
    (it releases its state lock)."""
    from orchestrator.drift.io import default_io
    from orchestrator.drift.scan import scan
    from orchestrator.terraform.runner import CancelToken, install_signal_forwarding
    from orchestrator.ui import info

    def progress(message: str) -> None:
        info(redactor.text(message), no_color=no_color)

    cancel = CancelToken()
    io = default_io(ws, progress=progress, cancel=cancel)
    restore = install_signal_forwarding(cancel)
    try:
        return scan(ws, ids, options, io)
    finally:
        restore()


def _report(
    shown: DriftReport, pr_run: DriftPrRun | None, fmt: str | None, out: Path | None, no_color: bool
) -> None:
    """The report to --out (a file: plain) or stdout, with the pull requests' table; the job
    summary when pull requests ran."""
    from orchestrator.render.drift import render, summary_line
    from orchestrator.render.drift_pr import pull_requests_markdown, pull_requests_table
    from orchestrator.render.terminal import PLAIN
    from orchestrator.ui import emit, info, stdout_terminal

    term = stdout_terminal(no_color) if out is None else PLAIN
    fmt_used = json_flag_or(fmt, "table")
    text = render(shown, fmt_used, term, pull_requests=pr_run.to_json() if pr_run is not None else None)
    if pr_run is not None and fmt_used == "markdown":
        text += "\n" + pull_requests_markdown(pr_run.outcomes)
    elif pr_run is not None and fmt_used == "table":
        text += pull_requests_table(pr_run.outcomes, term)
    if pr_run is not None:
        _job_summary(render(shown, "markdown") + "\n" + pull_requests_markdown(pr_run.outcomes), no_color)
    if out is not None:
        write_output_file(out.resolve(), text, what="the report", hint="Choose a writable --out path.")
        info(f"{summary_line(shown.to_dict())}; report written to {out}", no_color=no_color)
    else:
        emit(text)


def _record(root: Path, report: DriftReport, reconciled: list[str], no_color: bool) -> None:
    """The scan's result per stack into refs/notes/orchestrate-drift, for `orchestrate status`."""
    from orchestrator.controller.driftlog import record_scan
    from orchestrator.git import Repo
    from orchestrator.ui import warn

    results = [(s.stack, "reconciled" if s.stack in reconciled else s.status) for s in report.stacks]
    for w in record_scan(Repo.find(root), results):
        warn(w, no_color=no_color)


def _job_summary(text: str, no_color: bool) -> None:
    """In GitHub Actions, the report and what became of each drifted stack on the job's page."""
    from orchestrator.errors import OrchestratorError
    from orchestrator.pr.publish import write_step_summary
    from orchestrator.ui import warn

    try:
        write_step_summary(text)
    except OrchestratorError as exc:
        warn(f"job summary: {exc.message}", no_color=no_color)
