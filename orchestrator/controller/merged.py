"""`apply --merged` (approval.mode: on-merge): apply, on the default branch, the plan set approved
on the pull request that was merged, and only when what was merged is what was approved.

Checked in this order, any failure leaving nothing applied:
the work tree is at the merged commit; GitHub names the merged PR whose merge commit it is; the
plan set orchestrate showed on that PR is here; the rules (approval, policies, redact, github)
are the PR's base's (never the merged ones: a PR cannot approve itself by changing them);
approval.mode is on-merge; the PR's approval under those rules (the same checks as `apply --pr`:
reviews on the head by people with write access, users/teams, code owners, policy owners, the
plan set shown by orchestrate, digest for digest) holds; every stack the merge changed is in that
plan set; and for every stack in it, its files and modules are the same at the merged commit as
at the approved head, and the base did not move on anything it depends on (undiverged). The
engine then checks the source digests, the effective configuration, policies and that the state
has not moved since planning. A mismatch is a NeedsApproval (exit 2): the affected stacks are
planned again at the merged commit (controller/replan.py), the reason and that plan are posted on
the PR, and the commit status ``orchestrate/apply`` on the merged commit fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.approval import Approval
from orchestrator.changes import stacks_for_files
from orchestrator.controller.replan import MergedCommit, Replan, replan_merged
from orchestrator.errors import (
    ApprovalRefused,
    ConfigError,
    EffectiveConfigChanged,
    GitError,
    GitHubError,
    NeedsApproval,
    OrchestratorError,
    StalePlanError,
)
from orchestrator.git import Repo
from orchestrator.github import GitHub, GitHubSettings, PullRequest
from orchestrator.planset import LoadedPlanSet, Manifest, load_plan_set
from orchestrator.pr.approvers import context_for
from orchestrator.pr.publish import comment_key
from orchestrator.rules import base_config, read_base_rules, require_merge_base
from orchestrator.workspace import Workspace

NOT_APPLIED = "Nothing was applied; plan the default branch and get the new plan approved."


@dataclass
class MergedApply:
    commit: str
    pr: PullRequest
    loaded: LoadedPlanSet  # read once: approval, verification and apply use this value
    gh: GitHub
    merge: MergedCommit
    approval: Approval | None = None

    @property
    def directory(self) -> Path:
        return self.loaded.dir

    @property
    def manifest(self) -> Manifest:
        return self.loaded.manifest


def merged_pull(gh: GitHub, commit: str) -> PullRequest:
    """The merged PR whose merge commit is ``commit`` (GitHub's word; newest first)."""
    branch = gh.default_branch()
    for pr in gh.find_pulls(base=branch, state="closed"):
        if pr.merged and pr.merge_commit_sha == commit:
            return pr
    raise ApprovalRefused(
        f"apply refused: no pull request into {branch} was merged as commit {commit[:12]}",
        hint="apply --merged applies only what a merged pull request approved; for a direct push, "
        "plan and apply with an approval. Nothing was applied.",
    )


def _refuse(message: str, hint: str = NOT_APPLIED) -> NeedsApproval:
    return NeedsApproval(f"needs approval: {message}", hint=hint)


def prepare_merged(ws: Workspace, commit: str | None, plan_set: Path | None) -> MergedApply:
    """Everything up to (not including) the approval: the PR, its plan set, its base's rules."""
    repo = Repo.open(ws.root, hint="apply --merged compares commits: run it in a clone.")
    head_config = ws.config  # as checked out, before the PR's base rules are adopted
    sha, parent = at_merged_commit(repo, commit)
    # Where GitHub is comes from the default branch before the merge, never from the merged
    # orchestrate.yaml (a PR pointing github.api_url at a server that approves anything).
    settings = GitHubSettings.from_env(base_config(repo, ws.config_file, ws.config, parent).github)
    settings.require()
    gh = GitHub(settings)
    pr = merged_pull(gh, sha)
    loaded, approved = _approved_plan_set(ws, repo, gh, pr, plan_set)
    # The base before the merge: the rules come from where the PR left it, and what the base
    # gained since then is what check_diverged compares with the plan set's stacks.
    base = require_merge_base(repo, approved, parent, f"pull request #{pr.number}")
    rules = read_base_rules(repo, ws.config_file, ws.config, base, approved)
    ws.judge_by(rules)
    if ws.config.approval.mode != "on-merge":
        raise ConfigError(
            "apply --merged needs approval.mode: on-merge in orchestrate.yaml (it is before-merge)",
            hint="With before-merge, PRs are applied by apply --pr N before they merge. Nothing was applied.",
        )
    merged = MergedApply(sha, pr, loaded, gh, MergedCommit(ws.root, ws.config_file, head_config, sha, parent))
    try:
        _check_content(repo, ws, merged, parent)
        context = context_for(repo, ws.config_file, pr, rules, parent, approved, ws.stacks)
        approval = _approve(merged, ws, context)
        merged.approval = approval.for_plan_set(loaded) if approval is not None else None
    except ApprovalRefused as exc:
        error = refused(merged, exc)
        if error is exc:
            raise
        raise error from exc
    return merged


def at_merged_commit(repo: Repo, commit: str | None) -> tuple[str, str]:
    """The merged commit (``commit``, else HEAD), which the work tree must be at, and its first
    parent: the default branch before the merge."""
    head = repo.head()
    sha = repo.must_rev(commit) if commit else head
    if sha is None or head != sha:
        raise GitError(
            f"the work tree is at {(head or 'no commit')[:12]}, not at the merged commit {(sha or '?')[:12]}",
            hint="Check out the merged commit (the push to the default branch) and run again. "
            "Nothing was applied.",
        )
    parents = repo.parents(sha)
    if not parents:
        raise GitError(f"commit {sha[:12]} has no parent: it cannot be a merge", hint="Nothing was applied.")
    return sha, parents[0]


def _approved_plan_set(
    ws: Workspace, repo: Repo, gh: GitHub, pr: PullRequest, plan_set: Path | None
) -> tuple[LoadedPlanSet, str]:
    """The plan set shown on the merged PR (or ``plan_set``), read once, and its commit (the
    approved head), which must be in this clone."""
    from orchestrator.pr.flow import plan_set_shown_on

    directory = plan_set or plan_set_shown_on(ws, gh, pr)
    if directory is None:
        raise ApprovalRefused(
            f"apply refused: the plan set shown on pull request #{pr.number} is not in .orchestrate/plans",
            hint="Download the plan job's artifact of the PR's head (or pass --plan-set DIR). "
            "Nothing was applied.",
        )
    loaded = load_plan_set(directory)
    manifest = loaded.manifest
    if manifest.commit is None or not repo.has_commit(manifest.commit):
        raise ApprovalRefused(
            f"apply refused: the plan set's commit {(manifest.commit or 'none')[:12]} is not in this clone",
            hint="Fetch the history (actions/checkout with fetch-depth: 0). Nothing was applied.",
        )
    return loaded, manifest.commit


def refused(merged: MergedApply, exc: OrchestratorError) -> OrchestratorError:
    """Report a refusal on the merged PR and its commit; on "needs approval", plan the affected
    stacks again at the merged commit first and show that plan. Returns the error to raise."""
    from orchestrator.ui import warn

    replan: Replan | None = None
    if isinstance(exc, StalePlanError | EffectiveConfigChanged) and not isinstance(exc, NeedsApproval):
        # What was approved no longer describes what would happen here: the state moved, or the
        # merged commit gives a stack another target, backend, var files or environment.
        exc = NeedsApproval(f"needs approval: {exc.message.removeprefix('apply refused: ')}", where=exc.where)
    if isinstance(exc, NeedsApproval):
        replan = replan_merged(merged.merge, merged.manifest)
    for w in report_refusal(merged.pr, merged.gh, merged.commit, exc.message, replan):
        warn(w)
    if replan is None or replan.run is None:
        return exc
    pid = replan.run.manifest.id
    return NeedsApproval(
        exc.message,
        where=exc.where,
        hint=f"Nothing was applied. The affected stacks were planned again at {merged.commit[:12]} "
        f"(plan set {pid}, shown on pull request #{merged.pr.number}); it applies only with a new "
        "approval (docs/controller.md).",
    )


def _check_content(repo: Repo, ws: Workspace, merged: MergedApply, parent: str) -> None:
    """Every stack the merge changed is in the plan set, and each stack of the plan set holds the
    same files at the merged commit as at the approved commit."""
    assert merged.manifest.commit is not None
    prefix = repo.root_prefix()
    changed = [
        p[len(prefix) + 1 :] if prefix and p.startswith(prefix + "/") else p
        for p in repo.changed_paths(parent, merged.commit)
    ]
    planned = {s.stack for s in merged.manifest.stacks}
    missing = sorted(set(stacks_for_files(ws.stacks, changed)) - planned)
    if missing:
        raise _refuse(
            f"the merge of pull request #{merged.pr.number} changed {', '.join(missing)}, which its approved "
            f"plan set {merged.manifest.id} does not cover"
        )
    differ = []
    for sp in merged.manifest.stacks:
        stack = ws.stacks.get(sp.stack)
        if stack is None:
            differ.append(f"{sp.stack} (gone)")
            continue
        paths = repo.paths([stack.path, *stack.module_paths])
        if not repo.same_content(merged.manifest.commit, merged.commit, paths):
            differ.append(sp.stack)
    if differ:
        raise _refuse(
            f"the merged commit {merged.commit[:12]} differs from the approved commit "
            f"{merged.manifest.commit[:12]} of pull request #{merged.pr.number} in {', '.join(differ)} "
            "(the merge brought other changes to them)"
        )


def _approve(merged: MergedApply, ws: Workspace, context: object) -> Approval:
    from orchestrator.pr.approvers import PrContext
    from orchestrator.pr.gate import github_approval

    assert isinstance(context, PrContext)
    try:
        return github_approval(
            merged.gh,
            merged.pr.number,
            merged.manifest,
            ws.config,
            key=comment_key(ws.root),
            context=context,
            merged=True,
        )
    except NeedsApproval:
        raise
    except ApprovalRefused as exc:
        if "has commits since" in exc.message:  # check_diverged: the base moved under the PR
            raise _refuse(exc.message.removeprefix("apply refused: ")) from exc
        raise


def report_refusal(
    merged_pr: PullRequest, gh: GitHub, commit: str, message: str, replan: Replan | None = None
) -> list[str]:
    """The reason (and the plan made again, if any) on the merged PR and a failing
    ``orchestrate/apply`` status on the commit."""
    from orchestrator.render.summary import render_merged_refusal

    warnings: list[str] = []
    try:
        gh.create_comment(
            merged_pr.number, render_merged_refusal(message, replan.markdown if replan is not None else None)
        )
        gh.set_status(commit, context="orchestrate/apply", state="failure", description=message)
    except GitHubError as exc:
        warnings.append(f"could not report the refusal on GitHub: {exc.message}")
    return warnings
