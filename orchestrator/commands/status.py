"""orchestrate status: per stack, is what runs what the default branch says? (0 all in sync and
clean, 2 otherwise)."""

from __future__ import annotations

import click

from orchestrator.app import get_app, json_flag_or


@click.command("status")
@click.option("--env", "env", default=None, metavar="ENV", help="Only the stacks of this environment.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default=None,
    help="Output format [table].",
)
@click.option("--no-fetch", is_flag=True, help="Read this clone's records without fetching the remote's.")
def command(env: str | None, fmt: str | None, no_fetch: bool) -> int:
    """Sync status per stack: last applied commit, out of sync, last drift, open pull requests."""
    from orchestrator.commands._select import Selection, select_stacks
    from orchestrator.controller.driftlog import DRIFT_REF, latest_drift
    from orchestrator.controller.status import build_status, summary
    from orchestrator.envs.model import env_model
    from orchestrator.envs.store import RecordStore
    from orchestrator.errors import GitError, OrchestratorError
    from orchestrator.git import Repo
    from orchestrator.github import GitHub, GitHubSettings
    from orchestrator.render.status import status_json, status_markdown, status_table, summary_line
    from orchestrator.ui import emit, warn

    app = get_app()
    ws = app.workspace()
    repo = Repo.open(ws.root, hint="status compares the records with the commits of your clone.")
    head = repo.head()
    if head is None:
        raise GitError("the repository has no commits", hint="Commit your stacks first.")
    sel = select_stacks(ws, Selection(environments=(env,) if env else ()))
    stacks = {sid: ws.stacks[sid] for sid in sel.ids}
    applies = RecordStore(ws.root).read(fetch=not no_fetch)
    scans = RecordStore(ws.root, ref=DRIFT_REF).read(fetch=not no_fetch)
    warnings = [*applies.warnings, *scans.warnings]
    settings = GitHubSettings.from_env(ws.config.github)
    gh = GitHub(settings) if settings.token and settings.repository else None
    pulls: dict[str, list[int]] = {}
    if gh is not None:
        from orchestrator.controller.pulls import pulls_by_stack

        try:
            pulls = pulls_by_stack(gh, repo, head, gh.default_branch(), stacks, warnings)
        except OrchestratorError as exc:
            warnings.append(f"pull requests: {exc.message}")
    model = env_model(ws.config, ws.stacks)
    rows = build_status(repo, head, stacks, model.env_of, applies.records, latest_drift(scans.records), pulls)
    counts = summary(rows)
    ok = all(r.ok for r in rows)
    for w in warnings:
        warn(w, no_color=app.no_color)
    used = json_flag_or(fmt, "table")
    if used == "json":
        emit(status_json(rows, counts, head))
    elif used == "markdown":
        emit(status_markdown(rows, counts, head))
    else:
        emit(status_table(rows, counts))
    if gh is not None:
        from orchestrator.pr.publish import write_step_summary

        gh.set_status(
            head,
            context="orchestrate/sync",
            state="success" if ok else "failure",
            description=summary_line(counts),
            target_url=settings.run_url,
        )
        write_step_summary(status_markdown(rows, counts, head))
    return 0 if ok else 2
