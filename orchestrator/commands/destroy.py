"""orchestrate destroy: plan -destroy in reverse dependency order, then apply it with approval."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.app import get_app
from orchestrator.commands._recovery import recovering, target_cloud_option
from orchestrator.commands._select import Selection, select_stacks
from orchestrator.commands.apply import resolve_approval, run_apply
from orchestrator.engine.context import Engine
from orchestrator.engine.destroy import plan_destroy
from orchestrator.errors import EXIT_CHANGES, EXIT_OK, OrchestratorError
from orchestrator.planset import load_plan_set
from orchestrator.progress import make_progress
from orchestrator.render.graphs import to_json_text
from orchestrator.render.runs import plan_run_json, plan_summary
from orchestrator.ui import emit, info, stderr_terminal, stdout_terminal, write_err


@click.command("destroy")
@click.argument("stacks", nargs=-1)
@click.option(
    "--approved-by", default=None, metavar="NAME", help="Who approved (needs approval.allow_manual)."
)
@click.option("--reason", default=None, metavar="TEXT", help="Why, for the audit log (with --approved-by).")
@click.option(
    "--plan-only",
    is_flag=True,
    help="Only write the destroy plan set; apply it later with `orchestrate apply --plan-set DIR`.",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Plan set directory."
)
@click.option("--fail-fast", is_flag=True, help="Stop starting stacks after the first failure.")
@click.option("--env", "environment", default=None, help="With --target-cloud: the recovered environment.")
@target_cloud_option
def command(
    stacks: tuple[str, ...],
    approved_by: str | None,
    reason: str | None,
    plan_only: bool,
    out: Path | None,
    fail_fast: bool,
    environment: str | None,
    target_clouds: tuple[str, ...],
) -> int:
    """Destroy STACKS, dependents first. Refused while a stack not named still depends on one.

    Writes a destroy plan set, shows it, and applies it once approved (a terminal "yes" or
    --approved-by NAME --reason TEXT), exactly like `orchestrate apply`.
    """
    app = get_app()
    ws = app.workspace()
    if target_clouds:  # tear a disaster recovery down (failback): every stack it rebuilt
        if stacks or environment is None:
            raise click.UsageError("--target-cloud destroys a recovered environment: --env ENV, no STACKS")
        ws = recovering(ws, environment, target_clouds, no_color=app.no_color)
        stacks = tuple(ws.stacks)
    elif environment is not None:
        raise click.UsageError("--env needs --target-cloud (destroy names its STACKS)")
    elif not stacks:
        raise click.UsageError("Missing argument 'STACKS...'.")
    ids = select_stacks(ws, Selection(stacks=stacks)).ids
    engine = Engine.create(ws, progress=make_progress(app.no_color))
    run = plan_destroy(engine, ids, out=out, fail_fast=fail_fast)
    write_err(plan_summary(run, cwd=Path.cwd(), term=stderr_terminal(app.no_color), apply_hint=False))
    code = run.exit_code
    if code != EXIT_CHANGES:
        if app.json_output:
            emit(to_json_text(plan_run_json(run), pretty=stdout_terminal().tty))
        if code == EXIT_OK:
            info("nothing to destroy", no_color=app.no_color)
        return code
    if plan_only:
        if app.json_output:
            emit(to_json_text(plan_run_json(run), pretty=stdout_terminal().tty))
        info(
            f"destroy plan set written; to apply it: orchestrate apply --plan-set {run.dir} "
            + "".join(f"--target-cloud {t} " for t in target_clouds)
            + "--confirm-destroy --approved-by NAME --reason TEXT",
            no_color=app.no_color,
        )
        return code
    loaded = load_plan_set(run.dir)
    try:
        approval = resolve_approval(app, engine, loaded, approved_by, reason, what="destroy")
    except OrchestratorError as exc:
        exc.hint = (exc.hint or "") + f" The destroy plan set is kept: {run.dir}"
        raise
    # `orchestrate destroy STACK...` with its approval is the confirmation.
    return run_apply(app, engine, loaded, approval, fail_fast=fail_fast, confirm_destroy=True).exit_code
