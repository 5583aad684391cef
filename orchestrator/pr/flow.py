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
from typing import TYPE_CHECKING

from orchestrator.approval import Approval
from orchestrator.errors import ApprovalRefused, ConfigError, GitError, GitHubError, OrchestratorError
from orchestrator.git import Repo
from orchestrator.github import GitHub, GitHubSettings, PullRequest
from orchestrator.planset import PLAN_JSON, LoadedPlanSet, Manifest, load_plan_set, read_plan_json
from orchestrator.planset_crypto import identity_available
from orchestrator.pr.approvers import PrContext, context_for
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
from orchestrator.rules import (
    BaseRules,
    base_config,
    find_merge_base,
    local_base_candidates,
    read_base_rules,
    require_merge_base,
)
from orchestrator.terraform.planjson import PlanJSON
from orchestrator.ui import info, warn
from orchestrator.workspace import Workspace

if TYPE_CHECKING:
    from orchestrator.engine.apply import ApplyRun
    from orchestrator.engine.context import Engine
    from orchestrator.engine.plan import PlanRun
    from orchestrator.render.waves import WaveRecord


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
    rules: BaseRules | None = None  # the PR's base rules (None outside a pull request)


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def prepare_plan(
    ws: Workspace, *, comment: bool, pr: int | None, env: Mapping[str, str] | None = None
) -> PlanFlow | None:
    """None outside a pull request (no --comment, no PR event, no job summary to write)."""
    env = _env(env)
    settings = pr_settings(ws, env)
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
    own_event = event if event is not None and (number is None or event.number == number) else None
    is_fork = own_event.is_fork if own_event is not None else None
    source = event.head_repo if event is not None else None
    pull = None
    if comment and number is not None:
        pull = GitHub(settings).pull(number)
        if is_fork is None:  # the payload does not say (issue_comment, or --pr outside Actions)
            is_fork, source = pull.is_fork, pull.head_repo
    rules = None
    if number is not None:
        rules = adopt_plan_rules(ws, number, own_event, pull, env)
    # allow_forks is the base's: a fork cannot grant itself the credentials.
    fork = decide(is_fork, ws.config.approval.allow_forks, source)
    base_env = scrub_credentials(env, empty_dir()) if fork.scrub else None
    if fork.note:
        warn(fork.note)
    note = rules.change_note() if rules is not None else None
    if note:
        warn(note)
    return PlanFlow(comment, number, event, settings, fork, base_env, rules=rules)


def pr_settings(ws: Workspace, env: Mapping[str, str] | None = None) -> GitHubSettings:
    """Where GitHub is, for a pull request: the environment, and the ``github:`` section of the
    base branch as this clone has it, never the checked-out one (a PR could point orchestrate
    at an API of its own that approves anything)."""
    env = _env(env)
    try:
        repo = Repo.find(ws.root)
        head = repo.head() if repo is not None else None
        found = find_merge_base(repo, head, local_base_candidates(env)) if repo and head else None
        config = base_config(repo, ws.config_file, ws.config, found[0]).github if repo and found else None
    except (GitError, ConfigError):
        config = None
    return GitHubSettings.from_env(config, env)


def adopt_plan_rules(
    ws: Workspace, number: int, event: PrEvent | None, pull: PullRequest | None, env: Mapping[str, str]
) -> BaseRules:
    """Judge the plan of PR ``number`` by its base's rules (policies, redact, allow_forks...)."""
    repo = Repo.find(ws.root)
    head = repo.head() if repo is not None else None
    tips = [t for t in (pull.base_sha if pull else None, event.base_sha if event else None) if t]
    base_ref = (pull.base_ref if pull else None) or (event.base_ref if event else None)
    found = (
        find_merge_base(repo, head, tips + local_base_candidates(env, base_ref)) if repo and head else None
    )
    if repo is None or found is None:
        raise GitError(
            f"cannot find the base branch of pull request #{number} in this clone, so the rules that "
            "judge it (approval, policies, redact) cannot be read from it",
            hint="Fetch the base branch too (actions/checkout with fetch-depth: 0).",
        )
    rules = read_base_rules(repo, ws.config_file, ws.config, found[0], head)
    ws.judge_by(rules)
    return rules


def finish_plan(ws: Workspace, run: PlanRun, flow: PlanFlow, *, no_color: bool = False) -> None:
    """Job summary, then (with --comment) the sticky comment and commit statuses."""
    data, redactor = comment_data(
        ws,
        run.dir,
        run.manifest,
        reasons=flow.reasons,
        deleted=flow.deleted,
        policy=run.policy,
        plans={sid: o.plan_json for sid, o in run.results.items() if o.plan_json is not None},
        run_url=flow.settings.run_url,
        pr=flow.number,
        warnings=[w for w in (flow.fork.note, flow.rules.change_note() if flow.rules else None) if w],
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


@dataclass(frozen=True)
class WaveTarget:
    """``apply --wave K`` with ``--pr``: wave ``wave`` of ``0..last``, whose result joins the one
    comment all waves of the plan set share (sticky comment ``key``)."""

    wave: int
    last: int
    key: str


def wave_target(root: Path, manifest: Manifest, wave: int, last: int) -> WaveTarget:
    """The shared comment's key: "apply[/<dir>]/<plan set id>" (a new plan set, a new comment)."""
    return WaveTarget(wave, last, "apply" + comment_key(root)[len("plan") :] + "/" + manifest.id)


@dataclass
class ApplyFlow:
    number: int
    gh: GitHub
    redactor: Redactor
    manifest: Manifest
    settings: GitHubSettings
    wave: WaveTarget | None = None


def plan_set_redactor(
    ws: Workspace, plan_set: Path, manifest: Manifest, extra: Sequence[str] = ()
) -> Redactor:
    plans: dict[str, PlanJSON] = {}
    if manifest.encrypted and not identity_available():
        return build_redactor(ws, plans, extra)  # apply refuses it later; nothing to read now
    for sp in manifest.stacks:
        if (plan_set / sp.slug / PLAN_JSON).is_file():
            try:
                plans[sp.stack] = read_plan_json(plan_set, sp.slug, encrypted=manifest.encrypted)
            except OrchestratorError:
                continue
    return build_redactor(ws, plans, extra)


def plan_set_shown_on(ws: Workspace, gh: GitHub, pr: PullRequest) -> Path | None:
    """The local plan set a PR shows (orchestrate's sticky comment, else the body of a drift PR
    it opened), when it is here."""
    from orchestrator.layout import PLANS_DIR
    from orchestrator.pr.gate import shown_plan_set

    ref = shown_plan_set(gh, pr, comment_key(ws.root))
    if ref is None:
        return None
    candidate = ws.root / PLANS_DIR / ref.id
    return candidate if candidate.is_dir() else None


@dataclass
class PreparedApply:
    loaded: LoadedPlanSet  # read once: approval, verification and apply use this value
    context: PrContext

    @property
    def directory(self) -> Path:
        return self.loaded.dir


def prepare_apply(ws: Workspace, number: int, plan_set: Path | None) -> PreparedApply:
    """Before `apply --pr N` builds its engine: which plan set, and the PR's base rules
    adopted by ``ws`` (approval, policies, redact... from the merge base, never the PR)."""
    from orchestrator.planset import latest_plan_set

    settings = pr_settings(ws)
    gh = GitHub(settings)  # reads only: nothing is posted with it
    pr = gh.pull(number)
    directory = plan_set or plan_set_shown_on(ws, gh, pr) or latest_plan_set(ws.root)
    loaded = load_plan_set(directory)
    manifest = loaded.manifest
    if manifest.commit is None:
        raise ApprovalRefused(
            "apply refused: the plan set was not made from a git commit, so it cannot match the pull request",
            hint="Plan in a clone of the repository at the PR's head commit. Nothing was applied.",
        )
    if not pr.base_sha:
        raise GitHubError(f"GitHub did not say which commit pull request #{number}'s base branch is at")
    repo = Repo.open(ws.root, hint="apply --pr compares the PR with its base branch: run it in a clone.")
    base = require_merge_base(repo, manifest.commit, pr.base_sha, f"pull request #{number}")
    rules = read_base_rules(repo, ws.config_file, ws.config, base, manifest.commit)
    ws.judge_by(rules)
    context = context_for(repo, ws.config_file, pr, rules, pr.base_sha, manifest.commit, ws.stacks)
    return PreparedApply(loaded, context)


def approve_apply(
    ws: Workspace, prepared: PreparedApply, number: int, engine: Engine, wave: WaveTarget | None = None
) -> tuple[Approval, ApplyFlow]:
    """The GitHub approval for applying the prepared plan set (bound to it); a refusal is
    audited, posted, raised."""
    from orchestrator import audit
    from orchestrator.engine.apply import audit_record
    from orchestrator.pr.gate import github_approval

    loaded = prepared.loaded
    plan_set, manifest = loaded.dir, loaded.manifest
    settings = GitHubSettings.from_env(ws.config.github)  # the base's github: section
    redactor = plan_set_redactor(ws, plan_set, manifest, sorted(engine.redactor.secrets))
    gh = GitHub(settings, redactor=redactor)
    flow = ApplyFlow(number, gh, redactor, manifest, settings, wave)
    try:
        approval = github_approval(
            gh, number, manifest, ws.config, key=comment_key(ws.root), context=prepared.context
        )
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
    return approval.for_plan_set(loaded), flow


def post_refusal(flow: ApplyFlow, exc: OrchestratorError) -> None:
    """Tell the PR why nothing was applied (best effort: the refusal itself is what matters)."""
    try:
        if flow.wave is not None:
            from orchestrator.render import waves

            record = waves.refused(
                flow.wave.wave, exc.message, flow.redactor.text, run_url=flow.settings.run_url
            )
            post_wave(flow, flow.wave, record)
            return
        flow.gh.create_comment(
            flow.number, render_refusal(exc.message, flow.redactor, run_url=flow.settings.run_url)
        )
    except GitHubError as post_exc:
        warn(f"could not post the refusal on pull request #{flow.number}: {post_exc.message}")


def post_wave(flow: ApplyFlow, target: WaveTarget, record: WaveRecord) -> None:
    """Add one wave's record to the plan set's one apply comment (earlier waves read back from
    orchestrate's own comment), and rewrite it."""
    from orchestrator.render import waves

    earlier = [c.body for c in flow.gh.sticky(flow.number, target.key)]
    merged = waves.merge(earlier, flow.manifest.id, flow.manifest.commit, target.last, record)
    flow.gh.upsert_sticky(flow.number, target.key, [waves.render(merged)])


def finish_apply(flow: ApplyFlow, run: ApplyRun, *, merge: bool, method: str = "merge") -> str | None:
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
        if flow.wave is not None:
            from orchestrator.render import waves

            record = waves.from_apply_run(
                result, flow.wave.wave, flow.redactor.text, run_url=flow.settings.run_url
            )
            post_wave(flow, flow.wave, record)
        else:
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
