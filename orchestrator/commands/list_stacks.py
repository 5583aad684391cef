"""orchestrate list: stacks in run order."""

from __future__ import annotations

import click

from orchestrator.app import get_app, json_flag_or
from orchestrator.commands._select import (
    Selection,
    by_reconcile,
    reconcile_option,
    select_stacks,
    selection_options,
)
from orchestrator.jsontypes import JSONData
from orchestrator.render.graphs import stack_rows, to_json_text
from orchestrator.render.tables import stacks_table
from orchestrator.ui import emit, stdout_terminal


@click.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default=None, help="Output format [table]."
)
@reconcile_option
@selection_options
def command(fmt: str | None, reconcile: str | None, selection: Selection) -> int:
    """Stacks in run order with cloud, environment and dependencies."""
    app = get_app()
    ws = app.workspace()
    sel = select_stacks(ws, selection)
    rows = stack_rows(ws.graph, by_reconcile(ws, sel.ids, reconcile))
    known = ws.config.environments
    for row in rows:
        if row["environment"] is None and known:  # from the id's environment segment
            from orchestrator.envs.model import environment_of

            row["environment"] = environment_of(ws.stacks[row["id"]], known)
        if sel.reasons:
            row["included_because"] = sel.reasons.get(row["id"], [])
    if json_flag_or(fmt, "table") == "json":
        data: dict[str, JSONData] = {"stacks": rows}
        if sel.deleted:
            data["deleted"] = sel.deleted
        emit(to_json_text(data, pretty=stdout_terminal().tty))
    else:
        emit(stacks_table(rows, stdout_terminal(app.no_color)))
    return 0
