"""orchestrate validate: configuration, graph, and terraform validate of each stack."""

from __future__ import annotations

import click

from orchestrator.app import get_app
from orchestrator.checks import config_findings
from orchestrator.errors import EXIT_ERROR, EXIT_OK
from orchestrator.render.graphs import to_json_text
from orchestrator.ui import emit, info, warn


@click.command("validate")
def command() -> int:
    """Check orchestrate.yaml, every stack.yaml, the dependency graph and the Terraform code."""
    app = get_app()
    ws = app.workspace()
    graph = ws.graph  # raises on cycles and unknown dependencies
    found = config_findings(ws)
    ok = not found.errors
    if app.json_output:
        emit(
            to_json_text(
                {
                    "valid": ok,
                    "stacks": len(graph.order),
                    "edges": graph.graph.number_of_edges(),
                    "errors": found.errors,
                    "warnings": found.warnings,
                }
            )
        )
    for w in found.warnings:
        warn(w, no_color=app.no_color)
    for e in found.errors:
        info(f"error: {e}", no_color=app.no_color)
    if ok:
        info(
            f"valid: {len(graph.order)} stacks, {graph.graph.number_of_edges()} dependencies"
            + (f", {len(found.warnings)} warnings" if found.warnings else ""),
            no_color=app.no_color,
        )
    return EXIT_OK if ok else EXIT_ERROR
