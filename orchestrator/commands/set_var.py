"""orchestrate set-var: set a variable in a stack's tfvars, locally or through a pull request."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.app import get_app
from orchestrator.envs.model import env_model
from orchestrator.envs.setvar import (
    Change,
    Outcome,
    Reader,
    branch_name,
    change_for,
    next_on_path,
    parse_assignment,
    target_stack,
    write_local,
)
from orchestrator.errors import GitError
from orchestrator.render.envs import to_json_text
from orchestrator.ui import emit, info
from orchestrator.workspace import Workspace


def _work_tree_reader(root: Path) -> Reader:
    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text() if path.is_file() else None

    return read


def _body(change: Change) -> str:
    old = f"`{change.old}`" if change.old is not None else "not set"
    return (
        f"Sets `{change.name}` in `{change.file}` (stack `{change.stack}`"
        + (f", environment `{change.environment}`" if change.environment else "")
        + f").\n\n| | value |\n|---|---|\n| before | {old} |\n| after | `{change.value}` |\n\n"
        "The plan of this pull request shows what the new value changes. Opened by `orchestrate set-var`; "
        "running it again with another value updates this pull request.\n"
    )


def _open_pr(
    ws: Workspace, change: Change, base_sha: str, base: str, repo: object, gh: object
) -> dict[str, object]:
    from orchestrator.envs.branch_pr import publish
    from orchestrator.envs.gitops import Repo
    from orchestrator.github import GitHub

    assert isinstance(repo, Repo) and isinstance(gh, GitHub)
    path = repo.path(change.file)
    title = f"set-var: {change.stack} {change.name} = {change.value}"
    sha = repo.commit_files(base_sha, {path: change.text}, f"{title}\n\nby orchestrate set-var")

    def same(remote: str) -> bool:
        return repo.rev(f"{remote}^") == base_sha and repo.show(remote, path) == change.text

    stack = ws.stacks[change.stack]
    published = publish(
        repo,
        gh,
        branch=branch_name(stack, change.name),
        sha=sha,
        base=base,
        title=title,
        body=_body(change),
        same=same,
    )
    return published.to_json()


@click.command("set-var")
@click.argument("stack")
@click.argument("assignment", metavar="NAME=VALUE")
@click.option("--env", default=None, metavar="ENV", help="STACK is a family: set it in this environment.")
@click.option(
    "--all-envs",
    is_flag=True,
    help="Follow the promotion path: set the first environment that lacks the value, once the one "
    "before it has applied it.",
)
@click.option("--open-pr", is_flag=True, help="Commit on a branch and open or update its pull request.")
@click.option("--base", default=None, help="With --open-pr: the branch to start from [the default branch].")
def command(
    stack: str, assignment: str, env: str | None, all_envs: bool, open_pr: bool, base: str | None
) -> int:
    """Set variable NAME of STACK to VALUE in its tfvars file, in place (formatting kept).

    Without --open-pr the work tree's file is edited; nothing is committed. Exit 0 also when the
    value is already set (nothing happens).
    """
    app = get_app()
    ws = app.workspace()
    model = env_model(ws.config, ws.stacks)
    name, value = parse_assignment(assignment)
    if all_envs and env is not None:
        raise click.UsageError("--all-envs and --env exclude each other")
    repo = gh = None
    base_sha = ""
    read = _work_tree_reader(ws.root)
    if open_pr or all_envs:
        from orchestrator.envs.gitops import Repo

        repo = Repo(ws.root)
    if open_pr:
        from orchestrator.envs.branch_pr import base_branch, github_for

        assert repo is not None
        gh = github_for(ws)
        base = base_branch(gh, base)
        fetched = repo.fetch_branch(base)
        if fetched is None:
            raise GitError(f"the remote has no branch '{base}'", hint="Pass --base BRANCH.")
        base_sha = fetched
        read = lambda rel: repo.show(base_sha, repo.path(rel))  # noqa: E731
    out = Outcome()
    if all_envs:
        from orchestrator.envs.store import RecordStore

        assert repo is not None
        records = RecordStore(ws.root).read().records
        change, out.waiting = next_on_path(ws, model, repo, stack, name, value, read, records)
    else:
        change = change_for(ws, model, target_stack(ws, model, stack, env), name, value, read)
    if change is not None:
        out.changes.append(change)
    where = f"on {base}" if open_pr else "in the work tree"
    if change is None:
        info(
            out.waiting or f"{name} = {value} is already set in every environment of {stack}",
            no_color=app.no_color,
        )
    elif not change.changed:
        info(
            f"{change.stack}: {name} is already {change.old} in {change.file} {where}; nothing to do",
            no_color=app.no_color,
        )
    elif not open_pr:
        write_local(ws, change)
        info(
            f"{change.stack}: {change.file}: {name} = {change.value} (was {change.old or 'not set'})",
            no_color=app.no_color,
        )
    else:
        out.pr = _open_pr(ws, change, base_sha, base or "", repo, gh)
        info(
            f"{change.stack}: pull request #{out.pr['number']} {out.pr['action']}: {out.pr['url']}",
            no_color=app.no_color,
        )
    if app.json_output:
        emit(to_json_text(out.to_json()))
    return 0
