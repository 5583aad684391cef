"""Sync status per stack: what was last applied (records), whether the default branch changed the
stack since (out of sync), the last drift result, and the open pull requests touching it.

The comparison is by content: a stack is in sync when its files (the stack directory and the local
modules it calls, as they are now and as they were recorded) are the same at the head as at the
commit last applied. A commit that touched only other stacks does not make it out of sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.controller.driftlog import DriftResult, last_reconciles
from orchestrator.discovery import Stack
from orchestrator.envs.records import Record, StackRecord
from orchestrator.git import Repo

SYNC_STATES = ("in-sync", "out-of-sync", "never-applied", "destroyed", "failed")


@dataclass(frozen=True)
class StackStatus:
    stack: str
    environment: str | None
    sync: str  # one of SYNC_STATES
    applied_commit: str | None
    applied_at: str | None
    record: str | None
    drift: str  # clean | drifted | error | reconciled | unknown (never scanned)
    drift_at: str | None
    pull_requests: tuple[int, ...] = ()
    reconciled_at: str | None = None  # the newest automatic apply (reconcile: auto)
    reconcile_record: str | None = None

    @property
    def ok(self) -> bool:
        # reconciled: the last scan found drift and put it back (recorded as an apply)
        return self.sync == "in-sync" and self.drift in ("clean", "reconciled")

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "pull_requests": list(self.pull_requests), "ok": self.ok}


def last_applies(records: Iterable[Record]) -> dict[str, tuple[Record, StackRecord]]:
    """stack -> the newest apply or destroy record naming it (failed ones included: they count)."""
    out: dict[str, tuple[Record, StackRecord]] = {}
    for rec in sorted(records, key=lambda r: (r.time, r.id)):
        if rec.kind not in ("apply", "destroy"):
            continue
        for s in rec.stacks:
            if s.status in ("skipped", "provisional"):
                continue  # nothing ran: the previous apply still describes the cloud
            out[s.stack] = (rec, s)
    return out


def sync_state(repo: Repo, head: str, stack: Stack, last: tuple[Record, StackRecord] | None) -> str:
    if last is None:
        return "never-applied"
    rec, srec = last
    if rec.kind == "destroy" and srec.ok:
        return "destroyed"
    if not srec.ok:
        return "failed"
    if not repo.has_commit(rec.commit):
        return "out-of-sync"  # the applied commit is not on this clone's history (force-push?)
    paths = repo.paths(sorted({stack.path, *stack.module_paths, *srec.paths}))
    return "in-sync" if repo.same_content(rec.commit, head, paths) else "out-of-sync"


def build_status(
    repo: Repo,
    head: str,
    stacks: Mapping[str, Stack],
    env_of: Mapping[str, str | None],
    records: Iterable[Record],
    drift: Mapping[str, DriftResult],
    pulls: Mapping[str, Sequence[int]],
) -> list[StackStatus]:
    records = list(records)
    applies = last_applies(records)
    reconciles = last_reconciles(records)
    out = []
    for sid in sorted(stacks):
        last = applies.get(sid)
        d = drift.get(sid)
        rec = reconciles.get(sid)
        out.append(
            StackStatus(
                stack=sid,
                environment=env_of.get(sid),
                sync=sync_state(repo, head, stacks[sid], last),
                applied_commit=last[0].commit if last else None,
                applied_at=last[0].time if last else None,
                record=last[0].id if last else None,
                drift=d.status if d else "unknown",
                drift_at=d.time if d else None,
                pull_requests=tuple(sorted(pulls.get(sid, ()))),
                reconciled_at=rec.time if rec else None,
                reconcile_record=rec.record if rec else None,
            )
        )
    return out


def summary(rows: Sequence[StackStatus]) -> dict[str, int]:
    counts = {"stacks": len(rows), "in_sync": 0, "out_of_sync": 0, "drifted": 0, "unknown_drift": 0}
    for r in rows:
        counts["in_sync" if r.sync == "in-sync" else "out_of_sync"] += 1
        if r.drift in ("drifted", "error"):
            counts["drifted"] += 1
        elif r.drift == "unknown":
            counts["unknown_drift"] += 1
    return counts
