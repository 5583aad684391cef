"""orchestrate envs diff: is each family the same code in every environment?"""

from __future__ import annotations

import click

from orchestrator.app import get_app, json_flag_or
from orchestrator.envs.consistency import compare, environments_to_compare
from orchestrator.envs.model import env_model
from orchestrator.errors import EXIT_CHANGES, EXIT_OK
from orchestrator.render.envs import envs_diff_markdown, envs_diff_table, to_json_text
from orchestrator.ui import emit


@click.group("envs")
def command() -> None:
    """Environments: the consistency report (envs diff)."""


@command.command("diff")
@click.argument("env_a", required=False)
@click.argument("env_b", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default=None,
    help="Output format [table].",
)
def diff(env_a: str | None, env_b: str | None, fmt: str | None) -> int:
    """Differences between environments that are not variable values (exit 2 when any)."""
    app = get_app()
    ws = app.workspace()
    model = env_model(ws.config, ws.stacks)
    report = compare(ws, model, environments_to_compare(model, env_a, env_b)).to_json()
    chosen = json_flag_or(fmt, "table")
    if chosen == "json":
        emit(to_json_text(report))
    elif chosen == "markdown":
        emit(envs_diff_markdown(report))
    else:
        emit(envs_diff_table(report))
    return EXIT_OK if report["consistent"] else EXIT_CHANGES
