"""`orchestrate apply` as a function: apply a verified, approved plan set in dependency order.

- Everything is verified first (engine.verify); a refusal applies nothing and is audited.
- Stacks apply under the scheduler: dependency order (reversed for a destroy plan set), a
  failure skips its dependents, independent stacks finish.
- A provisional stack is re-planned once its upstreams have applied; the re-plan is applied
  only when its resource changes equal the approved ones (plan.compare_changes), otherwise
  the stack is ``re-approval-needed``: it and what depends on it are planned again into a new
  plan set, and apply exits 2 (done, changes awaiting approval).
- One JSON line per apply goes to .orchestrate/audit.jsonl.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from orchestrator import audit
from orchestrator.approval import Approval
from orchestrator.discovery import STATE_DIR
from orchestrator.engine.context import Engine
from orchestrator.engine.inputs import resolve_inputs
from orchestrator.engine.plan import (
    PlanOptions,
    PlanRun,
    error_text,
    evaluate_policies,
    plan_one,
    plan_stacks,
    run_stacks,
)
from orchestrator.engine.verify import VerifiedPlanSet, verify_plan_set
from orchestrator.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Interrupted,
    OrchestratorError,
    PolicyBlocked,
)
from orchestrator.locks import current_owner
from orchestrator.planset import PLAN_FILE, StackPlan, read_plan_json
from orchestrator.redact import sensitive_values
from orchestrator.scheduler import Outcome
from orchestrator.terraform import runner as tf
from orchestrator.terraform.plan import compare_changes

RUNS_DIR = Path(STATE_DIR) / "runs"
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
        **(extra or {}),
    }


def apply_plan_set(
    engine: Engine,
    plan_set: Path,
    approval: Approval | None,
    *,
    fail_fast: bool = False,
    confirm_destroy: bool = False,
    merged_commit: str | None = None,
) -> ApplyRun:
    """Verify and apply a plan set. Raises (and audits) a refusal before applying anything.
    A destroy plan set needs ``confirm_destroy``."""
    try:
        verified = verify_plan_set(
            engine,
            plan_set,
            approval,
            state_identity=engine.state_identity,
            confirm_destroy=confirm_destroy,
            merged_commit=merged_commit,
        )
    except OrchestratorError as exc:
        manifest_id = None
        try:
            from orchestrator.planset import read_manifest

            manifest_id = read_manifest(plan_set).id
        except OrchestratorError:
            pass
        audit.append(
            engine.root,
            audit_record(
                "apply",
                engine=engine,
                plan_set=plan_set,
                manifest_id=manifest_id,
                approval=approval,
                result="refused",
                reason=exc.message,
            ),
        )
        raise
    return _apply_verified(engine, verified, approval, fail_fast=fail_fast)


def _apply_verified(
    engine: Engine, verified: VerifiedPlanSet, approval: Approval | None, *, fail_fast: bool
) -> ApplyRun:
    manifest = verified.manifest
    destroy = manifest.kind == "destroy"
    plans = {s.stack: s for s in verified.to_apply}
    # terraform masks what it prints itself, not what providers and provisioners print
    # (a bucket named from a sensitive variable in a provider's error): mask every value
    # the plan set marks sensitive in every log and result of this apply.
    for sp in verified.to_apply:
        if sp.plan_json_sha256 is not None:
            engine.add_secrets(sensitive_values(read_plan_json(verified.dir, sp.slug), min_length=1))
    run_dir = engine.root / RUNS_DIR / f"{_stamp()}-{manifest.id}"
    run_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, StackApplyResult] = {}
    graph = engine.ws.graph

    def apply_file(sid: str, plan_file: Path, log: Path) -> None:
        stack = engine.stack(sid)
        env = engine.stack_env(stack)
        engine.progress.phase(sid, "destroy" if destroy else "apply")
        # terraform writes into a file that outlives this process and is read by tailing it;
        # the stack lock names terraform's pid, so a killed orchestrate neither loses the
        # state terraform is writing nor lets the next run take the stack over meanwhile.
        output = log.with_name("terraform-output.txt")
        try:
            engine.run_initialised(
                stack,
                lambda: tf.apply_args(stack.dir, plan_file),
                env,
                log,
                on_line=lambda line: engine.progress.line(sid, line),
                unlock_hint=engine.unlock_hint(stack),
                output_file=output,
                on_start=lambda pid: engine.locks.note_terraform(stack.slug, pid, output),
            )
        finally:
            output.unlink(missing_ok=True)  # unredacted; the log holds the redacted copy
        engine.forget_outputs(sid)

    def apply_provisional(sp: StackPlan, log: Path) -> StackApplyResult:
        stack = engine.stack(sp.stack)
        inputs = resolve_inputs(graph, sp.stack, {}, engine.read_outputs)
        replan_dir = run_dir / stack.slug / "replan"
        outcome = plan_one(engine, stack, replan_dir, inputs, operation="re-plan")
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
        approved = read_plan_json(verified.dir, sp.slug)
        assert outcome.plan_json is not None
        engine.add_secrets(sensitive_values(outcome.plan_json, min_length=1))
        diffs = compare_changes(approved, outcome.plan_json)
        if diffs:
            return StackApplyResult(
                sp.stack,
                "re-approval-needed",
                f"the re-plan differs from the approved plan ({len(diffs)} difference"
                f"{'s' if len(diffs) != 1 else ''})",
                sp.plan_sha256,
                differences=diffs,
            )
        report = evaluate_policies(engine, [(stack, outcome.plan_json)])
        if report is not None and report.blocking:
            raise PolicyBlocked("the re-plan is denied by policy", where=sp.stack)
        apply_file(sp.stack, replan_dir / PLAN_FILE, log)
        return StackApplyResult(
            sp.stack,
            "applied",
            "re-planned with the applied upstream outputs; equal to the approved plan",
            sp.plan_sha256,
            new.plan_sha256,
        )

    def worker(sid: str) -> Outcome[StackApplyResult]:
        sp = plans[sid]
        stack = engine.stack(sid)
        started = time.monotonic()
        log = run_dir / stack.slug / "apply.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        try:
            with engine.locks.hold(sid, stack.slug, "destroy" if destroy else "apply"):
                if sp.status == "provisional":
                    res = apply_provisional(sp, log)
                else:
                    apply_file(sid, verified.dir / sp.slug / PLAN_FILE, log)
                    res = StackApplyResult(
                        sid, "applied", "destroyed" if destroy else "", sp.plan_sha256, sp.plan_sha256
                    )
        except Interrupted as exc:
            res = StackApplyResult(sid, "failed", "interrupted", sp.plan_sha256, error=error_text(exc))
        except OrchestratorError as exc:
            res = StackApplyResult(sid, "failed", exc.message, sp.plan_sha256, error=error_text(exc))
        except Exception as exc:
            res = StackApplyResult(sid, "failed", "internal error", sp.plan_sha256, error=error_text(exc))
        res.duration_s = round(time.monotonic() - started, 2)
        res.log = str(log)
        if res.status == "applied":
            engine.record_seconds(stack, "apply", res.duration_s)
        results[sid] = res
        shown = res.status if not (destroy and res.status == "applied") else "destroyed"
        engine.progress.done(sid, shown, res.error or res.detail, res.duration_s, log)
        ok = res.status in ("applied", "no-changes")
        return Outcome(ok, res, "needs re-approval" if res.status == "re-approval-needed" else "failed")

    ids = [s.stack for s in verified.to_apply]
    engine.progress.start(f"{'destroy' if destroy else 'apply'} {manifest.id}", graph.ordered(ids))
    try:
        task_results = run_stacks(engine, ids, worker, reverse=destroy, op="apply", fail_fast=fail_fast)
    finally:
        engine.progress.close()
    ordered: dict[str, StackApplyResult] = {}
    for sid in ids if not destroy else list(reversed(graph.ordered(ids))):
        if sid in results:
            ordered[sid] = results[sid]
        else:
            tr = task_results.get(sid)
            reason = tr.reason if tr is not None and tr.reason else "not started"
            ordered[sid] = StackApplyResult(sid, "skipped", reason, plans[sid].plan_sha256)
    run = ApplyRun(verified, approval, ordered, run_dir, interrupted=engine.cancel.interrupted.is_set())

    again = [sid for sid, r in ordered.items() if r.status == "re-approval-needed"]
    if again and not run.interrupted:
        blocked = graph.downstream_of(again) & {sid for sid, r in ordered.items() if r.status == "skipped"}
        engine.progress.note(f"re-approval needed for {', '.join(again)}: planning again into a new plan set")
        run.new_plan = plan_stacks(
            engine, PlanOptions(stacks=[*again, *sorted(blocked)], kind=manifest.kind, pr=manifest.pr)
        )

    audit.append(
        engine.root,
        audit_record(
            "destroy" if destroy else "apply",
            engine=engine,
            plan_set=verified.dir,
            manifest_id=manifest.id,
            approval=approval,
            result={0: "applied", 1: "failed", 2: "re-approval-needed", 130: "interrupted"}.get(
                run.exit_code, "failed"
            ),
            stacks=[
                {
                    "stack": r.stack,
                    "status": r.status,
                    "plan_sha256": r.plan_sha256,
                    "applied_sha256": r.applied_sha256,
                    **({"error": r.error} if r.error else {}),
                    **({"differences": r.differences} if r.differences else {}),
                }
                for r in ordered.values()
            ],
            extra={
                "commit": manifest.commit,
                "run_dir": str(run_dir),
                "new_plan_set": run.new_plan.manifest.id if run.new_plan else None,
            },
        ),
    )
    (run_dir / "result.json").write_text(json.dumps(run.to_json(), indent=2) + "\n")
    return run
