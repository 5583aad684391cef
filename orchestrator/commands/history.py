"""orchestrate history: the applies on record (git notes under refs/notes/orchestrate)."""

from __future__ import annotations

import click

from orchestrator.app import get_app, json_flag_or
from orchestrator.envs.records import history_rows
from orchestrator.envs.store import RecordStore
from orchestrator.render.envs import history_table, to_json_text
from orchestrator.ui import emit, info, warn


@click.command("history")
@click.argument("stack", required=False)
@click.option("--env", "env", default=None, metavar="ENV", help="Only applies to this environment.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default=None, help="Output format [table]."
)
@click.option("--no-fetch", is_flag=True, help="Read this clone's records without fetching the remote's.")
@click.option("--push", is_flag=True, help="Also push records this clone holds that the remote lacks.")
def command(stack: str | None, env: str | None, fmt: str | None, no_fetch: bool, push: bool) -> int:
    """Applies on record, newest first: who, approval, commit, result per stack (STACK: an id or a family)."""
    app = get_app()
    ws = app.workspace()
    store = RecordStore(ws.root)
    result = store.read(fetch=not no_fetch)
    warnings = list(result.warnings)
    if push and store.push(warnings):
        info("records pushed", no_color=app.no_color)
    for w in warnings:
        warn(w, no_color=app.no_color)
    rows = [r.to_json() for r in history_rows(result.records, stack=stack, env=env)]
    if json_flag_or(fmt, "table") == "json":
        emit(to_json_text({"records": rows, "fetched": result.fetched}))
    else:
        emit(history_table(rows))
    return 0
