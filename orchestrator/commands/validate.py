"""orchestrate validate: configuration, graph, and terraform validate of each stack."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from orchestrator.app import get_app
from orchestrator.checks import Findings, config_findings
from orchestrator.errors import EXIT_ERROR, EXIT_OK
from orchestrator.graph import remote_state_summary
from orchestrator.render.graphs import to_json_text
from orchestrator.terraform.mirrors import mirror_env
from orchestrator.ui import emit, info, stdout_terminal, warn
from orchestrator.workspace import Workspace

if TYPE_CHECKING:
    from orchestrator.engine.validate import StackValidation


def _validate_env(ws: Workspace) -> dict[str, str]:
    """The process environment, plus the configured provider mirror while the emulated clouds
    (which bring their own) are not up."""
    spec = ws.config.terraform.provider_mirror
    env = dict(os.environ)
    if spec and ws.emulate is None:
        env.update(mirror_env(ws.root, spec))
    return env


def _terraform_validate(ws: Workspace, found: Findings, *, strict: bool) -> list[StackValidation]:
    """``terraform validate`` of every stack that was discovered without error; its problems
    go into ``found``. A validate that checked nothing is not a pass."""
    from orchestrator.engine.context import Engine
    from orchestrator.engine.validate import validate_stacks
    from orchestrator.progress import make_progress

    app = get_app()
    engine = Engine.create(ws, progress=make_progress(app.no_color), base_env=_validate_env(ws))
    results = validate_stacks(engine, [s for s in ws.graph.order if ws.stacks[s].error is None])
    unchecked = [f"{r.stack} ({r.error})" for r in results if r.status == "unchecked"]
    for r in results:
        for d in r.diagnostics:
            (found.errors if d.severity == "error" else found.warnings).append(d.render())
        if r.status == "failed":
            found.errors.append(f"{r.stack}: {r.error}")
    if unchecked:
        message = (
            f"terraform validate could not check {'; '.join(unchecked)}; run `orchestrate emulate up` "
            "to use the stand-in providers, or configure a provider mirror and vendor or mirror "
            "the modules"
        )
        (found.errors if strict else found.warnings).append(message)
    if results and not any(r.status in ("valid", "invalid") for r in results):
        found.errors.append(
            f"terraform validate could check none of the {len(results)} stacks; nothing was validated"
        )
    return results


def _summary(ws: Workspace, found: Findings, results: list[StackValidation], rs: dict[str, int]) -> str:
    """The one line printed when everything is valid."""
    graph = ws.graph
    checked = sum(1 for r in results if r.status == "valid")
    return (
        f"valid: {len(graph.order)} stacks, {graph.graph.number_of_edges()} dependencies"
        + (f", terraform validate passed for {checked}" if results else "")
        + (f", {len(found.warnings)} warnings" if found.warnings else "")
        + (
            f"; remote state: {rs['resolved']} of {rs['blocks']} reads resolved, "
            f"{rs['matched']} to a stack here"
            if rs["blocks"]
            else ""
        )
    )


@click.command("validate")
@click.option("--skip-terraform", is_flag=True, help="Check the configuration and graph only.")
@click.option(
    "--strict",
    is_flag=True,
    help="Fail when a stack cannot be checked (a registry or module source unreachable offline).",
)
def command(skip_terraform: bool, strict: bool) -> int:
    """Check orchestrate.yaml, every stack.yaml, the dependency graph and the Terraform code."""
    app = get_app()
    ws = app.workspace()
    graph = ws.graph  # raises on cycles and unknown dependencies
    found = config_findings(ws)
    results: list[StackValidation] = []
    if not found.errors and not skip_terraform and graph.order:
        results = _terraform_validate(ws, found, strict=strict)
    ok = not found.errors
    rs = remote_state_summary(ws.discovery)
    if app.json_output:
        doc = {
            "valid": ok,
            "stacks": len(graph.order),
            "edges": graph.graph.number_of_edges(),
            "errors": found.errors,
            "warnings": found.warnings,
            "terraform": [r.to_json() for r in results],
            "remote_state": rs,
        }
        emit(to_json_text(doc, pretty=stdout_terminal().tty))
    for w in found.warnings:
        warn(w, no_color=app.no_color)
    for e in found.errors:
        info(f"error: {e}", no_color=app.no_color)
    if ok:
        info(_summary(ws, found, results, rs), no_color=app.no_color)
    return EXIT_OK if ok else EXIT_ERROR
