"""orchestrate plan: plan stacks in dependency order, check policies, write a plan set."""

from __future__ import annotations

import json
from pathlib import Path

import click

from orchestrator.app import App, get_app
from orchestrator.commands._recovery import (
    recovering,
    recovery_selection,
    require_committed,
    target_cloud_option,
)
from orchestrator.commands._select import Selected, Selection, select_stacks, selection_options
from orchestrator.engine.context import Engine
from orchestrator.engine.plan import PlanOptions, PlanRun, plan_stacks
from orchestrator.errors import PlanSetError
from orchestrator.planset import POLICY_FILE
from orchestrator.pr.flow import PlanFlow, finish_plan, prepare_plan
from orchestrator.progress import make_progress
from orchestrator.render.graphs import to_json_text
from orchestrator.render.runs import plan_run_json, plan_summary
from orchestrator.shard import Shard, parse_shard
from orchestrator.ui import emit, info, stderr_terminal, stdout_terminal, warn, write_err


def run_plan(
    app: App,
    stacks: tuple[str, ...],
    out: Path | None,
    fail_fast: bool,
    flow: PlanFlow | None = None,
    selection: Selection | None = None,
    shard: Shard | None = None,
    target_clouds: tuple[str, ...] = (),
    encrypt_to: tuple[str, ...] = (),
) -> PlanRun:
    """Select, plan and report; returns the run (the PR flow builds on this)."""
    ws = app.workspace()
    if target_clouds:  # disaster recovery: the environment's stacks, moved (orchestrator/recovery.py)
        environment = recovery_selection(stacks, selection or Selection())
        require_committed(ws)
        ws = recovering(ws, environment, target_clouds, no_color=app.no_color)
        stacks, selection = tuple(ws.stacks), Selection()
    sel = select_stacks(ws, (selection or Selection()).naming(stacks).for_terraform())
    if flow is not None:
        flow.reasons, flow.deleted = sel.reasons, sel.deleted
    for gone in sel.deleted:
        warn(
            f"stack '{gone}' was deleted in this change; it is not planned and never destroyed "
            "without an explicit `orchestrate destroy`",
            no_color=app.no_color,
        )
    base_env = flow.base_env if flow is not None else None  # a fork's plan: no cloud credentials
    engine = Engine.create(ws, progress=make_progress(app.no_color), base_env=base_env)
    pr = flow.number if flow is not None else None
    if shard is not None:
        return plan_shard(engine, sel, shard, out=out, fail_fast=fail_fast, pr=pr, encrypt_to=encrypt_to)
    options = PlanOptions(stacks=sel.ids, out=out, fail_fast=fail_fast, pr=pr, encrypt_to=encrypt_to)
    run = plan_stacks(engine, options)
    return run


def plan_shard(
    engine: Engine,
    sel: Selected,
    shard: Shard,
    *,
    out: Path | None,
    fail_fast: bool,
    pr: int | None,
    encrypt_to: tuple[str, ...] = (),
) -> PlanRun:
    """Plan the share of the selection that ``shard`` owns into a partial plan set (see shard.py)."""
    import tempfile

    from orchestrator.planset_merge import ShardRecord, default_plans_root, write_partial
    from orchestrator.shard import assign, closure

    graph = engine.ws.graph
    owned = assign(graph, sel.ids, shard.count)[shard.index - 1]
    plans_root = default_plans_root(engine.root)
    plans_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".shard-", dir=plans_root))
    target = out.resolve() if out is not None else None
    if target is not None and target.exists() and (not target.is_dir() or any(target.iterdir())):
        scratch.rmdir()
        raise PlanSetError(
            f"{target} already exists and is not empty",
            hint="Choose another --out directory or remove it first.",
        )
    full = plan_stacks(
        engine,
        PlanOptions(
            stacks=closure(graph, owned, sel.ids),
            out=scratch,
            fail_fast=fail_fast,
            pr=pr,
            encrypt_to=encrypt_to,
        ),
    )
    record = ShardRecord(
        index=shard.index,
        count=shard.count,
        selection=graph.ordered(sel.ids),
        owned=owned,
        reasons={k: list(v) for k, v in sel.reasons.items()},
        deleted=list(sel.deleted),
    )
    manifest, directory = write_partial(full.dir, record, plans_root=plans_root, out=target)
    policy = None
    if (directory / POLICY_FILE).is_file():
        from orchestrator.policy.report import PolicyReport

        policy = PolicyReport.from_json(json.loads((directory / POLICY_FILE).read_text()))
    return PlanRun(
        manifest,
        directory,
        {sid: o for sid, o in full.results.items() if sid in set(owned)},
        policy=policy,
        interrupted=full.interrupted,
        notices=full.notices,
    )


@click.command("plan")
@click.argument("stacks", nargs=-1)
@selection_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the plan set here [.orchestrate/plans/<id>].",
)
@click.option("--fail-fast", is_flag=True, help="Stop starting stacks after the first failure.")
@click.option(
    "--comment", is_flag=True, help="Post or update the pull request's plan comment and commit statuses."
)
@click.option("--pr", "pr_number", type=int, default=None, help="The pull request [from $GITHUB_EVENT_PATH].")
@click.option(
    "--shard",
    "shard_text",
    default=None,
    metavar="I/N",
    help="Plan the I-th of N shares of the selected stacks into a partial plan set, for fanning out "
    "over CI jobs; `orchestrate planset merge` makes one plan set of the N parts.",
)
@target_cloud_option
@click.option(
    "--encrypt-to",
    "encrypt_to",
    multiple=True,
    metavar="RECIPIENT",
    help="Encrypt plan.tfplan and plan.json to this age public key (age1...; repeatable; "
    "besides plan_sets.encrypt_to). Apply then needs ORCHESTRATE_AGE_IDENTITY.",
)
def command(
    stacks: tuple[str, ...],
    out: Path | None,
    fail_fast: bool,
    comment: bool,
    pr_number: int | None,
    shard_text: str | None,
    encrypt_to: tuple[str, ...],
    selection: Selection,
    target_clouds: tuple[str, ...],
) -> int:
    """Plan STACKS (default: all, or --changed) in dependency order and write a plan set."""
    app = get_app()
    shard = parse_shard(shard_text) if shard_text is not None else None
    if shard is not None and comment:
        raise click.UsageError(
            "--comment cannot be used with --shard: the comment is posted once, after "
            "`orchestrate planset merge DIR... --comment`"
        )
    if target_clouds and (comment or pr_number is not None or shard is not None):
        raise click.UsageError(
            "--target-cloud plans a recovery, never a pull request (no --comment/--pr/--shard)"
        )
    flow = prepare_plan(app.workspace(), comment=comment, pr=pr_number)
    run = run_plan(
        app,
        stacks,
        out,
        fail_fast,
        flow,
        selection,
        shard=shard,
        target_clouds=target_clouds,
        encrypt_to=encrypt_to,
    )
    for notice in run.notices:
        warn(notice, no_color=app.no_color)
    write_err(plan_summary(run, cwd=Path.cwd(), term=stderr_terminal(app.no_color)))
    if app.json_output:
        emit(to_json_text(plan_run_json(run), pretty=stdout_terminal().tty))
    if not run.manifest.stacks:
        info("no stacks selected", no_color=app.no_color)
    if flow is not None:
        finish_plan(app.workspace(), run, flow, no_color=app.no_color)
    return run.exit_code
