"""`orchestrate apply` as a function: apply a verified, approved plan set in dependency order.

- Everything is verified first (engine.verify); a refusal applies nothing and is audited.
- Stacks apply under the scheduler (engine.run): dependency order (reversed for a destroy
  plan set), a failure skips its dependents, independent stacks finish.
- A provisional stack is re-planned once its upstreams have applied; the re-plan is applied
  only when its resource changes equal the approved ones (plan.compare_changes), otherwise
  the stack is ``re-approval-needed``: it and what depends on it are planned again into a new
  plan set, and apply exits 2 (done, changes awaiting approval).
- One JSON line per apply goes to .orchestrate/audit.jsonl.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from orchestrator import audit
from orchestrator.approval import Approval
from orchestrator.engine.context import Engine
from orchestrator.engine.inputs import resolve_inputs
from orchestrator.engine.plan import PlanOptions, PlanRun, plan_one, plan_stacks
from orchestrator.engine.policies import evaluate_policies
from orchestrator.engine.run import run_work
from orchestrator.engine.verify import VerifiedPlanSet, verify_plan_set
from orchestrator.engine.work import WorkItem, apply_work
from orchestrator.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Interrupted,
    OrchestratorError,
    PolicyBlocked,
    one_line,
)
from orchestrator.locks import current_owner
from orchestrator.planset import PLAN_FILE, LoadedPlanSet, Manifest, StackPlan
from orchestrator.planset_crypto import plain_plan_file, recipients
from orchestrator.redact import sensitive_values
from orchestrator.scheduler import Outcome
from orchestrator.terraform import runner as tf
from orchestrator.terraform.plan import compare_changes

ApplyStatus = Literal["applied", "no-changes", "failed", "skipped", "re-approval-needed"]


@dataclass
class StackApplyResult:
    stack: str
    status: ApplyStatus
    detail: str = ""
    plan_sha256: str | None = None  # the approved plan
    applied_sha256: str | None = None  # the plan file applied (a re-plan for provisional stacks)
    differences: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float | None = None
    log: str | None = None


@dataclass
class ApplyRun:
    verified: VerifiedPlanSet
    approval: Approval | None
    results: dict[str, StackApplyResult]
    run_dir: Path
    new_plan: PlanRun | None = None
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        statuses = {r.status for r in self.results.values()}
        if "failed" in statuses:
            return EXIT_ERROR
        if "re-approval-needed" in statuses:
            return EXIT_CHANGES
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        m = self.verified.manifest
        return {
            "plan_set": m.id,
            "dir": str(self.verified.dir),
            "kind": m.kind,
            "commit": m.commit,
            "approval": self.approval.to_json() if self.approval else None,
            "stacks": [asdict(r) for r in self.results.values()],
            "new_plan_set": self.new_plan.manifest.id if self.new_plan else None,
            "new_plan_set_dir": str(self.new_plan.dir) if self.new_plan else None,
            "exit_code": self.exit_code,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def audit_record(
    kind: str,
    *,
    engine: Engine,
    plan_set: Path,
    manifest_id: str | None,
    approval: Approval | None,
    result: str,
    stacks: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "time": _now(),
        "kind": kind,
        "result": result,
        "who": approval.approver if approval else current_owner(),
        "run_by": current_owner(),
        "approval": approval.to_json() if approval else None,
        "plan_set": manifest_id,
        "plan_set_dir": str(plan_set),
        "terraform": engine.binary.describe(),
        "stacks": stacks or [],
        **({"reason": reason} if reason else {}),
        # a disaster recovery's applies are told apart from the originals' (docs/disaster-recovery.md)
        **({"recovery": engine.ws.recovery.model_dump(mode="json")} if engine.ws.recovery else {}),
        **(extra or {}),
    }


def apply_plan_set(
    engine: Engine,
    plan_set: LoadedPlanSet,
    approval: Approval | None,
    *,
    fail_fast: bool = False,
    confirm_destroy: bool = False,
    merged_commit: str | None = None,
    only: Collection[str] | None = None,
) -> ApplyRun:
    """Verify and apply a loaded plan set. Raises (and audits) a refusal before applying anything.
    A destroy plan set needs ``confirm_destroy``; ``only`` (apply --wave) applies just those of
    the plan set's stacks."""
    try:
        verified = verify_plan_set(
            engine,
            plan_set,
            approval,
            state_identity=engine.states.identity,
            confirm_destroy=confirm_destroy,
            merged_commit=merged_commit,
            only=only,
        )
    except OrchestratorError as exc:
        record = audit_record(
            "apply",
            engine=engine,
            plan_set=plan_set.dir,
            manifest_id=plan_set.manifest.id,
            approval=approval,
            result="refused",
            reason=exc.message,
        )
        audit.append(engine.root, record)
        raise
    return apply_verified(engine, verified, approval, fail_fast=fail_fast)


# ---------------------------------------------------------------- one stack


def manifest_recipients(manifest: Manifest) -> list[str]:
    """The age recipients an encrypted plan set was encrypted to (what follows it is too)."""
    return list(manifest.encryption.recipients) if manifest.encryption is not None else []


def work_dir(engine: Engine, sid: str) -> Path:
    return engine.workdir.of(engine.stack(sid)).dir


def apply_file(engine: Engine, sid: str, plan_file: Path, log: Path, *, destroy: bool) -> None:
    """``terraform apply`` of a saved plan; the caller holds the stack lock."""
    stack = engine.stack(sid)
    env = engine.workdir.env(stack)
    engine.progress.phase(sid, "destroy" if destroy else "apply")
    # terraform writes into a file that outlives this process and is read by tailing it;
    # the stack lock names terraform's pid, so a killed orchestrate neither loses the
    # state terraform is writing nor lets the next run take the stack over meanwhile.
    output = log.with_name("terraform-output.txt")
    try:
        engine.workdir.run(
            stack,
            tf.apply_args(stack.dir, plan_file, lock_timeout=engine.config.terraform.lock_timeout_arg),
            env,
            log,
            on_line=lambda line: engine.progress.line(sid, line),
            unlock_hint=engine.workdir.unlock_hint(stack),
            output_file=output,
            on_start=lambda pid: engine.locks.note_terraform(stack.slug, pid, output),
        )
    finally:
        output.unlink(missing_ok=True)  # unredacted; the log holds the redacted copy
    engine.outputs.forget(sid)


def apply_provisional(
    engine: Engine, verified: VerifiedPlanSet, run_dir: Path, sp: StackPlan, log: Path
) -> StackApplyResult:
    """Re-plan a provisional stack with its applied upstreams' outputs; apply the re-plan only
    when its resource changes equal the approved ones."""
    stack = engine.stack(sp.stack)
    inputs = resolve_inputs(engine.ws.graph, sp.stack, {}, engine.outputs.read)
    replan_dir = run_dir / stack.slug / "replan"
    # an encrypted plan set's re-plans are encrypted to the same recipients: the run
    # directory keeps them (applied_sha256 names one) and must not hold them in clear
    encrypt_to = recipients(manifest_recipients(verified.manifest))
    outcome = plan_one(engine, stack, replan_dir, inputs, operation="re-plan", encrypt_to=encrypt_to)
    new = outcome.plan
    if new.status == "no-changes":
        return StackApplyResult(sp.stack, "no-changes", "the re-plan has no changes", sp.plan_sha256)
    if not sp.has_plan:
        return StackApplyResult(
            sp.stack,
            "re-approval-needed",
            "no plan was approved for it: " + (sp.reason or "it could not be planned"),
            None,
            differences=[f"{rc.address}: {'/'.join(rc.actions)}" for rc in new.resource_changes],
        )
    assert outcome.plan_json is not None  # a re-plan with changes always has its JSON
    engine.redactor.add_secrets(sensitive_values(outcome.plan_json, min_length=1))
    diffs = compare_changes(verified.derived[sp.stack], outcome.plan_json)
    if diffs:
        plural = "s" if len(diffs) != 1 else ""
        return StackApplyResult(
            sp.stack,
            "re-approval-needed",
            f"the re-plan differs from the approved plan ({len(diffs)} difference{plural})",
            sp.plan_sha256,
            differences=diffs,
        )
    report = evaluate_policies(engine.ws, [(stack, outcome.plan_json)])
    if report is not None and report.blocking:
        raise PolicyBlocked("the re-plan is denied by policy", where=sp.stack)
    encrypted, what = bool(encrypt_to), f"re-plan of {sp.stack}"
    with plain_plan_file(
        replan_dir / PLAN_FILE, work_dir(engine, sp.stack), encrypted=encrypted, what=what
    ) as plain:
        apply_file(engine, sp.stack, plain, log, destroy=False)
    detail = "re-planned with the applied upstream outputs; equal to the approved plan"
    return StackApplyResult(sp.stack, "applied", detail, sp.plan_sha256, new.plan_sha256)


@dataclass
class ApplySteps:
    """Apply each work item's approved plan; logs under ``run_dir``."""

    engine: Engine
    verified: VerifiedPlanSet
    run_dir: Path

    @property
    def destroy(self) -> bool:
        return self.verified.manifest.kind == "destroy"

    def log(self, sid: str) -> Path:
        return self.run_dir / self.engine.stack(sid).slug / "apply.log"

    def run(self, item: WorkItem) -> StackApplyResult:
        return apply_step(self, item)

    def failed(self, item: WorkItem, exc: BaseException) -> StackApplyResult:
        sha = item.plan.plan_sha256 if item.plan is not None else None
        if isinstance(exc, Interrupted):
            detail = "interrupted"
        elif isinstance(exc, OrchestratorError):
            detail = exc.message
        else:
            detail = "internal error"
        return StackApplyResult(item.stack, "failed", detail, sha, error=one_line(exc))

    def skipped(self, item: WorkItem, reason: str) -> StackApplyResult:
        sha = item.plan.plan_sha256 if item.plan is not None else None
        return StackApplyResult(item.stack, "skipped", reason, sha)

    def finish(self, item: WorkItem, value: StackApplyResult, elapsed: float) -> Outcome[StackApplyResult]:
        value.duration_s = round(elapsed, 2)
        log = self.log(item.stack)
        value.log = str(log)
        if value.status == "applied":
            self.engine.timings.record(self.engine.stack(item.stack).slug, "apply", value.duration_s)
        shown = "destroyed" if self.destroy and value.status == "applied" else value.status
        self.engine.progress.done(item.stack, shown, value.error or value.detail, value.duration_s, log)
        ok = value.status in ("applied", "no-changes")
        return Outcome(ok, value, "needs re-approval" if value.status == "re-approval-needed" else "failed")


def apply_step(steps: ApplySteps, item: WorkItem) -> StackApplyResult:
    """Apply one work item under its stack lock."""
    engine, sp = steps.engine, item.plan
    assert sp is not None  # apply_work gives every item its plan
    stack = engine.stack(item.stack)
    log = steps.log(item.stack)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    with engine.locks.hold(stack.id, stack.slug, item.action):
        if sp.status == "provisional":
            return apply_provisional(engine, steps.verified, steps.run_dir, sp, log)
        plan_file = steps.verified.dir / sp.slug / PLAN_FILE
        encrypted, what = steps.verified.manifest.encrypted, f"{sp.slug}/{PLAN_FILE}"
        with plain_plan_file(plan_file, work_dir(engine, stack.id), encrypted=encrypted, what=what) as plain:
            apply_file(engine, stack.id, plain, log, destroy=steps.destroy)
        detail = "destroyed" if steps.destroy else ""
        return StackApplyResult(stack.id, "applied", detail, sp.plan_sha256, sp.plan_sha256)


# ---------------------------------------------------------------- the run


def apply_verified(
    engine: Engine, verified: VerifiedPlanSet, approval: Approval | None, *, fail_fast: bool = False
) -> ApplyRun:
    manifest = verified.manifest
    destroy = manifest.kind == "destroy"
    work = apply_work(engine.ws.graph, verified.to_apply, destroy=destroy)
    # terraform masks what it prints itself, not what providers and provisioners print
    # (a bucket named from a sensitive variable in a provider's error): mask every value
    # the plan set marks sensitive in every log and result of this apply.
    # The plan JSONs derived from the plan files (plantruth), never plan.json read again.
    for derived in verified.derived.values():
        engine.redactor.add_secrets(sensitive_values(derived, min_length=1))
    run_dir = engine.runs_dir / f"{_stamp()}-{manifest.id}"
    run_dir.mkdir(parents=True, exist_ok=True)
    engine.progress.start(f"{'destroy' if destroy else 'apply'} {manifest.id}", work.ids)
    try:
        results = run_work(engine, work, ApplySteps(engine, verified, run_dir), fail_fast=fail_fast)
    finally:
        engine.progress.close()
    by_id = {r.stack: r for r in results}
    run = ApplyRun(verified, approval, by_id, run_dir, interrupted=engine.cancel.interrupted.is_set())
    run.new_plan = plan_again(engine, run)
    audit.append(engine.root, apply_audit(engine, run))
    (run_dir / "result.json").write_text(json.dumps(run.to_json(), indent=2) + "\n")
    return run


def plan_again(engine: Engine, run: ApplyRun) -> PlanRun | None:
    """Stacks needing re-approval, and what they held back, planned into a new plan set."""
    again = [sid for sid, r in run.results.items() if r.status == "re-approval-needed"]
    if not again or run.interrupted:
        return None
    skipped = {sid for sid, r in run.results.items() if r.status == "skipped"}
    blocked = engine.ws.graph.downstream_of(again) & skipped
    engine.progress.note(f"re-approval needed for {', '.join(again)}: planning again into a new plan set")
    manifest = run.verified.manifest
    options = PlanOptions(
        stacks=[*again, *sorted(blocked)],
        kind=manifest.kind,
        pr=manifest.pr,
        encrypt_to=manifest_recipients(manifest),
    )
    return plan_stacks(engine, options)


def apply_audit(engine: Engine, run: ApplyRun) -> dict[str, Any]:
    manifest = run.verified.manifest
    results = {0: "applied", 1: "failed", 2: "re-approval-needed", 130: "interrupted"}
    stacks = [
        {
            "stack": r.stack,
            "status": r.status,
            "plan_sha256": r.plan_sha256,
            "applied_sha256": r.applied_sha256,
            **({"error": r.error} if r.error else {}),
            **({"differences": r.differences} if r.differences else {}),
        }
        for r in run.results.values()
    ]
    return audit_record(
        "destroy" if manifest.kind == "destroy" else "apply",
        engine=engine,
        plan_set=run.verified.dir,
        manifest_id=manifest.id,
        approval=run.approval,
        result=results.get(run.exit_code, "failed"),
        stacks=stacks,
        extra={
            "commit": manifest.commit,
            "run_dir": str(run.run_dir),
            "new_plan_set": run.new_plan.manifest.id if run.new_plan else None,
        },
    )
