"""orchestrate policy: evaluate the policies on a plan set; optionally write SARIF."""

from __future__ import annotations

import json
from pathlib import Path

import click

from orchestrator.app import get_app
from orchestrator.errors import EXIT_ERROR, EXIT_OK, EXIT_POLICY
from orchestrator.fileio import write_output_file
from orchestrator.planset import latest_plan_set
from orchestrator.ui import emit, info, stdout_terminal, warn


@click.command("policy")
@click.option(
    "--plan-set",
    "plan_set",
    type=click.Path(file_okay=False, path_type=Path),
    help="Plan set directory [the newest under .orchestrate/plans].",
)
@click.option(
    "--sarif",
    "sarif_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the results as SARIF 2.1.0 (for GitHub code scanning).",
)
def command(plan_set: Path | None, sarif_file: Path | None) -> int:
    """Evaluate the policies (policies/*.rego) on the plans of a plan set.

    Exit 0 when nothing is denied (or enforcement is advisory), 3 when a blocking policy
    denies, 1 when a policy fails to evaluate.
    """
    from orchestrator.policy.evaluate import evaluate_plan_set
    from orchestrator.render.policy import render, verdict
    from orchestrator.render.sarif import to_sarif

    app = get_app()
    ws = app.workspace()
    directory = (
        plan_set
        if plan_set is not None
        else latest_plan_set(ws.root, kinds=("plan", "drift-remediation", "destroy"))
    )
    _, report = evaluate_plan_set(ws, directory)
    for w in report.warnings:
        warn(w, no_color=app.no_color)
    if sarif_file is not None:
        files = {sid: s.config_file for sid, s in ws.stacks.items()}
        write_output_file(
            sarif_file,
            json.dumps(to_sarif(report, files), indent=2) + "\n",
            what="the SARIF file",
            hint="Choose a path in a directory you can write to.",
        )
    if app.json_output:
        emit(json.dumps(report.to_json(), indent=2))
        info(verdict(report), no_color=app.no_color)
    else:
        emit(render(report, stdout_terminal(app.no_color)))
    if sarif_file is not None:
        info(f"SARIF written to {sarif_file}", no_color=app.no_color)
    if report.errors:
        return EXIT_ERROR
    if report.blocking:
        return EXIT_POLICY
    return EXIT_OK
