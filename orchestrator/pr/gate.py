"""`apply --pr N`: the GitHub side of approval (SPEC §6).

A plan set may be applied on the strength of a pull request only when, checked in this order:
the PR is open; it is not from a fork (unless ``approval.allow_forks``); its head commit is
the commit the plan set was made at; its reviews approve that head commit
(orchestrator.pr.reviews); and the plan set is the one shown on the PR (the hidden block in
the sticky comment, or in the PR body for drift PRs), digest for digest. Anything else is an
ApprovalRefused whose message is one sentence naming the rule. The plan files, the commit of
the work tree and the policies are checked afterwards by the engine (engine.verify).
"""

from __future__ import annotations

from orchestrator.approval import Approval
from orchestrator.config import RootConfig
from orchestrator.errors import ApprovalRefused
from orchestrator.github import GitHub, PullRequest
from orchestrator.planset import Manifest
from orchestrator.pr.reviews import evaluate_reviews
from orchestrator.render.comment import PlanSetRef, manifest_digest, parse_plan_set_block

NOTHING = "Nothing was applied."


def _refuse(message: str, hint: str) -> ApprovalRefused:
    return ApprovalRefused(f"apply refused: {message}", hint=f"{hint} {NOTHING}")


def shown_plan_set(gh: GitHub, pr: PullRequest, key: str) -> PlanSetRef | None:
    """The plan set the PR shows: its sticky plan comment, else its body (drift PRs)."""
    parts = gh.sticky(pr.number, key)
    ref = parse_plan_set_block("\n".join(c.body for c in parts)) if parts else None
    return ref or parse_plan_set_block(pr.body)


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


def github_approval(
    gh: GitHub, number: int, manifest: Manifest, config: RootConfig, *, key: str = "plan"
) -> Approval:
    """An Approval (source github) for applying ``manifest``, or ApprovalRefused."""
    pr = gh.pull(number)
    if pr.merged:
        raise _refuse(
            f"pull request #{number} is already merged",
            "Apply before merging (apply --pr N --merge), or apply a new plan of the default branch.",
        )
    if pr.state != "open":
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
    verdict = evaluate_reviews(
        gh.reviews(number),
        author=pr.author,
        head_sha=pr.head_sha,
        required=config.approval.required,
        number=number,
    )
    if not verdict.approved:
        hint = {
            "changes-requested": "The reviewer must approve (or the request be dismissed) first.",
            "stale-approval": "Approvals count only on the current head commit: ask for a new review.",
            "self-approval": "Ask someone other than the author to approve.",
        }.get(verdict.rule or "", "Ask for a review that approves the pull request.")
        raise _refuse(str(verdict.reason), hint)
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
        },
    )
