"""`plan --comment` and the apply result: what orchestrate publishes on GitHub.

For a plan set: the sticky comment (edited in place, split into numbered parts when long), a
commit status per stack plus one for the whole plan set (``orchestrate/plan``, the context to
require in branch protection), and the job summary in ``$GITHUB_STEP_SUMMARY``. Everything
goes through the plan set's Redactor.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import GitHubError
from orchestrator.git import Repo
from orchestrator.github import GitHub, GitHubSettings
from orchestrator.planset import Manifest
from orchestrator.pr.event import PrEvent, read_event
from orchestrator.redact import Redactor
from orchestrator.render.comment import CommentData, overall_status, render_comment, status_for
from orchestrator.render.summary import render_plan_summary

MAX_STACK_STATUSES = 100  # one status per stack up to this many; the overall one always


@dataclass
class Published:
    comment_url: str | None = None
    parts: int = 0
    statuses: int = 0
    summary_file: str | None = None
    warnings: list[str] = field(default_factory=list)


def comment_key(root: Path) -> str:
    """The sticky comment's key: "plan", or "plan/<dir>" for a repository root below the git top
    (two orchestrate roots in one repository keep one comment each)."""
    repo = Repo.find(root)
    rel = repo.root_prefix() if repo is not None else ""
    if not rel:
        return "plan"
    safe = "".join(c if c.isalnum() or c in "._-/" else "-" for c in rel)
    return f"plan/{safe}"


def status_context(key: str, stack: str | None = None) -> str:
    from orchestrator.render.escape import one_line

    base = "orchestrate/" + key
    return f"{base}: {one_line(stack)}" if stack else base


def github_event(settings: GitHubSettings, env: Mapping[str, str] | None = None) -> PrEvent | None:
    env = os.environ if env is None else env
    return read_event(settings.event_path, env.get("GITHUB_EVENT_NAME"))


def resolve_pr_number(explicit: int | None, event: PrEvent | None) -> int:
    if explicit is not None:
        return explicit
    if event is not None:
        return event.number
    raise GitHubError(
        "--comment needs a pull request: pass --pr N, or run in a workflow triggered by a pull request",
        hint="GitHub Actions names the PR in the event payload ($GITHUB_EVENT_PATH).",
    )


def commit_parents(root: Path, sha: str) -> list[str]:
    """The parents of the planned commit; [] when this clone does not have it (or is no clone)."""
    repo = Repo.find(root)
    if repo is None or not repo.has_commit(sha):
        return []
    return repo.parents(sha)


def write_step_summary(text: str, env: Mapping[str, str] | None = None) -> str | None:
    """Append ``text`` to $GITHUB_STEP_SUMMARY (what GitHub expects); the path, or None if unset."""
    env = os.environ if env is None else env
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise GitHubError(
            f"cannot write the job summary: {exc.strerror or exc}",
            where=path,
            hint="GITHUB_STEP_SUMMARY should name a writable file (GitHub Actions sets it).",
        ) from exc
    return path


def check_head(manifest: Manifest, head_sha: str, number: int, root: Path) -> str | None:
    """None when the plan set belongs on the PR's head; a warning when the PR moved on;
    a GitHubError when the plan was made from GitHub's merge commit instead of the head."""
    if manifest.commit is None or manifest.commit == head_sha:
        return None
    if head_sha in commit_parents(root, manifest.commit):
        raise GitHubError(
            f"the plan set was made at {manifest.commit[:12]}, a merge of pull request #{number}'s head "
            f"{head_sha[:12]} into its base, not at the head itself",
            hint="actions/checkout checks out that merge commit by default: set "
            "`ref: ${{ github.event.pull_request.head.sha }}` so the approved commit is the planned one.",
        )
    return (
        f"not updating the comment on pull request #{number}: its head moved to {head_sha[:12]} and this "
        f"plan is for {manifest.commit[:12]} (the run for the new head posts its own plan)"
    )


def publish_plan(
    gh: GitHub,
    number: int,
    data: CommentData,
    redactor: Redactor,
    *,
    key: str,
    root: Path,
) -> Published:
    """The sticky comment and the commit statuses for a plan set on PR ``number``."""
    out = Published()
    pr = gh.pull(number)
    stale = check_head(data.manifest, pr.head_sha, number, root)
    if stale is not None:
        out.warnings.append(stale)
        return out
    parts = render_comment(data, redactor)
    comments = gh.upsert_sticky(number, key, parts)
    out.parts = len(comments)
    out.comment_url = comments[0].html_url if comments else None
    sha = data.manifest.commit or pr.head_sha
    target = data.run_url or out.comment_url
    shown = list(data.sections)
    if len(shown) > MAX_STACK_STATUSES:
        out.warnings.append(
            f"{len(shown)} stacks: commit statuses were set for the first {MAX_STACK_STATUSES} only "
            f"(the `{status_context(key)}` status covers them all)"
        )
        shown = shown[:MAX_STACK_STATUSES]
    for section in shown:
        state, description = status_for(section, data.enforcement)
        gh.set_status(
            sha,
            context=status_context(key, section.plan.stack),
            state=state,
            description=description,
            target_url=target,
        )
        out.statuses += 1
    state, description = overall_status(data)
    gh.set_status(sha, context=status_context(key), state=state, description=description, target_url=target)
    out.statuses += 1
    return out


def publish_summary(
    data: CommentData, redactor: Redactor, env: Mapping[str, str] | None = None
) -> str | None:
    """The job summary, when running in GitHub Actions."""
    env = os.environ if env is None else env
    if not env.get("GITHUB_STEP_SUMMARY"):
        return None
    return write_step_summary(render_plan_summary(data, redactor), env)


def empty_dir() -> str:
    """An empty directory for credential-free tools' configuration (fork plans)."""
    return tempfile.mkdtemp(prefix="orchestrate-nocreds-")
