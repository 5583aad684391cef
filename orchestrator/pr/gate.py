"""`apply --pr N`: the GitHub side of approval (SPEC §6, §11).

A plan set may be applied on the strength of a pull request only when, checked in this order:
the PR is open; it is not from a fork (unless ``approval.allow_forks``); its head commit is
the commit the plan set was made at; its reviews approve that head commit
(orchestrator.pr.reviews) and every approval counted comes from someone with write access
(and in ``approval.users`` / ``approval.teams`` when set); code owners approved their files
(``approval.codeowners``); a policy owner approved a PR that changes the rules
(``approval.policy_owners``); the base branch has no commits since the PR left it that touch
the stacks applied (undiverged); and the plan set is the one orchestrate itself showed on the
PR (the hidden block in its own sticky comment, or in the body of a drift PR it opened),
digest for digest. The rules (``config``) are the base commit's (orchestrator.rules). Anything
else is an ApprovalRefused whose message is one sentence naming the rule. The plan files, the
commit of the work tree and the policies are checked afterwards by the engine (engine.verify).
"""

from __future__ import annotations

from orchestrator.approval import Approval
from orchestrator.config import RootConfig
from orchestrator.errors import ApprovalRefused
from orchestrator.github import GitHub, PullRequest
from orchestrator.planset import Manifest
from orchestrator.pr.approvers import PrContext, check_codeowners, check_diverged, check_policy_owners, screen
from orchestrator.pr.reviews import ReviewVerdict, evaluate_reviews
from orchestrator.render.comment import PlanSetRef, manifest_digest, parse_plan_set_block

NOTHING = "Nothing was applied."


def _refuse(message: str, hint: str) -> ApprovalRefused:
    return ApprovalRefused(f"apply refused: {message}", hint=f"{hint} {NOTHING}")


def opened_by_orchestrate(gh: GitHub, pr: PullRequest) -> bool:
    """A drift PR orchestrate opened: written by its own account, from a drift branch of this
    repository. Only such a PR's body may carry the plan set (anyone else can write a body)."""
    from orchestrator.drift_pr.record import BRANCH_PREFIX

    return (
        not pr.is_fork and pr.head_ref.startswith(BRANCH_PREFIX) and pr.author.lower() == gh.whoami().lower()
    )


def shown_plan_set(gh: GitHub, pr: PullRequest, key: str) -> PlanSetRef | None:
    """The plan set the PR shows: orchestrate's own sticky comment, else the body of a drift
    PR orchestrate opened. Comments and bodies by anyone else never count."""
    parts = gh.sticky(pr.number, key)
    ref = parse_plan_set_block("\n".join(c.body for c in parts)) if parts else None
    if ref is None and opened_by_orchestrate(gh, pr):
        ref = parse_plan_set_block(pr.body)
    return ref


def check_shown(ref: PlanSetRef | None, manifest: Manifest, number: int) -> None:
    """The plan set being applied is exactly the one reviewers saw on the PR."""
    if ref is None:
        raise _refuse(
            f"plan set {manifest.id} was never shown on pull request #{number}",
            "Post it with `orchestrate plan --comment --pr N` so reviewers approve what will be applied.",
        )
    if ref.id != manifest.id or ref.manifest_sha256 != manifest_digest(manifest):
        raise _refuse(
            f"plan set {manifest.id} is not the one shown on pull request #{number} ({ref.id})",
            "Apply the plan set of the latest plan run (its artifact), or plan again.",
        )
    for sp in manifest.stacks:
        # (the manifest's sha256 already covers these; they are absent for very large sets)
        if ref.stacks and sp.plan_sha256 and ref.stacks.get(sp.stack) != sp.plan_sha256:
            raise _refuse(
                f"the plan of '{sp.stack}' differs from the one shown on pull request #{number}",
                "Plan again and get the new plan approved.",
            )


def check_pull_request(
    pr: PullRequest, number: int, manifest: Manifest, config: RootConfig, *, merged: bool
) -> None:
    """The pull request is in a state to apply from, and its head is the plan set's commit."""
    if merged:  # apply --merged (approval.mode: on-merge): the approval of a PR that was merged
        if not pr.merged:
            raise _refuse(f"pull request #{number} is not merged", "Merge it first, or use apply --pr N.")
    elif pr.merged:
        raise _refuse(
            f"pull request #{number} is already merged",
            "Apply before merging (apply --pr N --merge), or apply a new plan of the default branch.",
        )
    elif pr.state != "open":
        raise _refuse(f"pull request #{number} is closed", "Reopen it, or open a new one.")
    if pr.is_fork and not config.approval.allow_forks:
        raise _refuse(
            f"pull request #{number} comes from the fork {pr.head_repo or '(deleted)'} and "
            "approval.allow_forks is false",
            "Push the branch to this repository, or set approval.allow_forks: true in orchestrate.yaml.",
        )
    if manifest.commit is None:
        raise _refuse(
            "the plan set was not made from a git commit, so it cannot match the pull request",
            "Plan in a clone of the repository at the PR's head commit.",
        )
    if pr.head_sha != manifest.commit:
        raise _refuse(
            f"the head of pull request #{number} is {pr.head_sha[:12]} but the plan set was made at commit "
            f"{manifest.commit[:12]}",
            "A newer push needs its own plan and approval: apply the plan set of the latest plan run.",
        )


def approving_reviews(gh: GitHub, pr: PullRequest, number: int, config: RootConfig) -> ReviewVerdict:
    """The verdict of the reviews that count (people who may approve, on the head commit)."""
    reviews, excluded = screen(gh, gh.reviews(number), pr, config.approval)
    verdict = evaluate_reviews(
        reviews,
        author=pr.author,
        head_sha=pr.head_sha,
        required=config.approval.required,
        number=number,
    )
    if not verdict.approved and excluded:
        raise _refuse(
            "; ".join(excluded) + f" (pull request #{number} needs {config.approval.required} approval"
            f"{'s' if config.approval.required != 1 else ''} from people who may approve)",
            "Ask someone with write access to the repository (and in approval.users / approval.teams, "
            "when set) to approve.",
        )
    if not verdict.approved:
        hint = {
            "changes-requested": "The reviewer must approve (or the request be dismissed) first.",
            "stale-approval": "Approvals count only on the current head commit: ask for a new review.",
            "self-approval": "Ask someone other than the author to approve.",
        }.get(verdict.rule or "", "Ask for a review that approves the pull request.")
        raise _refuse(str(verdict.reason), hint)
    return verdict


def github_approval(
    gh: GitHub,
    number: int,
    manifest: Manifest,
    config: RootConfig,
    *,
    key: str = "plan",
    context: PrContext | None = None,
    merged: bool = False,
) -> Approval:
    """An Approval (source github) for applying ``manifest``, or ApprovalRefused.

    ``config`` holds the base commit's rules; ``context`` (the base, the stacks, the files the
    PR changes) enables the code-owner, policy-owner and undiverged checks."""
    pr = context.pr if context is not None else gh.pull(number)
    check_pull_request(pr, number, manifest, config, merged=merged)
    verdict = approving_reviews(gh, pr, number, config)
    if context is not None:
        for check in (check_codeowners, check_policy_owners):
            problem = check(gh, context, config.approval, verdict.approvers)
            if problem is not None:
                raise _refuse(*problem)
        problem = check_diverged(context, manifest)
        if problem is not None:
            raise _refuse(*problem)
    check_shown(shown_plan_set(gh, pr, key), manifest, number)
    approver = ", ".join(verdict.approvers) or f"(approval.required: {config.approval.required})"
    return Approval(
        "github",
        approver,
        reason=f"approved on pull request #{number} at {pr.head_sha[:12]}",
        pr=number,
        details={
            "reviewers": list(verdict.approvers),
            "review_ids": list(verdict.review_ids),
            "head": pr.head_sha,
            "author": pr.author,
            "plan_set": manifest.id,
            "url": pr.html_url,
            "rules_from": context.rules.commit if context is not None else None,
        },
    )
