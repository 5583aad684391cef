"""orchestrate planset merge: one plan set from the partial plan sets of `plan --shard I/N`."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.app import get_app
from orchestrator.engine.plan import PlanRun
from orchestrator.planset_merge import default_plans_root, merge
from orchestrator.pr.flow import finish_plan, prepare_plan
from orchestrator.render.graphs import to_json_text
from orchestrator.render.runs import plan_run_json, plan_summary
from orchestrator.ui import emit, stderr_terminal, stdout_terminal, write_err


@click.group("planset")
def command() -> None:
    """Work with plan sets (merge the parts of a fanned-out plan)."""


@command.command("merge")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the merged plan set here [.orchestrate/plans/<id>].",
)
@click.option(
    "--comment", is_flag=True, help="Post or update the pull request's plan comment and commit statuses."
)
@click.option("--pr", "pr_number", type=int, default=None, help="The pull request [from $GITHUB_EVENT_PATH].")
def merge_command(dirs: tuple[Path, ...], out: Path | None, comment: bool, pr_number: int | None) -> int:
    """Merge the partial plan sets DIRS (one per shard, same commit) into one plan set equal to
    a single runner's; exit codes as `orchestrate plan`'s."""
    app = get_app()
    ws = app.workspace()
    flow = prepare_plan(ws, comment=comment, pr=pr_number)
    merged = merge(
        [d.resolve() for d in dirs],
        plans_root=default_plans_root(ws.root),
        out=out.resolve() if out is not None else None,
    )
    run = PlanRun(merged.manifest, merged.dir, {}, policy=merged.policy)
    write_err(plan_summary(run, cwd=Path.cwd(), term=stderr_terminal(app.no_color)))
    if app.json_output:
        emit(to_json_text(plan_run_json(run), pretty=stdout_terminal().tty))
    if flow is not None:
        flow.reasons = merged.record.reasons
        flow.deleted = merged.record.deleted
        finish_plan(ws, run, flow, no_color=app.no_color)
    return run.exit_code


@command.command("waves")
@click.argument("plan_set", type=click.Path(file_okay=False, path_type=Path))
def waves_command(plan_set: Path) -> int:
    """The apply waves of PLAN_SET as JSON: {"stacks": N, "waves": [[stack, ...], ...]}, wave 0
    first (what `apply --wave K` applies), for a workflow to fan apply out over jobs."""
    import json

    from orchestrator.engine.verify import APPLICABLE
    from orchestrator.planset import read_manifest
    from orchestrator.shard import waves

    ws = get_app().workspace()
    manifest = read_manifest(plan_set.resolve())
    unknown = [s.stack for s in manifest.stacks if s.stack not in ws.stacks]
    if unknown:
        from orchestrator.errors import PlanSetError

        raise PlanSetError(
            f"the plan set names stacks this repository does not have: {', '.join(unknown)}",
            where=str(plan_set),
            hint="Check out the commit the plan set was made at.",
        )
    by_wave = waves(ws.graph, [s.stack for s in manifest.stacks if s.status in APPLICABLE])
    grouped: list[list[str]] = [[] for _ in range(max(by_wave.values(), default=-1) + 1)]
    for sid in ws.graph.ordered(by_wave):
        grouped[by_wave[sid]].append(sid)
    emit(json.dumps({"plan_set": manifest.id, "stacks": len(by_wave), "waves": grouped}))
    return 0
