"""Who may approve, and what else a pull request needs before apply (issue 11).

- ``screen``: an approval counts only from someone with write, maintain or admin access (the
  collaborator-permission endpoint), and, when set, listed in ``approval.users`` and a member
  of one of ``approval.teams``. A request for changes blocks only from someone with write
  access (as on GitHub: anyone may comment on a public repository).
- ``check_codeowners``: with ``approval.codeowners``, every file the PR changes that has an
  owner in the base's CODEOWNERS needs an approval from one of its owners.
- ``check_policy_owners``: a PR that changes the rules needs one of ``approval.policy_owners``.
- ``check_diverged``: the base branch must have no commits since the PR left it that touch a
  stack being applied, its modules, or the rules ("update the branch and plan again").

Each check returns None, or (one sentence naming the rule and the reviewer, hint).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from orchestrator.changes import stacks_for_files
from orchestrator.config import ApprovalSettings
from orchestrator.discovery import Stack
from orchestrator.git import Repo
from orchestrator.github import ROLES_THAT_APPROVE, GitHub, PullRequest, Review
from orchestrator.planset import Manifest
from orchestrator.pr import codeowners
from orchestrator.pr.reviews import is_bot, standings
from orchestrator.rules import CODEOWNERS_PATHS, BaseRules

Problem = tuple[str, str]


@dataclass(frozen=True)
class PrContext:
    """A pull request with its base read from git: what the checks below need."""

    pr: PullRequest
    rules: BaseRules
    base_tip: str  # the target branch's tip now (GitHub's view)
    prefix: str  # the orchestrate root below the top of the repository ("" at the top)
    config_path: str | None  # orchestrate.yaml from the top, None when outside the repository
    pr_files: tuple[str, ...]  # changed by the PR (merge base..head), from the top
    base_files: tuple[str, ...]  # changed on the base since the PR left it (merge base..tip)
    stacks: Mapping[str, Stack]


def _rel(prefix: str, path: str) -> str | None:
    if not prefix:
        return path
    return path[len(prefix) + 1 :] if path.startswith(prefix + "/") else None


def _is_approver(gh: GitHub, login: str, owners: Iterable[str]) -> bool:
    for owner in owners:
        if "/" in owner:
            if gh.in_team(owner, login):
                return True
        elif owner.lower() == login.lower():
            return True
    return False


def ineligible(gh: GitHub, login: str, settings: ApprovalSettings) -> str | None:
    """Why ``login``'s approval does not count, or None when it does."""
    role = gh.role(login)
    if role not in ROLES_THAT_APPROVE:
        access = "no access" if role == "none" else f"{role} access"
        return f"{login} approved but has {access} to {gh.repository}, not write"
    if settings.users and login.lower() not in {u.lower() for u in settings.users}:
        return f"{login} approved but is not listed in approval.users"
    if settings.teams and not any(gh.in_team(t, login) for t in settings.teams):
        return f"{login} approved but is not a member of any team in approval.teams ({', '.join(settings.teams)})"
    return None


def screen(
    gh: GitHub, reviews: Sequence[Review], pr: PullRequest, settings: ApprovalSettings
) -> tuple[list[Review], list[str]]:
    """The reviews that count, and why each left-out approval does not."""
    author = pr.author.lower()
    dropped: set[str] = set()
    reasons: list[str] = []
    for key, review in standings(reviews).items():
        if key == author or is_bot(review.user):
            continue  # evaluate_reviews already refuses these, naming the rule
        if review.state == "APPROVED" and review.commit_id == pr.head_sha:
            why = ineligible(gh, review.user, settings)
            if why is not None:
                dropped.add(key)
                reasons.append(why)
        elif review.state == "CHANGES_REQUESTED" and gh.role(review.user) not in ROLES_THAT_APPROVE:
            dropped.add(key)
    return [r for r in reviews if r.user.lower() not in dropped], sorted(reasons)


def check_codeowners(
    gh: GitHub, ctx: PrContext, settings: ApprovalSettings, approvers: Sequence[str]
) -> Problem | None:
    if not settings.codeowners:
        return None
    if ctx.rules.codeowners is None:
        return (
            f"approval.codeowners is true but the base commit {ctx.rules.commit[:12]} has no CODEOWNERS file",
            "Add .github/CODEOWNERS on the base branch, or set approval.codeowners: false.",
        )
    rules = codeowners.parse(ctx.rules.codeowners)
    who = ", ".join(approvers)
    for path in ctx.pr_files:
        owners = codeowners.owners_of(rules, path)
        if owners and not any(_is_approver(gh, a, owners) for a in approvers):
            named = ", ".join(f"@{o}" if "@" not in o else o for o in owners)
            verb = "is" if len(approvers) == 1 else "are"
            return (
                f"{path} needs an approval from a code owner ({named}); {who} {verb} not one",
                "Ask one of its code owners (the base branch's CODEOWNERS) to approve.",
            )
    return None


def check_policy_owners(
    gh: GitHub, ctx: PrContext, settings: ApprovalSettings, approvers: Sequence[str]
) -> Problem | None:
    if not ctx.rules.changed or not settings.policy_owners:
        return None
    if any(_is_approver(gh, a, settings.policy_owners) for a in approvers):
        return None
    return (
        f"pull request #{ctx.pr.number} changes the rules that judge it ({', '.join(ctx.rules.changed)}) and "
        f"needs an approval from one of approval.policy_owners ({', '.join(settings.policy_owners)})",
        "Ask a policy owner to approve; the new rules apply only after the PR merges.",
    )


def check_diverged(ctx: PrContext, manifest: Manifest) -> Problem | None:
    """Refuse when the base moved, since the PR left it, on anything the plan set depends on."""
    if not ctx.base_files:
        return None
    applied = {s.stack for s in manifest.stacks}
    policy_dir = posixpath.normpath(posixpath.join(ctx.prefix, ctx.rules.config.policies.dir))
    hits: dict[str, set[str]] = {}
    for path in ctx.base_files:
        rules_file = (
            path == ctx.config_path
            or path in CODEOWNERS_PATHS
            or path.startswith(policy_dir.rstrip("/") + "/")
        )
        rel = _rel(ctx.prefix, path)
        touched = set(stacks_for_files(ctx.stacks, [rel])) & applied if rel is not None else set()
        if rules_file:
            touched.add("the rules")
        if touched:
            hits[path] = touched
    if not hits:
        return None
    files = sorted(hits)
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    stacks = ", ".join(sorted(set().union(*hits.values())))
    return (
        f"{ctx.pr.base_ref} has commits since pull request #{ctx.pr.number} left it that touch {shown} ({stacks})",
        f"Update the branch (merge or rebase {ctx.pr.base_ref}) and plan again, so the plan does not revert them.",
    )


def context_for(
    repo: Repo,
    config_file: str | None,
    pr: PullRequest,
    rules: BaseRules,
    base_tip: str,
    head: str,
    stacks: Mapping[str, Stack],
) -> PrContext:
    from orchestrator.rules import config_path

    return PrContext(
        pr=pr,
        rules=rules,
        base_tip=base_tip,
        prefix=repo.root_prefix(),
        config_path=config_path(repo, config_file),
        pr_files=tuple(repo.changed_paths(rules.commit, head)),
        base_files=tuple(repo.changed_paths(rules.commit, base_tip)),
        stacks=stacks,
    )
