"""Drift results on record: each scan adds one line per run to a git note on the scanned commit,
under refs/notes/orchestrate-drift (a ref of its own, so `history` and the promotion gate, which
read refs/notes/orchestrate, never see scans). `orchestrate status` reads the newest per stack."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrator.drift_pr.reconcile import LastReconcile
from orchestrator.envs.records import Record, StackRecord, new_id
from orchestrator.envs.store import RecordStore
from orchestrator.errors import OrchestratorError
from orchestrator.git import Repo
from orchestrator.locks import current_owner

DRIFT_REF = "refs/notes/orchestrate-drift"


@dataclass(frozen=True)
class DriftResult:
    stack: str
    status: str  # clean | drifted | error | reconciled (drifted, and put back automatically)
    time: str
    commit: str


def record_scan(root_repo: Repo | None, results: Iterable[tuple[str, str]]) -> list[str]:
    """Write one scan's (stack, status) pairs; the warnings (never raises: a scan's result stands)."""
    stacks = tuple(StackRecord(stack=sid, status=status) for sid, status in results)
    if root_repo is None or not stacks:
        return []
    head = root_repo.head()
    if head is None:
        return []
    record = Record(
        id=new_id(),
        kind="drift",
        # microseconds: two scans within a second still order (the newest result wins)
        time=datetime.now(UTC).isoformat(timespec="microseconds"),
        commit=head,
        result="drifted" if any(s.status != "clean" for s in stacks) else "clean",
        who=current_owner(),
        run_by=current_owner(),
        approval=None,
        pr=None,
        plan_set=None,
        stacks=stacks,
    )
    store = RecordStore(root_repo.root, ref=DRIFT_REF)
    try:
        written = store.write(record)
    except OrchestratorError as exc:
        return [f"drift records: {exc.message}"]
    # No remote is normal for a local scan: the result stays in this clone.
    return [w for w in written.warnings if "no remote" not in w]


def latest_drift(records: Iterable[Record]) -> dict[str, DriftResult]:
    """stack -> its newest scan result."""
    out: dict[str, DriftResult] = {}
    for rec in sorted(records, key=lambda r: (r.time, r.id)):
        if rec.kind != "drift":
            continue
        for s in rec.stacks:
            out[s.stack] = DriftResult(s.stack, s.status, rec.time, rec.commit)
    return out


def last_reconciles(records: Iterable[Record]) -> dict[str, LastReconcile]:
    """stack -> its newest automatic apply (reconcile: auto), from the apply records; attempts
    that failed count too: they were tried."""
    out: dict[str, LastReconcile] = {}
    for rec in sorted(records, key=lambda r: (r.time, r.id)):
        if (rec.approval or {}).get("source") != "reconcile":
            continue
        for s in rec.stacks:
            out[s.stack] = LastReconcile(rec.time, rec.id)
    return out
