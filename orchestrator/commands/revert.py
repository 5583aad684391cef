"""orchestrate revert: undo a commit, or return stacks to a recorded apply, through a branch and PR."""

from __future__ import annotations

import click

from orchestrator.app import get_app
from orchestrator.envs.gitops import Repo
from orchestrator.envs.revert import RevertPlan, find_record, revert_commit, revert_to_record
from orchestrator.errors import GitError
from orchestrator.github import GitHub
from orchestrator.jsontypes import JSONData
from orchestrator.render.envs import to_json_text
from orchestrator.ui import emit, info


@click.command("revert")
@click.argument("commit", required=False)
@click.option(
    "--to-deployment",
    "deployment",
    default=None,
    metavar="ID",
    help="Return the stacks of this recorded apply (record id or GitHub deployment id) to their files then.",
)
@click.option("--open-pr", is_flag=True, help="Push the branch and open or update its pull request.")
@click.option(
    "--base", default=None, help="The branch to start from [--open-pr: the default branch; else HEAD]."
)
def command(commit: str | None, deployment: str | None, open_pr: bool, base: str | None) -> int:
    """Undo COMMIT with git revert, or --to-deployment ID, on a branch orchestrate/revert/...

    A conflict with later changes is refused, naming the files. Without --open-pr the branch is
    created locally (push it yourself); the PR's plan shows what undoing it changes.
    """
    app = get_app()
    ws = app.workspace()
    if (commit is None) == (deployment is None):
        raise click.UsageError("give a COMMIT or --to-deployment ID (one of them)")
    repo = Repo(ws.root)
    gh = None
    if open_pr:
        from orchestrator.envs.branch_pr import base_branch, github_for

        gh = github_for(ws)
        base = base_branch(gh, base)
        base_sha = repo.fetch_branch(base)
        if base_sha is None:
            raise GitError(f"the remote has no branch '{base}'", hint="Pass --base BRANCH.")
    else:
        base_sha = repo.must_rev(base or "HEAD")
    if deployment is not None:
        from orchestrator.envs.store import RecordStore

        read = RecordStore(ws.root).read()
        plan = revert_to_record(ws, repo, find_record(read.records, deployment), base_sha)
    else:
        assert commit is not None
        plan = revert_commit(ws, repo, commit, base_sha)
    out: dict[str, JSONData] = plan.to_json()
    if plan.sha is None:
        info(f"nothing to undo: {base or 'HEAD'} already has it undone", no_color=app.no_color)
    elif gh is None:
        repo.create_branch(plan.branch, plan.sha)
        info(
            f"branch {plan.branch} created ({', '.join(plan.stacks) or 'no stack'} affected); "
            f"push it and open a pull request, or run again with --open-pr",
            no_color=app.no_color,
        )
    else:
        pr = _publish(repo, gh, plan, base or "")
        out["pr"] = pr
        info(f"pull request #{pr['number']} {pr['action']}: {pr['url']}", no_color=app.no_color)
    if app.json_output:
        emit(to_json_text(out))
    return 0


def _publish(repo: Repo, gh: GitHub, plan: RevertPlan, base: str) -> dict[str, JSONData]:
    from orchestrator.envs.branch_pr import publish

    assert plan.sha is not None
    tree = repo.tree_of(plan.sha)

    def same(remote: str) -> bool:
        return repo.rev(f"{remote}^") == plan.base and repo.tree_of(remote) == tree

    return publish(
        repo, gh, branch=plan.branch, sha=plan.sha, base=base, title=plan.title, body=plan.body, same=same
    ).to_json()
