"""orchestrate set-var: set a variable in a stack's tfvars, locally or through a pull request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from orchestrator.app import get_app
from orchestrator.envs.gitops import Repo
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
from orchestrator.github import GitHub
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


@dataclass
class Source:
    """Where the tfvars are read: the work tree, or the base branch fetched from the remote."""

    read: Reader
    repo: Repo | None = None
    gh: GitHub | None = None
    base: str = ""
    base_sha: str = ""


def _source(ws: Workspace, *, open_pr: bool, need_git: bool, base: str | None) -> Source:
    if not open_pr:
        return Source(_work_tree_reader(ws.root), Repo.of(ws.root) if need_git else None)
    from orchestrator.envs.branch_pr import base_branch, github_for

    repo = Repo.of(ws.root)
    gh = github_for(ws)
    branch = base_branch(gh, base)
    sha = repo.fetch_branch(branch)
    if sha is None:
        raise GitError(f"the remote has no branch '{branch}'", hint="Pass --base BRANCH.")
    return Source(lambda rel: repo.show(sha, repo.path(rel)), repo, gh, branch, sha)


def _open_pr(ws: Workspace, change: Change, src: Source) -> dict[str, object]:
    from orchestrator.envs.branch_pr import publish

    assert src.repo is not None and src.gh is not None
    repo = src.repo
    path = repo.path(change.file)
    title = f"set-var: {change.stack} {change.name} = {change.value}"
    sha = repo.commit_files(src.base_sha, {path: change.text}, f"{title}\n\nby orchestrate set-var")

    def same(remote: str) -> bool:
        return repo.rev(f"{remote}^") == src.base_sha and repo.show(remote, path) == change.text

    stack = ws.stacks[change.stack]
    published = publish(
        repo,
        src.gh,
        branch=branch_name(stack, change.name),
        sha=sha,
        base=src.base,
        title=title,
        body=_body(change),
        same=same,
    )
    return published.to_json()


def _act(ws: Workspace, change: Change | None, out: Outcome, src: Source, what: str) -> str:
    """Write the change (work tree or PR); the line to tell the user."""
    if change is None:
        return out.waiting or f"{what} is already set in every environment"
    where = f"on {src.base}" if src.gh is not None else "in the work tree"
    if not change.changed:
        return (
            f"{change.stack}: {change.name} is already {change.old} in {change.file} {where}; nothing to do"
        )
    if src.gh is None:
        write_local(ws, change)
        return (
            f"{change.stack}: {change.file}: {change.name} = {change.value} (was {change.old or 'not set'})"
        )
    out.pr = _open_pr(ws, change, src)
    return f"{change.stack}: pull request #{out.pr['number']} {out.pr['action']}: {out.pr['url']}"


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
    src = _source(ws, open_pr=open_pr, need_git=all_envs, base=base)
    out = Outcome()
    if all_envs:
        from orchestrator.envs.store import RecordStore

        assert src.repo is not None
        records = RecordStore(ws.root).read().records
        change, out.waiting = next_on_path(ws, model, src.repo, stack, name, value, src.read, records)
    else:
        change = change_for(ws, model, target_stack(ws, model, stack, env), name, value, src.read)
    if change is not None:
        out.changes.append(change)
    info(_act(ws, change, out, src, f"{name} = {value} of {stack}"), no_color=app.no_color)
    if app.json_output:
        emit(to_json_text(out.to_json()))
    return 0
