"""Push a commit to an orchestrate branch and keep one pull request open for it (set-var, revert).

The push carries a lease on the branch sha read just before, so a branch someone else moved
is never overwritten; a branch that already holds the same change is not pushed again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.envs.gitops import Repo
from orchestrator.github import GitHub, GitHubSettings
from orchestrator.redact import Redactor
from orchestrator.workspace import Workspace


@dataclass(frozen=True)
class Published:
    branch: str
    head: str
    pushed: bool
    action: Literal["opened", "updated", "unchanged"]
    number: int
    url: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def github_for(ws: Workspace) -> GitHub:
    settings = GitHubSettings.from_env(ws.config.github)
    settings.require()
    return GitHub(settings, redactor=Redactor(ws.config.redact))


def base_branch(gh: GitHub, base: str | None) -> str:
    return base or gh.default_branch()


def publish(
    repo: Repo,
    gh: GitHub,
    *,
    branch: str,
    sha: str,
    base: str,
    title: str,
    body: str,
    same: Callable[[str], bool],
) -> Published:
    """Point ``branch`` at ``sha`` (unless it already holds the same change: ``same(remote_sha)``)
    and open or update its pull request into ``base``."""
    remote_sha = repo.fetch_branch(branch)
    pushed = False
    head = sha
    if remote_sha is not None and same(remote_sha):
        head = remote_sha
    else:
        repo.push_branch(sha, branch, remote_sha)
        pushed = True
    open_prs = gh.find_pulls(head=branch, base=base)
    if open_prs:
        pr = open_prs[0]
        if pr.title == title and pr.body == body and not pushed:
            return Published(branch, head, pushed, "unchanged", pr.number, pr.html_url)
        gh.update_pull(pr.number, title=title, body=body)
        return Published(branch, head, pushed, "updated", pr.number, pr.html_url)
    pr = gh.create_pull(title=title, body=body, head=branch, base=base)
    return Published(branch, head, pushed, "opened", pr.number, pr.html_url)
