"""Glue between `plan`/`apply` and the pull-request flow, so those commands stay thin.

plan:  ``prepare_plan`` (before planning: which PR, is it a fork, the environment terraform
       gets) and ``finish_plan`` (after: job summary, sticky comment, commit statuses).
apply: ``approve_apply`` (the GitHub approval, refusals audited and posted on the PR) and
       ``finish_apply`` (the result on the PR, then ``--merge``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.approval import Approval
from orchestrator.errors import GitHubError, OrchestratorError
from orchestrator.github import GitHub, GitHubSettings
from orchestrator.planset import PLAN_JSON, Manifest, read_manifest, read_plan_json
from orchestrator.pr.event import PrEvent
from orchestrator.pr.forks import ForkDecision, decide, scrub_credentials
from orchestrator.pr.publish import (
    Published,
    comment_key,
    empty_dir,
    github_event,
    publish_plan,
    publish_summary,
    resolve_pr_number,
    write_step_summary,
)
from orchestrator.pr.view import build_redactor, comment_data
from orchestrator.redact import Redactor
from orchestrator.render.summary import render_apply_result, render_refusal
from orchestrator.ui import info, warn
from orchestrator.workspace import Workspace


@dataclass
class PlanFlow:
    """What the PR flow knows before `plan` runs, and what the plan's selection adds."""

    comment: bool
    number: int | None
    event: PrEvent | None
    settings: GitHubSettings
    fork: ForkDecision
    base_env: dict[str, str] | None = None  # the environment terraform starts from (forks: scrubbed)
    reasons: Mapping[str, Sequence[str]] = field(default_factory=dict)
    deleted: Sequence[str] = ()
    published: Published | None = None


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def prepare_plan(
    ws: Workspace, *, comment: bool, pr: int | None, env: Mapping[str, str] | None = None
) -> PlanFlow | None:
    """None outside a pull request (no --comment, no PR event, no job summary to write)."""
    env = _env(env)
    settings = GitHubSettings.from_env(ws.config.github, env)
    event = github_event(settings, env)
    if not comment and pr is None and event is None and not env.get("GITHUB_STEP_SUMMARY"):
        return None
    if comment:
        settings.require()  # fail before planning, not after
    number = (
        resolve_pr_number(pr, event)
        if comment
        else (pr if pr is not None else (event.number if event else None))
    )
    is_fork = event.is_fork if event is not None and (number is None or event.number == number) else None
    source = event.head_repo if event is not None else None
    if comment and number is not None and is_fork is None:
        # The payload does not say (issue_comment, or --pr outside Actions): ask GitHub.
        pull = GitHub(settings).pull(number)
        is_fork, source = pull.is_fork, pull.head_repo
    fork = decide(is_fork, ws.config.approval.allow_forks, source)
    base_env = scrub_credentials(env, empty_dir()) if fork.scrub else None
    if fork.note:
        warn(fork.note)
    return PlanFlow(comment, number, event, settings, fork, base_env)


def finish_plan(ws: Workspace, run: Any, flow: PlanFlow, *, no_color: bool = False) -> None:
    """Job summary, then (with --comment) the sticky comment and commit statuses."""
    data, redactor = comment_data(
        ws,
        run.dir,
        run.manifest,
        reasons=flow.reasons,
        deleted=flow.deleted,
        policy=run.policy,
        run_url=flow.settings.run_url,
        pr=flow.number,
        warnings=[flow.fork.note] if flow.fork.note else [],
    )
    summary = publish_summary(data, redactor)
    if summary:
        info(f"job summary written to {summary}", no_color=no_color)
    if not flow.comment:
        return
    assert flow.number is not None  # resolve_pr_number raised otherwise
    try:
        gh = GitHub(flow.settings, redactor=redactor)
        flow.published = publish_plan(gh, flow.number, data, redactor, key=comment_key(ws.root), root=ws.root)
    except GitHubError as exc:
        if flow.fork.is_fork:
            # A fork's workflow token is read-only: the plan and the job summary still stand.
            warn(
                f"could not post on pull request #{flow.number} from a fork: {exc.message}", no_color=no_color
            )
            return
        raise
    for w in flow.published.warnings:
        warn(w, no_color=no_color)
    if flow.published.comment_url:
        parts = f" ({flow.published.parts} parts)" if flow.published.parts > 1 else ""
        info(
            f"plan posted on pull request #{flow.number}{parts}: {flow.published.comment_url}",
            no_color=no_color,
        )


# ---------------------------------------------------------------- apply


@dataclass
class ApplyFlow:
    number: int
    gh: GitHub
    redactor: Redactor
    manifest: Manifest
    settings: GitHubSettings


def plan_set_redactor(
    ws: Workspace, plan_set: Path, manifest: Manifest, extra: Sequence[str] = ()
) -> Redactor:
    plans = {}
    for sp in manifest.stacks:
        if (plan_set / sp.slug / PLAN_JSON).is_file():
            try:
                plans[sp.stack] = read_plan_json(plan_set, sp.slug)
            except OrchestratorError:
                continue
    return build_redactor(ws, plans, extra)


def plan_set_shown_on(ws: Workspace, number: int) -> Path | None:
    """The local plan set a PR shows (its sticky comment, else its body), when it is here."""
    from orchestrator.planset import PLANS_DIR
    from orchestrator.pr.gate import shown_plan_set

    gh = GitHub(GitHubSettings.from_env(ws.config.github), redactor=Redactor(ws.config.redact))
    ref = shown_plan_set(gh, gh.pull(number), comment_key(ws.root))
    if ref is None:
        return None
    candidate = ws.root / PLANS_DIR / ref.id
    return candidate if candidate.is_dir() else None


def approve_apply(ws: Workspace, plan_set: Path, number: int, engine: Any) -> tuple[Approval, ApplyFlow]:
    """The GitHub approval for applying ``plan_set``; a refusal is audited, posted, raised."""
    from orchestrator import audit
    from orchestrator.engine.apply import audit_record
    from orchestrator.pr.gate import github_approval

    manifest = read_manifest(plan_set)
    settings = GitHubSettings.from_env(ws.config.github)
    redactor = plan_set_redactor(ws, plan_set, manifest, sorted(engine.redactor.secrets))
    gh = GitHub(settings, redactor=redactor)
    flow = ApplyFlow(number, gh, redactor, manifest, settings)
    try:
        approval = github_approval(gh, number, manifest, ws.config, key=comment_key(ws.root))
    except OrchestratorError as exc:
        audit.append(
            engine.root,
            audit_record(
                "apply",
                engine=engine,
                plan_set=plan_set,
                manifest_id=manifest.id,
                approval=None,
                result="refused",
                reason=exc.message,
                extra={"pr": number},
            ),
        )
        post_refusal(flow, exc)
        raise
    return approval, flow


def post_refusal(flow: ApplyFlow, exc: OrchestratorError) -> None:
    """Tell the PR why nothing was applied (best effort: the refusal itself is what matters)."""
    try:
        flow.gh.create_comment(
            flow.number, render_refusal(exc.message, flow.redactor, run_url=flow.settings.run_url)
        )
    except GitHubError as post_exc:
        warn(f"could not post the refusal on pull request #{flow.number}: {post_exc.message}")


def finish_apply(flow: ApplyFlow, run: Any, *, merge: bool, method: str = "merge") -> str | None:
    """Post the result on the PR; with ``merge``, merge it after a fully successful apply."""
    result = run.to_json()
    statuses = {s["status"] for s in result["stacks"]}
    merged_sha = None
    merge_error: GitHubError | None = None
    if merge:
        if run.exit_code == 0 and not statuses & {"failed", "skipped", "re-approval-needed"}:
            assert flow.manifest.commit is not None  # the gate refused otherwise
            try:
                merged_sha = flow.gh.merge(
                    flow.number,
                    sha=flow.manifest.commit,
                    method=method,
                    title=f"Apply plan set {flow.manifest.id} (#{flow.number})",
                )
            except GitHubError as exc:
                merge_error = exc
        else:
            warn(f"not merging pull request #{flow.number}: the apply did not fully succeed")
    body = render_apply_result(
        result, flow.redactor, run_url=flow.settings.run_url, merged=merged_sha, pr=flow.number
    )
    if merge_error is not None:
        body += f"\n⚠️ The pull request was not merged: {merge_error.message}\n"
    write_step_summary(body)
    try:
        flow.gh.create_comment(flow.number, body)
    except GitHubError as exc:
        # The infrastructure changed either way; say so loudly but do not hide the apply's result.
        warn(
            f"the apply finished but its result could not be posted on pull request #{flow.number}: {exc.message}"
        )
    if merge_error is not None:
        raise merge_error
    if merged_sha:
        info(f"merged pull request #{flow.number} ({merged_sha[:12]})")
    return merged_sha
