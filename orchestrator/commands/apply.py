"""orchestrate apply: apply an approved plan set in dependency order."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from orchestrator import audit
from orchestrator.app import App, get_app
from orchestrator.approval import Approval, resolve_local_approval
from orchestrator.commands._recovery import latest_recovery_plan_set, recovering, target_cloud_option
from orchestrator.engine.apply import ApplyRun, apply_plan_set, audit_record
from orchestrator.engine.context import Engine
from orchestrator.engine.verify import APPLICABLE, approval_needed
from orchestrator.errors import ApprovalRefused
from orchestrator.locks import current_owner
from orchestrator.planset import LoadedPlanSet, Manifest, latest_plan_set, load_plan_set
from orchestrator.progress import make_progress
from orchestrator.render.graphs import to_json_text
from orchestrator.render.runs import apply_summary, manifest_preview
from orchestrator.ui import emit, err_console, stderr_terminal, stdout_terminal, warn, write_err
from orchestrator.workspace import Workspace


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm_on_tty(app: App, manifest: Manifest, what: str) -> bool:
    write_err(manifest_preview(manifest))
    console = err_console(app.no_color)
    answer = console.input(f"{what} plan set {manifest.id}? Only 'yes' will be accepted: ", markup=False)
    return answer.strip() == "yes"


def destroy_confirmed(app: App, plan_set: LoadedPlanSet, *, named: bool, flag: bool) -> bool:
    """Whether a destroy plan set may be applied: only named (--plan-set) and confirmed
    (--confirm-destroy, or 'destroy' typed on a terminal); never the default one."""
    if plan_set.manifest.kind != "destroy":
        return flag
    if not named:  # the latest one, or the one shown on a PR
        raise ApprovalRefused(
            f"apply refused: {plan_set.dir} is a destroy plan set; it is never applied by default",
            hint="Name it with --plan-set DIR and add --confirm-destroy. Nothing was applied.",
        )
    return flag or confirm_destroy_on_tty(app, plan_set)


def confirm_destroy_on_tty(app: App, plan_set: LoadedPlanSet) -> bool:
    """On a terminal, a destroy plan set may be confirmed by typing the word destroy."""
    if plan_set.manifest.kind != "destroy" or not interactive():
        return False
    console = err_console(app.no_color)
    prompt = f"{plan_set.dir} is a DESTROY plan set. Type 'destroy' to apply it: "
    answer = console.input(prompt, markup=False)
    return answer.strip() == "destroy"


def resolve_approval(
    app: App,
    engine: Engine,
    plan_set: LoadedPlanSet,
    approved_by: str | None,
    reason: str | None,
    *,
    what: str = "apply",
) -> Approval | None:
    """The approval for this plan set (bound to it), or None when no stack in it requires one.

    A refusal is audited and raised (ApprovalRefused, exit 1) before anything is applied.
    """
    manifest = plan_set.manifest
    needing = approval_needed(engine, [s for s in manifest.stacks if s.status in APPLICABLE])
    if not needing and approved_by is None and reason is None:
        return None
    try:
        approval = resolve_local_approval(
            engine.config.approval,
            approved_by=approved_by,
            reason=reason,
            interactive=interactive(),
            confirm=lambda: confirm_on_tty(app, manifest, what.capitalize()),
            user=current_owner(),
            what=what,
        )
    except ApprovalRefused as exc:
        audit.append(
            engine.root,
            audit_record(
                what,
                engine=engine,
                plan_set=plan_set.dir,
                manifest_id=manifest.id,
                approval=None,
                result="refused",
                reason=exc.message,
            ),
        )
        raise
    return approval.for_plan_set(plan_set)


def run_apply(
    app: App,
    engine: Engine,
    plan_set: LoadedPlanSet,
    approval: Approval | None,
    *,
    fail_fast: bool = False,
    skip_promotion: str | None = None,
    confirm_destroy: bool = False,
    merged_commit: str | None = None,
    only: frozenset[str] | None = None,
) -> ApplyRun:
    run = apply_plan_set(
        engine,
        plan_set,
        approval,
        fail_fast=fail_fast,
        confirm_destroy=confirm_destroy,
        merged_commit=merged_commit,
        only=only,
    )
    for w in run.verified.warnings:
        warn(w, no_color=app.no_color)
    for notice in engine.locks.notices:
        warn(notice, no_color=app.no_color)
    write_err(apply_summary(run, cwd=Path.cwd(), term=stderr_terminal(app.no_color)))
    if engine.ws.recovery is None:  # a recovery is not the originals' history (docs/disaster-recovery.md)
        record(app, engine, run, skip_promotion, commit=merged_commit)
    if app.json_output:
        emit(to_json_text(run.to_json(), pretty=stdout_terminal().tty))
    return run


def promotion_gate(
    engine: Engine, plan_set: LoadedPlanSet, approval: Approval | None, skip_reason: str | None
) -> None:
    """approval.promotion: refuse (audited) stacks whose content has not passed the previous
    environment, unless --skip-promotion --reason."""
    if not engine.config.approval.promotion or engine.ws.recovery is not None:
        return
    from orchestrator.envs.promotion import check

    manifest = plan_set.manifest
    if manifest.kind == "destroy":
        return
    stacks = [s.stack for s in manifest.stacks if s.status in APPLICABLE]
    try:
        check(engine.ws, stacks, skip_reason=skip_reason)
    except ApprovalRefused as exc:
        audit.append(
            engine.root,
            audit_record(
                "apply",
                engine=engine,
                plan_set=plan_set.dir,
                manifest_id=manifest.id,
                approval=approval,
                result="refused",
                reason=exc.message,
            ),
        )
        raise


def record(
    app: App, engine: Engine, run: ApplyRun, skip_promotion: str | None, *, commit: str | None = None
) -> None:
    """The durable record of this apply (git note, GitHub deployments): docs/environments.md."""
    from orchestrator.envs.recording import record_apply

    manifest = run.verified.manifest
    attempted = {sid: r for sid, r in run.results.items() if r.status != "skipped"}
    done = record_apply(
        engine.ws,
        kind="destroy" if manifest.kind == "destroy" else "apply",
        commit=commit or manifest.commit,
        plan_set=manifest.id,
        approval=run.approval,
        results=attempted,
        sources={s.stack: s.source_sha256 for s in manifest.stacks},
        result={0: "applied", 1: "failed", 2: "re-approval-needed", 130: "interrupted"}.get(
            run.exit_code, "failed"
        ),
        skip_reason=skip_promotion,
    )
    for w in done.warnings:
        warn(w, no_color=app.no_color)
    if done.record is not None and not done.pushed:
        report_unpushed(done.record.commit, done.warnings)


def report_unpushed(commit: str, warnings: list[str]) -> None:
    """Loud in CI: an annotation on the run and a section of the job summary."""
    from orchestrator.envs.recording import unpushed_notice
    from orchestrator.pr.publish import write_step_summary
    from orchestrator.ui import in_github_actions

    if not in_github_actions():
        return
    annotation, summary = unpushed_notice(commit, warnings)
    sys.stderr.write(annotation + "\n")
    sys.stderr.flush()
    write_step_summary(summary)


def wave_stacks(
    app: App, engine: Engine, plan_set: LoadedPlanSet, wave: int | None, *, merge: bool
) -> tuple[frozenset[str] | None, int]:
    """The stacks of ``wave`` in the plan set (None: every stack), and the plan set's last wave."""
    if wave is None:
        return None, 0
    from orchestrator.shard import waves

    manifest = plan_set.manifest
    known = [s.stack for s in manifest.stacks if s.status in APPLICABLE and s.stack in engine.ws.stacks]
    by_wave = waves(engine.ws.graph, known)
    last = max(by_wave.values(), default=0)
    if merge and wave != last:
        raise click.UsageError(f"--merge with --wave: only the last wave ({last}) may merge the pull request")
    chosen = frozenset(sid for sid, w in by_wave.items() if w == wave)
    # Waves run in order: every planned stack of an earlier wave must have been applied (its
    # state moved on from the one it was planned against) before this wave may start.
    waiting = [
        s.stack
        for s in manifest.stacks
        if by_wave.get(s.stack, wave) < wave
        and s.plan_sha256 is not None
        and engine.states.identity(s.stack) == (s.lineage, s.serial)
    ]
    if waiting:
        raise ApprovalRefused(
            f"apply refused: wave {wave} needs the earlier waves applied first; not applied yet: "
            + ", ".join(waiting),
            hint=f"Apply the earlier waves first (apply --wave 0 ... --wave {wave - 1}). Nothing was applied.",
        )
    if not chosen:
        warn(
            f"wave {wave} of plan set {manifest.id} is empty (its waves are 0..{last})", no_color=app.no_color
        )
    return chosen, last


@click.command("apply")
@click.option(
    "--plan-set",
    "plan_set",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The plan set to apply [with --pr: the one shown on the PR, if here; else the latest under .orchestrate/plans].",
)
@click.option(
    "--approved-by", default=None, metavar="NAME", help="Who approved (needs approval.allow_manual)."
)
@click.option("--reason", default=None, metavar="TEXT", help="Why, for the audit log (with --approved-by).")
@click.option("--fail-fast", is_flag=True, help="Stop starting stacks after the first failure.")
@click.option(
    "--confirm-destroy",
    is_flag=True,
    help="Apply a destroy plan set (named with --plan-set; never the default one).",
)
@click.option(
    "--pr",
    "pr_number",
    type=int,
    default=None,
    help="Approval from this pull request's reviews on GitHub; the result is posted on it.",
)
@click.option(
    "--merge", is_flag=True, help="With --pr: merge the pull request after a fully successful apply."
)
@click.option(
    "--wave",
    type=click.IntRange(min=0),
    default=None,
    help="Apply only wave K of the plan set (K=0 first): the stacks with changes whose changed "
    "upstreams are all in earlier waves. Run wave K+1 after wave K succeeded.",
)
@click.option(
    "--merge-method",
    type=click.Choice(["merge", "squash", "rebase"]),
    default="merge",
    help="How --merge merges [merge].",
)
@click.option(
    "--merged",
    is_flag=True,
    help="approval.mode on-merge: apply the plan set approved on the pull request merged as HEAD.",
)
@click.option(
    "--commit",
    "merged_sha",
    default=None,
    metavar="SHA",
    help="With --merged: the merged commit [HEAD] (the work tree must be at it).",
)
@click.option(
    "--skip-promotion",
    is_flag=True,
    help="Apply although the content has not passed the previous environment (needs --reason; recorded).",
)
@target_cloud_option
def command(
    plan_set: Path | None,
    approved_by: str | None,
    reason: str | None,
    fail_fast: bool,
    confirm_destroy: bool,
    pr_number: int | None,
    merge: bool,
    merge_method: str,
    skip_promotion: bool,
    merged: bool,
    merged_sha: str | None,
    wave: int | None,
    target_clouds: tuple[str, ...],
) -> int:
    """Apply an approved plan set in dependency order (exit 2: re-approval needed, see the new plan set)."""
    app = get_app()
    ws = app.workspace()
    skip_reason = check_flags(
        pr_number=pr_number,
        approved_by=approved_by,
        reason=reason,
        skip_promotion=skip_promotion,
        merge=merge,
        merged=merged,
        merged_sha=merged_sha,
        target_clouds=target_clouds,
    )
    if merged:
        return apply_merged(app, plan_set, merged_sha, fail_fast, skip_reason)
    options = ApplyOptions(
        plan_set=plan_set,
        approved_by=approved_by,
        reason=reason,
        fail_fast=fail_fast,
        confirm_destroy=confirm_destroy,
        merge=merge,
        merge_method=merge_method,
        skip_reason=skip_reason,
        wave=wave,
        target_clouds=target_clouds,
    )
    if pr_number is None:
        return apply_local(app, ws, options)
    return apply_pr(app, ws, pr_number, options)


@dataclass(frozen=True)
class ApplyOptions:
    """apply's flags once checked (check_flags); skip_reason is --reason with --skip-promotion."""

    plan_set: Path | None
    approved_by: str | None
    reason: str | None
    fail_fast: bool
    confirm_destroy: bool
    merge: bool
    merge_method: str
    skip_reason: str | None
    wave: int | None
    target_clouds: tuple[str, ...]


def check_flags(
    *,
    pr_number: int | None,
    approved_by: str | None,
    reason: str | None,
    skip_promotion: bool,
    merge: bool,
    merged: bool,
    merged_sha: str | None,
    target_clouds: tuple[str, ...],
) -> str | None:
    """The combinations of flags apply refuses (click.UsageError, the first one in this order),
    before any plan set is read; returns the --skip-promotion reason (None without that flag)."""
    if pr_number is not None and (approved_by is not None or (reason is not None and not skip_promotion)):
        raise click.UsageError(
            "--pr takes the approval from GitHub; it cannot be combined with --approved-by/--reason"
        )
    if skip_promotion and not (reason and reason.strip()):
        raise click.UsageError("--skip-promotion needs --reason TEXT (it is recorded)")
    if merge and pr_number is None:
        raise click.UsageError("--merge needs --pr N")
    if merged_sha is not None and not merged:
        raise click.UsageError("--commit needs --merged")
    if target_clouds and (merged or pr_number is not None):
        raise click.UsageError("--target-cloud applies a recovery plan set; not with --pr/--merged")
    if merged and (pr_number is not None or approved_by is not None or merge):
        raise click.UsageError(
            "--merged takes the approval of the merged PR; not with --pr/--approved-by/--merge"
        )
    return reason.strip() if skip_promotion and reason else None


def local_plan_set_dir(root: Path, plan_set: Path | None, target_clouds: tuple[str, ...]) -> Path:
    """The plan set a local apply reads: the named one, else the latest recovery plan set for
    ``target_clouds`` (with --target-cloud), else the latest plan set."""
    if plan_set is not None:
        return plan_set.resolve()
    if target_clouds:
        return latest_recovery_plan_set(root, target_clouds)
    return latest_plan_set(root)


def apply_local(app: App, ws: Workspace, options: ApplyOptions) -> int:
    """apply without --pr/--merged: the approval is local (--approved-by, a terminal, or none needed)."""
    # Read once: the approval, the verification and the apply all work from this value.
    loaded = load_plan_set(local_plan_set_dir(ws.root, options.plan_set, options.target_clouds))
    if options.target_clouds:
        ws = recovery_for(app, ws, loaded, options.target_clouds)
    engine = Engine.create(ws, progress=make_progress(app.no_color))
    named = options.plan_set is not None
    confirm_destroy = destroy_confirmed(app, loaded, named=named, flag=options.confirm_destroy)
    only, _ = wave_stacks(app, engine, loaded, options.wave, merge=options.merge)
    approval = resolve_approval(app, engine, loaded, options.approved_by, options.reason)
    promotion_gate(engine, loaded, approval, options.skip_reason)
    return run_apply(
        app,
        engine,
        loaded,
        approval,
        fail_fast=options.fail_fast,
        skip_promotion=options.skip_reason,
        confirm_destroy=confirm_destroy,
        only=only,
    ).exit_code


def apply_pr(app: App, ws: Workspace, pr_number: int, options: ApplyOptions) -> int:
    """apply --pr N: the approval from the pull request's reviews; the result posted on it."""
    from orchestrator.errors import OrchestratorError
    from orchestrator.pr.flow import approve_apply, finish_apply, post_refusal, prepare_apply, wave_target

    # The plan set reviewers saw on the PR (when it was planned here; else the latest), read
    # once, and the PR's base rules adopted before the engine is built: the engine's policies
    # and redaction are the base's, never the PR's own.
    named = options.plan_set.resolve() if options.plan_set is not None else None
    prepared = prepare_apply(ws, pr_number, named)
    loaded = prepared.loaded
    confirm_destroy = destroy_confirmed(app, loaded, named=named is not None, flag=options.confirm_destroy)
    engine = Engine.create(ws, progress=make_progress(app.no_color))
    wave = options.wave
    only, last = wave_stacks(app, engine, loaded, wave, merge=options.merge)
    # Every wave's job adds its result to one comment for the plan set (issue 15).
    target = wave_target(ws.root, loaded.manifest, wave, last) if wave is not None else None
    approval, flow = approve_apply(ws, prepared, pr_number, engine, target)
    try:
        promotion_gate(engine, loaded, approval, options.skip_reason)
        run = run_apply(
            app,
            engine,
            loaded,
            approval,
            fail_fast=options.fail_fast,
            skip_promotion=options.skip_reason,
            confirm_destroy=confirm_destroy,
            only=only,
        )
    except OrchestratorError as exc:  # refused by the engine's checks (digests, commit, policy, state)
        post_refusal(flow, exc)
        raise
    finish_apply(flow, run, merge=options.merge, method=options.merge_method)
    return run.exit_code


def recovery_for(app: App, ws: Workspace, loaded: LoadedPlanSet, target_clouds: tuple[str, ...]) -> Workspace:
    """The recovery workspace a recovery plan set is applied in (the engine checks it is the one
    it was planned for: environment, targets, stacks)."""
    planned = loaded.manifest.recovery
    if planned is None:
        raise ApprovalRefused(
            f"apply refused: plan set {loaded.manifest.id} is not a recovery plan set",
            where=str(loaded.dir),
            hint="Apply it without --target-cloud, or plan the recovery with "
            "`orchestrate plan --env ENV --target-cloud NAME`. Nothing was applied.",
        )
    return recovering(ws, planned.environment, target_clouds, no_color=app.no_color)


def apply_merged(
    app: App, plan_set: Path | None, commit: str | None, fail_fast: bool, skip_reason: str | None
) -> int:
    """apply --merged: see orchestrator/controller/merged.py."""
    from orchestrator.controller.merged import prepare_merged, refused
    from orchestrator.errors import OrchestratorError
    from orchestrator.pr.flow import ApplyFlow, finish_apply, plan_set_redactor

    ws = app.workspace()
    merged = prepare_merged(ws, commit, plan_set.resolve() if plan_set is not None else None)
    engine = Engine.create(ws, progress=make_progress(app.no_color))
    try:
        promotion_gate(engine, merged.loaded, merged.approval, skip_reason)
        run = run_apply(
            app,
            engine,
            merged.loaded,
            merged.approval,
            fail_fast=fail_fast,
            skip_promotion=skip_reason,
            merged_commit=merged.commit,
        )
    except OrchestratorError as exc:
        error = refused(merged, exc)  # on needs approval: planned again at the merged commit
        if error is exc:
            raise
        raise error from exc
    redactor = plan_set_redactor(ws, merged.directory, merged.manifest, sorted(engine.redactor.secrets))
    flow = ApplyFlow(merged.pr.number, merged.gh, redactor, merged.manifest, merged.gh.settings)
    finish_apply(flow, run, merge=False)
    return run.exit_code
