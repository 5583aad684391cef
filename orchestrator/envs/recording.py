"""After an apply: the durable record (git note, pushed) and, with GitHub configured, one GitHub
deployment per environment with its status. Called once, by `orchestrate apply`, with the
apply's result; a failure here warns and never turns a done apply into an error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.approval import Approval
from orchestrator.envs.model import EnvModel, content_hash, env_model
from orchestrator.envs.records import Record, StackRecord, new_id, now
from orchestrator.envs.store import NOTES_REF, RecordStore
from orchestrator.errors import OrchestratorError
from orchestrator.github import GitHub, GitHubSettings
from orchestrator.locks import current_owner
from orchestrator.workspace import Workspace


@dataclass
class Recorded:
    record: Record | None
    pushed: bool = False
    warnings: list[str] = field(default_factory=list)


def build_record(
    ws: Workspace,
    model: EnvModel,
    *,
    kind: str,
    commit: str,
    plan_set: str | None,
    approval: Approval | None,
    results: Mapping[str, Any],
    result: str,
    skip_reason: str | None = None,
    sources: Mapping[str, str | None] | None = None,
) -> Record:
    """``results``: stack id -> StackApplyResult (status, plan_sha256, applied_sha256);
    ``sources``: stack id -> the plan set's digest of its source files."""
    sources = sources or {}
    stacks = []
    for sid, res in results.items():
        stack = ws.stacks.get(sid)
        stacks.append(
            StackRecord(
                stack=sid,
                status=str(res.status),
                environment=model.env_of.get(sid),
                family=model.family.get(sid),
                content_hash=content_hash(ws.root, stack) if stack is not None else None,
                source_sha256=sources.get(sid),
                plan_sha256=res.plan_sha256,
                applied_sha256=res.applied_sha256,
                paths=(stack.path, *stack.module_paths) if stack is not None else (),
            )
        )
    return Record(
        id=new_id(),
        kind=kind,
        time=now(),
        commit=commit,
        result=result,
        who=approval.approver if approval else current_owner(),
        run_by=current_owner(),
        approval=approval.to_json() if approval else None,
        pr=approval.pr if approval else None,
        plan_set=plan_set,
        stacks=tuple(stacks),
        promotion_skipped=skip_reason,
    )


def _deploy(ws: Workspace, record: Record, model: EnvModel, settings: GitHubSettings) -> dict[str, int]:
    """One deployment per environment the record touched, with its final status."""
    gh = GitHub(settings)
    ids: dict[str, int] = {}
    by_env: dict[str, list[StackRecord]] = {}
    for s in record.stacks:
        by_env.setdefault(s.environment or "default", []).append(s)
    last = model.environments[-1] if model.environments else None
    for env, stacks in sorted(by_env.items()):
        failed = [s.stack for s in stacks if s.status == "failed"]
        done = [s.stack for s in stacks if s.ok]
        did = gh.create_deployment(
            ref=record.commit,
            environment=env,
            description=f"orchestrate {record.kind}: {', '.join(s.stack for s in stacks)}",
            payload={"record": record.id, "plan_set": record.plan_set, "stacks": [s.stack for s in stacks]},
            production=env == last,
        )
        state = "failure" if failed else "success" if done else "error"
        text = f"failed: {', '.join(failed)}" if failed else f"{len(done)} stack(s) applied"
        gh.set_deployment_status(did, state=state, description=text, log_url=settings.run_url)
        ids[env] = did
    return ids


def record_apply(
    ws: Workspace,
    *,
    kind: str,
    commit: str | None,
    plan_set: str | None,
    approval: Approval | None,
    results: Mapping[str, Any],
    result: str,
    skip_reason: str | None = None,
    sources: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] | None = None,
) -> Recorded:
    if not results:
        return Recorded(None)
    if commit is None:
        return Recorded(None, warnings=["records: the plan set names no commit; no git note was written"])
    model = env_model(ws.config, ws.stacks)
    record = build_record(
        ws,
        model,
        kind=kind,
        commit=commit,
        plan_set=plan_set,
        approval=approval,
        results=results,
        result=result,
        skip_reason=skip_reason,
        sources=sources,
    )
    out = Recorded(record)
    settings = GitHubSettings.from_env(ws.config.github, env)
    if settings.token and settings.repository:
        try:
            deployments = _deploy(ws, record, model, settings)
            record = Record(**{**record.__dict__, "deployments": deployments})
            out.record = record
        except OrchestratorError as exc:
            out.warnings.append(f"GitHub deployments: {exc.message}")
    try:
        written = RecordStore(ws.root).write(record)
        out.pushed = written.pushed
        out.warnings += written.warnings
    except OrchestratorError as exc:
        out.warnings.append(f"records: {exc.message}; the apply is only in .orchestrate/audit.jsonl")
    return out


def unpushed_notice(commit: str, warnings: Sequence[str]) -> tuple[str, str]:
    """(a workflow ``::warning`` command, a job summary section) for an apply record that did not
    reach the remote: it lives only in this clone, which a CI runner throws away."""
    from orchestrator.render.escape import command_data, command_property, md_code, md_text

    short = commit[:12]
    why = "; ".join(warnings) or "the push failed"
    annotation = (
        f"::warning title={command_property('orchestrate: apply record not pushed')}::"
        + command_data(
            f"The apply record of {short} is only in this clone's {NOTES_REF} ({why}). Push it before "
            "this clone is gone: `orchestrate history --push` with a token that may push (contents: "
            "write, docs/ci.md)."
        )
    )
    summary = (
        "### :warning: Apply record not pushed\n\n"
        f"The record of this apply on {md_code(short)} is only in this clone's {md_code(NOTES_REF)}: "
        f"{md_text(why)}.\n\n"
        "A CI runner's clone is thrown away with the job, and environment promotion reads the "
        f"remote's records. Push it with {md_code('orchestrate history --push')} from a clone that "
        'holds it, using a token that may push (`contents: write`, docs/ci.md "Apply records"); '
        "the job's audit artifact keeps the local log of this apply.\n"
    )
    return annotation, summary
