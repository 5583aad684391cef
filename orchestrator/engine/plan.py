"""`orchestrate plan` as a function: plan stacks in dependency order into a plan set.

Per stack (``plan_step``): lock, resolve inputs from upstream outputs, init (when needed),
``plan -out``, and ``show -json`` when something needs the plan JSON; write plan.tfplan,
plan.json, plan.txt and log.txt (both redacted) into the plan set's temporary directory.
Then policies are evaluated, the manifest is built and the plan set appears atomically
(planset.write_plan_set).

``show -json`` is skipped for a stack whose plan has no changes when no policy reads plan
JSON and no stack planned in the same run reads its planned outputs: the manifest records
it as ``no-changes`` without a plan JSON (docs/decisions.md).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from pyrage.x25519 import Recipient

from orchestrator import __version__
from orchestrator.discovery import Stack
from orchestrator.engine.context import Engine
from orchestrator.engine.inputs import ResolvedInputs, UpstreamPlan, resolve_inputs
from orchestrator.engine.moved import moved_from
from orchestrator.engine.policies import evaluate_policies, policies_present
from orchestrator.engine.run import run_work
from orchestrator.engine.source import CommitInfo, commit_info, source_digest, source_paths
from orchestrator.engine.work import Work, WorkItem, plan_work
from orchestrator.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_POLICY,
    PlanSetError,
    one_line,
)
from orchestrator.graph import StackGraph
from orchestrator.planset import (
    LOG_FILE,
    PLAN_FILE,
    PLAN_JSON,
    PLAN_TEXT,
    POLICY_FILE,
    Counts,
    Encryption,
    Manifest,
    ResourceChange,
    StackPlan,
    StackStatus,
    sha256_file,
    write_plan_set,
)
from orchestrator.planset_crypto import encrypt_into, plain_workspace, recipient_texts, recipients
from orchestrator.redact import Redactor, sensitive_values
from orchestrator.scheduler import Outcome
from orchestrator.terraform import runner as tf
from orchestrator.terraform.plan import PlanSummary, StateIdentity, plan_state_identity, plan_text, summarize
from orchestrator.terraform.planjson import PlanJSON, plan_from_terraform

if TYPE_CHECKING:
    from orchestrator.policy.report import PolicyReport

Kind = Literal["plan", "destroy", "drift-remediation"]


@dataclass
class PlanOptions:
    stacks: Sequence[str]  # the selection, any order (run order is the graph's)
    kind: Kind = "plan"
    out: Path | None = None
    fail_fast: bool = False
    pr: int | None = None
    policies: bool = True
    # age recipients plan.tfplan and plan.json are encrypted to, besides plan_sets.encrypt_to
    encrypt_to: Sequence[str] = ()


@dataclass
class StackOutcome:
    """The result of planning one stack (also used by apply's re-plans)."""

    plan: StackPlan
    summary: PlanSummary | None = None
    plan_json: PlanJSON | None = None
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
    policy: PolicyReport | None = None  # when policies ran
    interrupted: bool = False
    notices: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.manifest, self.policy, self.interrupted)


def exit_code_for(manifest: Manifest, policy: PolicyReport | None, interrupted: bool = False) -> int:
    """130 interrupted, 1 a stack failed, 3 a blocking policy denied, 2 changes, else 0."""
    if interrupted:
        return EXIT_INTERRUPTED
    statuses = {s.status for s in manifest.stacks}
    if "failed" in statuses:
        return EXIT_ERROR
    if policy is not None and policy.blocking:
        return EXIT_POLICY
    if statuses & {"changes", "provisional"}:
        return EXIT_CHANGES
    return EXIT_OK


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PlanFields(TypedDict, total=False):
    """What a stack's plan records beyond its identity (StackPlan's optional fields)."""

    counts: Counts
    resource_changes: list[ResourceChange]
    output_changes: bool
    plan_sha256: str | None
    plan_json_sha256: str | None
    lineage: str | None
    serial: int | None
    inputs: dict[str, Any]
    provisional_on: list[str]
    unknown_inputs: list[str]
    reason: str | None
    source_sha256: str | None
    config_sha256: dict[str, str]
    error: str | None
    duration_s: float | None


def base_stack_plan(
    graph: StackGraph, stack: Stack, status: StackStatus = "skipped", **extra: Unpack[PlanFields]
) -> StackPlan:
    return StackPlan(
        stack=stack.id,
        slug=stack.slug,
        path=stack.path,
        cloud=stack.cloud,
        environment=stack.environment,
        depends_on=graph.dependencies(stack.id),
        status=status,
        **extra,
    )


# ---------------------------------------------------------------- what needs a plan JSON


def json_readers(graph: StackGraph, ids: Sequence[str]) -> frozenset[str]:
    """Stacks of ``ids`` whose planned outputs or state another stack of ``ids`` reads (pure)."""
    wanted = set(ids)
    readers: set[str] = set()
    for sid in ids:
        for down in graph.dependents(sid):
            if down in wanted and any(r.kind != "depends_on" for r in graph.reasons(sid, down)):
                readers.add(sid)
    return frozenset(readers)


def needs_plan_json(has_changes: bool, *, policies: bool, read_in_run: bool, kind: str) -> bool:
    """Whether ``show -json`` must run for a stack (pure): always for changes (the diff, the
    comparison of re-plans), for policies and for drift remediation; for a plan without
    changes only when a policy or a stack planned in the same run reads it."""
    return has_changes or policies or read_in_run or kind == "drift-remediation"


# ---------------------------------------------------------------- one stack


def plan_one(
    engine: Engine,
    stack: Stack,
    sdir: Path,
    inputs: ResolvedInputs,
    *,
    destroy: bool = False,
    operation: str = "plan",
    json_wanted: bool = True,
    encrypt_to: Sequence[Recipient] = (),
) -> StackOutcome:
    """Plan one stack into ``sdir``; the caller holds the stack lock. Raises on failure.

    ``json_wanted`` False: skip ``show -json`` when the plan has no changes (and is not
    provisional: its re-plan is compared with the approved plan JSON).

    With ``encrypt_to``, terraform writes the plan file and its JSON into a private directory
    under the stack's work directory and only their age encryptions go into ``sdir``; the
    clear files are removed whatever happens (planset_crypto)."""
    if not encrypt_to:
        return _plan_one(engine, stack, sdir, sdir, inputs, destroy, operation, json_wanted, ())
    with plain_workspace(engine.workdir.of(stack).dir) as files:
        return _plan_one(engine, stack, sdir, files, inputs, destroy, operation, json_wanted, encrypt_to)


def _plan_one(
    engine: Engine,
    stack: Stack,
    sdir: Path,
    files: Path,
    inputs: ResolvedInputs,
    destroy: bool,
    operation: str,
    json_wanted: bool,
    encrypt_to: Sequence[Recipient],
) -> StackOutcome:
    """plan_one with terraform's plan file and plan JSON written into ``files``."""
    started = time.monotonic()
    sdir.mkdir(parents=True, exist_ok=True)
    (sdir / LOG_FILE).touch()
    common: PlanFields = {
        "inputs": inputs.shown(),
        "provisional_on": inputs.provisional_on,
        "unknown_inputs": sorted(inputs.unknown),
        "source_sha256": source_digest(engine.root, stack),
        "config_sha256": engine.workdir.effective_config(stack),
    }
    if inputs.blocked is not None:
        # Its own state may exist (a later run): stacks reading it must know.
        lineage, _ = engine.states.identity(stack.id)
        common["reason"] = inputs.blocked
        plan = base_stack_plan(engine.ws.graph, stack, "provisional", **common)
        return StackOutcome(plan, state_exists=lineage is not None)
    engine.redactor.add_secrets([str(inputs.values[k]) for k in inputs.sensitive])
    env = engine.workdir.env(stack, inputs.values)
    result = _terraform_plan(engine, stack, sdir, files, env, destroy=destroy, operation=operation)
    has_changes = result.returncode == 2
    status: StackStatus = (
        "provisional" if inputs.provisional_on else ("changes" if has_changes else "no-changes")
    )
    plan_json = None
    if json_wanted or status != "no-changes":
        plan_json = _show_json(engine, stack, sdir, files, env)
    _write_texts(engine, sdir, result.stdout, plan_json)
    identity = plan_state_identity(files / PLAN_FILE)
    if encrypt_to:
        for name in (PLAN_FILE, PLAN_JSON):
            if (files / name).is_file():
                encrypt_into(files / name, sdir / name, encrypt_to)
    summary = summarize(plan_json) if plan_json is not None else None
    common["duration_s"] = round(time.monotonic() - started, 2)
    plan = _stack_plan(engine, stack, sdir, status, has_changes, summary, identity, common)
    warnings = []
    if not identity.exists and not destroy and plan_json is not None:
        moved = moved_from(engine.root, stack.id, engine.ws.stacks, plan_json)
        if moved is not None:
            warnings.append(moved)
    return StackOutcome(plan, summary, plan_json, state_exists=identity.exists, warnings=warnings)


def _terraform_plan(
    engine: Engine,
    stack: Stack,
    sdir: Path,
    files: Path,
    env: Mapping[str, str],
    *,
    destroy: bool,
    operation: str,
) -> tf.Result:
    args = tf.plan_args(
        stack.dir,
        files / PLAN_FILE,
        var_files=stack.config.var_files,
        destroy=destroy,
        lock_timeout=engine.config.terraform.lock_timeout_arg,
    )
    log = sdir / LOG_FILE
    engine.workdir.ensure_init(stack, env, log)
    engine.progress.phase(stack.id, operation)
    return engine.workdir.run(
        stack,
        args,
        env,
        log,
        ok_codes=(0, 2),
        on_line=lambda line: engine.progress.line(stack.id, line),
        unlock_hint=engine.workdir.unlock_hint(stack),
    )


def _show_json(engine: Engine, stack: Stack, sdir: Path, files: Path, env: Mapping[str, str]) -> PlanJSON:
    engine.progress.phase(stack.id, "show")
    json_path = files / PLAN_JSON
    args = tf.show_json_args(stack.dir, files / PLAN_FILE)
    engine.runner.run(args, env=env, log=sdir / LOG_FILE, stdout_path=json_path, where=stack.id)
    return plan_from_terraform(json_path.read_bytes(), where=stack.id)


def _write_texts(engine: Engine, sdir: Path, stdout: str, plan_json: PlanJSON | None) -> None:
    """plan.txt and log.txt, redacted with the plan's own sensitive values too."""
    secrets = [*(sensitive_values(plan_json) if plan_json is not None else ()), *engine.redactor.secrets]
    redactor = Redactor(engine.config.redact, secrets)
    (sdir / PLAN_TEXT).write_text(redactor.text(plan_text(stdout)))
    log = sdir / LOG_FILE
    log.write_text(redactor.text(log.read_text(errors="replace")))


def _stack_plan(
    engine: Engine,
    stack: Stack,
    sdir: Path,
    status: StackStatus,
    has_changes: bool,
    summary: PlanSummary | None,
    identity: StateIdentity,
    common: PlanFields,
) -> StackPlan:
    json_path = sdir / PLAN_JSON
    fields: PlanFields = {
        **common,
        "counts": summary.counts if summary is not None and has_changes else Counts(),
        "resource_changes": summary.resource_changes if summary is not None else [],
        "output_changes": summary.output_changes if summary is not None else False,
        "plan_sha256": sha256_file(sdir / PLAN_FILE),
        "plan_json_sha256": sha256_file(json_path) if json_path.is_file() else None,
        "lineage": identity.lineage,
        "serial": identity.serial,
    }
    return base_stack_plan(engine.ws.graph, stack, status, **fields)


# ---------------------------------------------------------------- the run's steps


@dataclass
class PlanSteps:
    """The plan of each work item into the plan set's temporary directory ``tmp``."""

    engine: Engine
    options: PlanOptions
    tmp: Path
    json_for: frozenset[str]  # stacks whose plan JSON is needed even without changes
    encrypt_to: Sequence[Recipient] = ()
    outcomes: dict[str, StackOutcome] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def destroy(self) -> bool:
        return self.options.kind == "destroy"

    def upstream_view(self) -> dict[str, UpstreamPlan]:
        with self._lock:
            return {sid: o.upstream for sid, o in self.outcomes.items() if o.plan.status != "failed"}

    def error(self, exc: BaseException) -> str:
        # The plan set is built under a temporary name: name where its files will be (--out),
        # or say they are in the plan set (its id is derived from the finished manifest).
        out = self.options.out
        return one_line(exc).replace(str(self.tmp), str(out.resolve()) if out is not None else "<plan set>")

    def run(self, item: WorkItem) -> StackOutcome:
        return plan_step(self, item)

    def failed(self, item: WorkItem, exc: BaseException) -> StackOutcome:
        stack = self.engine.stack(item.stack)
        return StackOutcome(base_stack_plan(self.engine.ws.graph, stack, "failed", error=self.error(exc)))

    def skipped(self, item: WorkItem, reason: str) -> StackOutcome:
        stack = self.engine.stack(item.stack)
        shutil.rmtree(self.tmp / stack.slug, ignore_errors=True)
        return StackOutcome(base_stack_plan(self.engine.ws.graph, stack, "skipped", reason=reason))

    def finish(self, item: WorkItem, value: StackOutcome, elapsed: float) -> Outcome[StackOutcome]:
        stack = self.engine.stack(item.stack)
        sdir = self.tmp / stack.slug
        ok = value.plan.status != "failed"
        if ok:
            self.engine.timings.record(stack.slug, item.action, elapsed)
        else:
            for name in (PLAN_FILE, PLAN_JSON, PLAN_TEXT):
                (sdir / name).unlink(missing_ok=True)
        with self._lock:
            self.outcomes[item.stack] = value
        log = sdir / LOG_FILE
        shown = log if log.exists() else None
        self.engine.progress.done(item.stack, value.plan.status, detail_for(value.plan), elapsed, shown)
        return Outcome(ok, value)


def plan_step(steps: PlanSteps, item: WorkItem) -> StackOutcome:
    """Plan one work item under its stack lock."""
    engine = steps.engine
    stack = engine.stack(item.stack)
    engine.progress.phase(stack.id, "inputs")
    with engine.locks.hold(stack.id, stack.slug, item.action):
        if steps.destroy:
            # Upstreams are destroyed after their dependents: read their state as it is.
            inputs = resolve_inputs(engine.ws.graph, stack.id, {}, engine.outputs.read, lenient=True)
            inputs.provisional_on = []
            inputs.blocked = None
        else:
            inputs = resolve_inputs(engine.ws.graph, stack.id, steps.upstream_view(), engine.outputs.read)
        return plan_one(
            engine,
            stack,
            steps.tmp / stack.slug,
            inputs,
            destroy=steps.destroy,
            operation=item.action,
            json_wanted=stack.id in steps.json_for,
            encrypt_to=steps.encrypt_to,
        )


# ---------------------------------------------------------------- the plan set


@dataclass
class PlanSetBuilder:
    """``write_plan_set``'s populate step: plan every item into ``tmp``, check policies, build
    the manifest."""

    engine: Engine
    options: PlanOptions
    work: Work
    commit: CommitInfo
    encrypt_to: Sequence[str] = ()  # age recipients (canonical texts)
    steps: PlanSteps | None = None
    policy: PolicyReport | None = None

    def __call__(self, tmp: Path) -> Manifest:
        engine, options = self.engine, self.options
        policies = options.policies and policies_present(engine.ws)
        readers = json_readers(engine.ws.graph, self.work.ids)
        json_for = frozenset(
            sid
            for sid in self.work.ids
            if needs_plan_json(False, policies=policies, read_in_run=sid in readers, kind=options.kind)
        )
        self.steps = PlanSteps(engine, options, tmp, json_for, recipients(self.encrypt_to))
        outcomes = run_work(engine, self.work, self.steps, fail_fast=options.fail_fast)
        if options.policies:
            self.policy = self._policies(tmp, [(engine.stack(o.plan.stack), o.plan_json) for o in outcomes])
        return Manifest(
            commit=self.commit.sha,
            dirty=self.commit.dirty,
            created_at=_now(),
            kind=options.kind,
            terraform_version=str(engine.binary.version),
            terraform_binary=engine.binary.flavour,
            orchestrate_version=__version__,
            pr=options.pr,
            stacks=[o.plan for o in outcomes],
            policy=self.policy.summary() if self.policy is not None else None,
            recovery=engine.ws.recovery,
            encryption=Encryption(recipients=list(self.encrypt_to)) if self.encrypt_to else None,
        )

    def _policies(self, tmp: Path, plans: list[tuple[Stack, PlanJSON | None]]) -> PolicyReport | None:
        with_plans = [(s, p) for s, p in plans if p is not None]
        if not with_plans:
            return None
        self.engine.progress.note("checking policies")
        report = evaluate_policies(self.engine.ws, with_plans)
        if report is not None:
            (tmp / POLICY_FILE).write_text(json.dumps(report.to_json(), indent=2) + "\n")
        return report


def check_out_dir(out: Path | None) -> Path | None:
    out = out.resolve() if out is not None else None
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PlanSetError(
            f"{out} already exists and is not empty",
            hint="Choose another --out directory or remove it first.",
        )
    return out


def plan_stacks(engine: Engine, options: PlanOptions) -> PlanRun:
    """Plan the selected stacks and write a plan set. Never raises for a stack's failure:
    it is recorded in the manifest (status failed) and its dependents are skipped."""
    work = plan_work(engine.ws.graph, options.stacks, destroy=options.kind == "destroy")
    out = check_out_dir(options.out)
    info = commit_info(engine.root, [p for sid in work.ids for p in source_paths(engine.stack(sid))])
    # plan_sets.encrypt_to is a rule: under a PR it is the base's (rules.py)
    encrypt_to = recipient_texts([*options.encrypt_to, *engine.config.plan_sets.encrypt_to])
    builder = PlanSetBuilder(engine, options, work, info, encrypt_to)
    engine.progress.start("destroy plan" if options.kind == "destroy" else "plan", work.ids)
    try:
        manifest, directory = write_plan_set(engine.plans_dir, None, builder, final_dir=out)
    finally:
        engine.progress.close()
    outcomes = builder.steps.outcomes if builder.steps is not None else {}
    return PlanRun(
        manifest,
        directory,
        dict(outcomes),
        policy=builder.policy,
        interrupted=engine.cancel.interrupted.is_set(),
        notices=[*engine.locks.notices, *(w for o in outcomes.values() for w in o.warnings)],
    )


# ---------------------------------------------------------------- words for a stack's plan


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
