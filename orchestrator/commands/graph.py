"""orchestrate graph: the dependency graph."""

from __future__ import annotations

import click

from orchestrator.app import get_app, json_flag_or
from orchestrator.commands._select import Selection, select_stacks, selection_options
from orchestrator.render.graphs import dot, graph_json, mermaid, to_json_text
from orchestrator.ui import emit, stdout_terminal


@click.command("graph")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "json"]),
    default=None,
    help="Output format [mermaid].",
)
@selection_options
def command(fmt: str | None, selection: Selection) -> int:
    """The dependency graph. Edges say why they exist: depends_on, inputs or remote_state."""
    ws = get_app().workspace()
    sel = select_stacks(ws, selection)
    chosen = json_flag_or(fmt, "mermaid")
    if chosen == "json":
        data = graph_json(ws.graph, sel.ids)
        if sel.reasons:
            for node in data["nodes"]:
                node["included_because"] = sel.reasons.get(node["id"], [])
        emit(to_json_text(data, pretty=stdout_terminal().tty))
    elif chosen == "dot":
        emit(dot(ws.graph, sel.ids))
    else:
        classes = None
        if sel.reasons:
            classes = {
                sid: ("dependent" if all(r.startswith("dependent of") for r in why) else "changed")
                for sid, why in sel.reasons.items()
            }
        emit(mermaid(ws.graph, sel.ids, classes))
    return 0
