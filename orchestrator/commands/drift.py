"""orchestrate drift: compare stored state with the live clouds; report; exit 0 clean, 2 drift, 1 error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestrator.app import get_app, json_flag_or
from orchestrator.commands._select import Selection, select_stacks, selection_options
from orchestrator.fileio import write_output_file

if TYPE_CHECKING:
    from orchestrator.drift.model import DriftReport


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
@selection_options
def command(
    stacks: tuple[str, ...],
    mode: str | None,
    fmt: str | None,
    out: Path | None,
    strict: bool,
    open_pr: bool,
    selection: Selection,
) -> int:
    """Scan for drift between the stacks' state and the live clouds."""
    from orchestrator.drift.io import default_io
    from orchestrator.drift.scan import ScanOptions, scan
    from orchestrator.redact import Redactor
    from orchestrator.render.drift import render, summary_line
    from orchestrator.render.drift_pr import pull_requests_markdown, pull_requests_table
    from orchestrator.render.terminal import PLAIN
    from orchestrator.terraform.runner import CancelToken, install_signal_forwarding
    from orchestrator.ui import emit, info, stdout_terminal, warn

    app = get_app()
    ws = app.workspace()
    sel = select_stacks(ws, selection.naming(stacks).for_terraform())
    redactor = Redactor(ws.config.redact)
    # drift.enabled: false in stack.yaml takes a stack out of drift scans (its state still
    # counts: what it manages is not reported unmanaged).
    disabled = [sid for sid in sel.ids if not ws.stacks[sid].config.drift.enabled]
    if disabled:
        info(f"not scanned (drift.enabled: false): {', '.join(disabled)}", no_color=app.no_color)
    ids = [sid for sid in sel.ids if sid not in disabled]
    prs = None
    if open_pr and not ws.config.drift.open_prs:
        warn(
            "--open-pr: drift.open_prs is false in orchestrate.yaml; no pull requests", no_color=app.no_color
        )
    elif open_pr:  # fail before scanning when GitHub or the git remote is not set up
        from orchestrator.drift_pr.run import DriftPullRequests

        prs = DriftPullRequests.prepare(
            ws, progress=lambda m: info(m, no_color=app.no_color), no_color=app.no_color
        )
    options = ScanOptions(
        mode=mode or ws.config.drift.mode,  # type: ignore[arg-type]
        strict=strict,
        refresh_workers=ws.config.terraform.effective_parallelism,
    )

    def progress(message: str) -> None:
        info(redactor.text(message), no_color=app.no_color)

    cancel = CancelToken()
    io = default_io(ws, progress=progress, cancel=cancel)
    # An interrupt stops a running terraform cleanly (it releases its state lock).
    restore = install_signal_forwarding(cancel)
    try:
        report, secrets = scan(ws, ids, options, io)
    finally:
        restore()
    redactor.add_secrets(secrets)
    shown = report.redacted(redactor.data)
    pr_run = None
    try:
        if prs is not None:
            from orchestrator.drift_pr.run import write_github_output

            pr_run = prs.run(shown, redactor, full_scan=set(sel.ids) == set(ws.stacks))
            write_github_output(pr_run)
            for w in pr_run.warnings:
                warn(w, no_color=app.no_color)
    finally:
        # After the pull requests: a stack put back automatically is on record as reconciled.
        _record(ws.root, report, pr_run.reconciled if pr_run is not None else [], app.no_color)
    # The report goes to --out (a file: plain) or stdout.
    term = stdout_terminal(app.no_color) if out is None else PLAIN
    fmt_used = json_flag_or(fmt, "table")
    text = render(shown, fmt_used, term, pull_requests=pr_run.to_json() if pr_run is not None else None)
    if pr_run is not None and fmt_used == "markdown":
        text += "\n" + pull_requests_markdown(pr_run.outcomes)
    elif pr_run is not None and fmt_used == "table":
        text += pull_requests_table(pr_run.outcomes, term)
    if pr_run is not None:
        _job_summary(render(shown, "markdown") + "\n" + pull_requests_markdown(pr_run.outcomes), app.no_color)
    if out is not None:
        write_output_file(out.resolve(), text, what="the report", hint="Choose a writable --out path.")
        info(f"{summary_line(shown.to_dict())}; report written to {out}", no_color=app.no_color)
    else:
        emit(text)
    return pr_run.exit_code(report.exit_code) if pr_run is not None else report.exit_code


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
