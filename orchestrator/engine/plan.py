"""`orchestrate plan` as a function: plan stacks in dependency order into a plan set.

Per stack: lock, resolve inputs from upstream outputs, init (when needed), ``plan -out``,
``show -json``; write plan.tfplan, plan.json, plan.txt and log.txt (both redacted) into
the plan set's temporary directory. Then policies are evaluated, the manifest is built and
the plan set appears atomically (planset.write_plan_set).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from orchestrator import __version__
from orchestrator.discovery import Stack
from orchestrator.engine.context import Engine
from orchestrator.engine.inputs import ResolvedInputs, UpstreamPlan, resolve_inputs
from orchestrator.engine.moved import moved_from
from orchestrator.engine.source import commit_info, source_digest, source_paths
from orchestrator.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_POLICY,
    Interrupted,
    OrchestratorError,
    PlanSetError,
    TerraformError,
)
from orchestrator.planset import (
    LOG_FILE,
    PLAN_FILE,
    PLAN_JSON,
    PLAN_TEXT,
    PLANS_DIR,
    POLICY_FILE,
    Counts,
    Manifest,
    StackPlan,
    sha256_file,
    write_plan_set,
)
from orchestrator.redact import Redactor, sensitive_values
from orchestrator.scheduler import Outcome, Task, TaskResult
from orchestrator.scheduler import run as run_dag
from orchestrator.terraform import runner as tf
from orchestrator.terraform.plan import PlanSummary, plan_state_identity, plan_text, summarize

Kind = Literal["plan", "destroy", "drift-remediation"]


@dataclass
class PlanOptions:
    stacks: Sequence[str]  # the selection, any order (run order is the graph's)
    kind: Kind = "plan"
    out: Path | None = None
    fail_fast: bool = False
    pr: int | None = None
    policies: bool = True


@dataclass
class StackOutcome:
    """The result of planning one stack (also used by apply's re-plans)."""

    plan: StackPlan
    summary: PlanSummary | None = None
    plan_json: dict[str, Any] | None = None
    state_exists: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def upstream(self) -> UpstreamPlan:
        return UpstreamPlan(
            status=self.plan.status,
            has_plan=self.summary is not None,
            state_exists=self.state_exists,
            outputs=self.summary.outputs if self.summary else {},
        )


@dataclass
class PlanRun:
    manifest: Manifest
    dir: Path
    results: dict[str, StackOutcome]
    policy: Any | None = None  # orchestrator.policy PolicyReport when policies ran
    interrupted: bool = False
    notices: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.manifest, self.policy, self.interrupted)


def exit_code_for(manifest: Manifest, policy: Any | None, interrupted: bool = False) -> int:
    """130 interrupted, 1 a stack failed, 3 a blocking policy denied, 2 changes, else 0."""
    if interrupted:
        return EXIT_INTERRUPTED
    statuses = {s.status for s in manifest.stacks}
    if "failed" in statuses:
        return EXIT_ERROR
    if policy is not None and getattr(policy, "blocking", False):
        return EXIT_POLICY
    if statuses & {"changes", "provisional"}:
        return EXIT_CHANGES
    return EXIT_OK


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def base_stack_plan(engine: Engine, stack: Stack, status: str = "skipped", **extra: Any) -> StackPlan:
    return StackPlan(
        stack=stack.id,
        slug=stack.slug,
        path=stack.path,
        cloud=stack.cloud,
        environment=stack.environment,
        depends_on=engine.ws.graph.dependencies(stack.id),
        status=status,
        **extra,
    )


def plan_one(
    engine: Engine,
    stack: Stack,
    sdir: Path,
    inputs: ResolvedInputs,
    *,
    destroy: bool = False,
    operation: str = "plan",
) -> StackOutcome:
    """Plan one stack into ``sdir``; the caller holds the stack lock. Raises on failure."""
    started = time.monotonic()
    sdir.mkdir(parents=True, exist_ok=True)
    log = sdir / LOG_FILE
    log.touch()
    source = source_digest(engine.root, stack)
    common: dict[str, Any] = {
        "inputs": inputs.shown(),
        "provisional_on": inputs.provisional_on,
        "unknown_inputs": sorted(inputs.unknown),
        "source_sha256": source,
        "config_sha256": engine.effective_config(stack),
    }
    if inputs.blocked is not None:
        # Its own state may exist (a later run): stacks reading it must know.
        lineage, _ = engine.state_identity(stack.id)
        return StackOutcome(
            base_stack_plan(engine, stack, "provisional", reason=inputs.blocked, **common),
            state_exists=lineage is not None,
        )
    secrets = {str(inputs.values[k]) for k in inputs.sensitive}
    engine.add_secrets(secrets)
    env = engine.stack_env(stack, inputs.values)
    plan_file = sdir / PLAN_FILE
    args = tf.plan_args(stack.dir, plan_file, var_files=stack.config.var_files, destroy=destroy)

    def on_line(line: str) -> None:
        engine.progress.line(stack.id, line)

    engine.ensure_init(stack, env, log)
    engine.progress.phase(stack.id, operation)
    try:
        result = engine.runner.run(
            args,
            env=env,
            log=log,
            ok_codes=(0, 2),
            where=stack.id,
            on_line=on_line,
            unlock_hint=engine.unlock_hint(stack),
        )
    except tf.InitRequired:
        engine.ensure_init(stack, env, log, force=True)
        result = engine.runner.run(
            args,
            env=env,
            log=log,
            ok_codes=(0, 2),
            where=stack.id,
            on_line=on_line,
            unlock_hint=engine.unlock_hint(stack),
        )
    engine.progress.phase(stack.id, "show")
    json_path = sdir / PLAN_JSON
    engine.runner.run(
        tf.show_json_args(stack.dir, plan_file), env=env, log=log, stdout_path=json_path, where=stack.id
    )
    try:
        plan_json: dict[str, Any] = json.loads(json_path.read_text())
    except ValueError as exc:
        raise TerraformError("`terraform show -json` printed invalid JSON", where=stack.id) from exc
    redactor = Redactor(engine.config.redact, [*sensitive_values(plan_json), *engine.redactor.secrets])
    (sdir / PLAN_TEXT).write_text(redactor.text(plan_text(result.stdout)))
    log.write_text(redactor.text(log.read_text(errors="replace")))
    summary = summarize(plan_json)
    identity = plan_state_identity(plan_file)
    has_changes = result.returncode == 2
    status = "changes" if has_changes else "no-changes"
    if inputs.provisional_on:
        status = "provisional"
    elapsed = time.monotonic() - started
    sp = base_stack_plan(
        engine,
        stack,
        status,
        counts=summary.counts if has_changes else Counts(),
        resource_changes=summary.resource_changes,
        output_changes=summary.output_changes,
        plan_sha256=sha256_file(plan_file),
        plan_json_sha256=sha256_file(json_path),
        lineage=identity.lineage,
        serial=identity.serial,
        duration_s=round(elapsed, 2),
        **common,
    )
    warnings = []
    if not identity.exists and not destroy:
        moved = moved_from(engine.root, stack.id, engine.ws.stacks, plan_json)
        if moved is not None:
            warnings.append(moved)
    return StackOutcome(sp, summary, plan_json, state_exists=identity.exists, warnings=warnings)


def _dag_tasks(
    engine: Engine, ids: Sequence[str], *, reverse: bool, op: str, independent: bool = False
) -> list[Task]:
    graph = engine.ws.graph
    wanted = set(ids)
    weights = {sid: engine.estimated_seconds(engine.stack(sid), op) for sid in ids}
    sub = graph.subgraph(wanted)
    if reverse:
        sub.graph = sub.graph.reverse(copy=True)
    priorities = sub.critical_path_lengths(weights)
    limits = engine.pool_limits()
    tasks = []
    for sid in ids:
        if independent:
            related: set[str] = set()
        else:
            related = graph.downstream_of([sid]) if reverse else graph.upstream_of([sid])
        cloud = engine.stack(sid).cloud
        tasks.append(
            Task(
                sid,
                frozenset(related & wanted),
                pool=cloud if cloud in limits else None,
                priority=priorities.get(sid, 1.0),
            )
        )
    return tasks


def run_stacks(
    engine: Engine,
    ids: Sequence[str],
    worker: Callable[[str], Outcome[Any]],
    *,
    reverse: bool = False,
    op: str,
    fail_fast: bool = False,
    independent: bool = False,
) -> dict[str, TaskResult[Any]]:
    """Run ``worker`` over stacks in dependency order (reverse for destroy; no order when
    ``independent``), under the scheduler, with SIGINT/SIGTERM forwarded to terraform."""
    tasks = _dag_tasks(engine, ids, reverse=reverse, op=op, independent=independent)
    restore = tf.install_signal_forwarding(engine.cancel)
    try:
        return run_dag(
            tasks,
            worker,
            parallelism=engine.parallelism,
            pool_limits=engine.pool_limits(),
            fail_fast=fail_fast,
            cancel=engine.cancel.interrupted,
            on_skip=lambda sid, why: engine.progress.done(sid, "skipped", why),
        )
    finally:
        restore()


def error_text(exc: BaseException) -> str:
    if isinstance(exc, OrchestratorError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    return f"{type(exc).__name__}: {exc}"


def note_for(sp: StackPlan) -> str:
    """What the counts do not say: why provisional, failed or skipped."""
    if sp.status == "provisional":
        if sp.reason:
            return sp.reason
        parts = []
        if sp.provisional_on:
            parts.append(f"provisional on {', '.join(sp.provisional_on)}")
        if sp.unknown_inputs:
            parts.append(f"unknown until apply: {', '.join(sp.unknown_inputs)}")
        return "; ".join(parts)
    if sp.status == "failed":
        return sp.error or "failed"
    if sp.status == "skipped":
        return sp.reason or ""
    if sp.status == "changes" and sp.counts.total == 0 and sp.output_changes:
        return "outputs only"
    return ""


def detail_for(sp: StackPlan) -> str:
    c = sp.counts
    note = note_for(sp)
    if sp.status in ("changes", "provisional") and sp.plan_sha256:
        text = f"+{c.add} ~{c.change} -{c.destroy}" + (f" ±{c.replace}" if c.replace else "")
        return f"{text} ({note})" if note else text
    return note


def evaluate_policies(engine: Engine, plans: list[tuple[Stack, dict[str, Any]]]) -> Any | None:
    """Run the policy pack over plan JSONs; None when the policy module is not installed."""
    try:
        from orchestrator.policy import evaluate_plans
    except ImportError:
        return None
    return evaluate_plans(engine.ws, plans)


def plan_stacks(engine: Engine, options: PlanOptions) -> PlanRun:
    """Plan the selected stacks and write a plan set. Never raises for a stack's failure:
    it is recorded in the manifest (status failed) and its dependents are skipped."""
    graph = engine.ws.graph
    ids = graph.ordered(options.stacks)
    destroy = options.kind == "destroy"
    out = options.out.resolve() if options.out is not None else None
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PlanSetError(
            f"{out} already exists and is not empty",
            hint="Choose another --out directory or remove it first.",
        )
    op = "destroy-plan" if destroy else "plan"
    outcomes: dict[str, StackOutcome] = {}
    lock = threading.Lock()
    info = commit_info(engine.root, [p for sid in ids for p in source_paths(engine.stack(sid))])
    policy_holder: dict[str, Any] = {}

    def upstream_view() -> dict[str, UpstreamPlan]:
        with lock:
            return {sid: o.upstream for sid, o in outcomes.items() if o.plan.status != "failed"}

    def read_state(sid: str) -> Any:
        return engine.read_outputs(sid)

    def populate(tmp: Path) -> Manifest:
        def err(exc: BaseException) -> str:
            # The plan set is built under a temporary name: name where its files will be (--out),
            # or say they are in the plan set (its id is derived from the finished manifest).
            return error_text(exc).replace(str(tmp), str(out) if out is not None else "<plan set>")

        def worker(sid: str) -> Outcome[StackOutcome]:
            stack = engine.stack(sid)
            sdir = tmp / stack.slug
            started = time.monotonic()
            engine.progress.phase(sid, "inputs")
            try:
                with engine.locks.hold(sid, stack.slug, op):
                    if destroy:
                        # Upstreams are destroyed after their dependents: read their state as it is.
                        inputs = resolve_inputs(graph, sid, {}, read_state, lenient=True)
                        inputs.provisional_on = []
                        inputs.blocked = None
                    else:
                        inputs = resolve_inputs(graph, sid, upstream_view(), read_state)
                    outcome = plan_one(engine, stack, sdir, inputs, destroy=destroy, operation=op)
            except Interrupted as exc:
                outcome = StackOutcome(base_stack_plan(engine, stack, "failed", error=err(exc)))
            except OrchestratorError as exc:
                outcome = StackOutcome(base_stack_plan(engine, stack, "failed", error=err(exc)))
            except Exception as exc:  # a bug must not lose the other stacks' plans
                outcome = StackOutcome(
                    base_stack_plan(engine, stack, "failed", error=f"internal error: {err(exc)}")
                )
            elapsed = time.monotonic() - started
            if outcome.plan.status != "failed":
                engine.record_seconds(stack, op, elapsed)
            if outcome.plan.status == "failed":
                for name in (PLAN_FILE, PLAN_JSON, PLAN_TEXT):
                    (sdir / name).unlink(missing_ok=True)
            with lock:
                outcomes[sid] = outcome
            log = sdir / LOG_FILE
            engine.progress.done(
                sid, outcome.plan.status, detail_for(outcome.plan), elapsed, log if log.exists() else None
            )
            return Outcome(outcome.plan.status != "failed", outcome)

        results = run_stacks(engine, ids, worker, reverse=destroy, op=op, fail_fast=options.fail_fast)
        plans: list[StackPlan] = []
        order = list(reversed(ids)) if destroy else ids
        for sid in order:
            res = results.get(sid)
            if sid in outcomes:
                plans.append(outcomes[sid].plan)
            else:
                reason = res.reason if res is not None else "not started"
                if res is not None and res.error is not None:
                    plans.append(base_stack_plan(engine, engine.stack(sid), "failed", error=err(res.error)))
                else:
                    plans.append(base_stack_plan(engine, engine.stack(sid), "skipped", reason=reason))
                    shutil.rmtree(tmp / engine.stack(sid).slug, ignore_errors=True)
        if options.policies:
            with_plans = [
                (engine.stack(sid), outcomes[sid].plan_json)
                for sid in order
                if sid in outcomes and outcomes[sid].plan_json is not None
            ]
            if with_plans:
                engine.progress.note("checking policies")
                report = evaluate_policies(engine, [(s, p) for s, p in with_plans if p is not None])
                if report is not None:
                    policy_holder["report"] = report
                    (tmp / POLICY_FILE).write_text(json.dumps(report.to_json(), indent=2) + "\n")
        report = policy_holder.get("report")
        return Manifest(
            commit=info.sha,
            dirty=info.dirty,
            created_at=_now(),
            kind=options.kind,
            terraform_version=str(engine.binary.version),
            terraform_binary=engine.binary.flavour,
            orchestrate_version=__version__,
            pr=options.pr,
            stacks=plans,
            policy=report.summary() if report is not None else None,
        )

    engine.progress.start(f"{'destroy plan' if destroy else 'plan'}", ids)
    try:
        manifest, directory = write_plan_set(engine.root / PLANS_DIR, None, populate, final_dir=out)
    finally:
        engine.progress.close()
    run = PlanRun(
        manifest,
        directory,
        outcomes,
        policy=policy_holder.get("report"),
        interrupted=engine.cancel.interrupted.is_set(),
        notices=[*engine.locks.notices, *(w for o in outcomes.values() for w in o.warnings)],
    )
    return run


def stack_plans_by_id(manifest: Manifest) -> Mapping[str, StackPlan]:
    return {s.stack: s for s in manifest.stacks}
