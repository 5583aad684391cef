"""orchestrate validate: configuration, graph, and terraform validate of each stack."""

from __future__ import annotations

import os
from typing import Any

import click

from orchestrator.app import get_app
from orchestrator.checks import config_findings
from orchestrator.errors import EXIT_ERROR, EXIT_OK
from orchestrator.render.graphs import to_json_text
from orchestrator.terraform.mirrors import mirror_env
from orchestrator.ui import emit, info, stdout_terminal, warn
from orchestrator.workspace import Workspace


def _validate_env(ws: Workspace) -> dict[str, str]:
    """The process environment, plus the configured provider mirror while the emulated clouds
    (which bring their own) are not up."""
    spec = ws.config.terraform.provider_mirror
    env = dict(os.environ)
    if spec and ws.emulate is None:
        env.update(mirror_env(ws.root, spec))
    return env


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
    ok = not found.errors
    tf_results: list[Any] = []
    if ok and not skip_terraform and graph.order:
        from orchestrator.engine.context import Engine
        from orchestrator.engine.validate import validate_stacks
        from orchestrator.progress import make_progress

        engine = Engine.create(ws, progress=make_progress(app.no_color), base_env=_validate_env(ws))
        tf_results = validate_stacks(engine, [s for s in graph.order if ws.stacks[s].error is None])
        unchecked = [f"{r.stack} ({r.error})" for r in tf_results if r.status == "unchecked"]
        for r in tf_results:
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
        if tf_results and not any(r.status in ("valid", "invalid") for r in tf_results):
            # a validate that checked nothing is not a pass
            found.errors.append(
                f"terraform validate could check none of the {len(tf_results)} stacks; nothing was validated"
            )
        ok = not found.errors
    from orchestrator.graph import remote_state_summary

    rs = remote_state_summary(ws.discovery)
    if app.json_output:
        emit(
            to_json_text(
                {
                    "valid": ok,
                    "stacks": len(graph.order),
                    "edges": graph.graph.number_of_edges(),
                    "errors": found.errors,
                    "warnings": found.warnings,
                    "terraform": [r.to_json() for r in tf_results],
                    "remote_state": rs,
                },
                pretty=stdout_terminal().tty,
            )
        )
    for w in found.warnings:
        warn(w, no_color=app.no_color)
    for e in found.errors:
        info(f"error: {e}", no_color=app.no_color)
    if ok:
        checked = sum(1 for r in tf_results if r.status == "valid")
        info(
            f"valid: {len(graph.order)} stacks, {graph.graph.number_of_edges()} dependencies"
            + (f", terraform validate passed for {checked}" if tf_results else "")
            + (f", {len(found.warnings)} warnings" if found.warnings else "")
            + (
                f"; remote state: {rs['resolved']} of {rs['blocks']} reads resolved, "
                f"{rs['matched']} to a stack here"
                if rs["blocks"]
                else ""
            ),
            no_color=app.no_color,
        )
    return EXIT_OK if ok else EXIT_ERROR
