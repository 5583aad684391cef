"""Apply records: what went into the git note of an applied commit (pure: build, encode, parse).

One record is one JSON line. A note holds every record of its commit, one per line, so two
notes merge by the union of their lines (``git notes merge -s cat_sort_uniq``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RECORD_VERSION = 1
OK_STATUSES = ("applied", "no-changes")


@dataclass(frozen=True)
class StackRecord:
    stack: str
    status: str
    environment: str | None = None
    family: str | None = None
    content_hash: str | None = None
    source_sha256: str | None = None
    plan_sha256: str | None = None
    applied_sha256: str | None = None
    paths: tuple[str, ...] = ()  # root-relative: the stack directory and its local modules

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


@dataclass(frozen=True)
class Record:
    id: str
    kind: str  # apply | destroy
    time: str
    commit: str
    result: str
    who: str
    run_by: str
    approval: Mapping[str, Any] | None
    pr: int | None
    plan_set: str | None
    stacks: tuple[StackRecord, ...]
    promotion_skipped: str | None = None  # the --reason of --skip-promotion
    deployments: Mapping[str, int] = field(default_factory=dict)  # environment -> GitHub deployment id

    def to_json(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "id": self.id,
            "kind": self.kind,
            "time": self.time,
            "commit": self.commit,
            "result": self.result,
            "who": self.who,
            "run_by": self.run_by,
            "approval": dict(self.approval) if self.approval else None,
            "pr": self.pr,
            "plan_set": self.plan_set,
            "stacks": [{**s.__dict__, "paths": list(s.paths)} for s in self.stacks],
            "promotion_skipped": self.promotion_skipped,
            "deployments": dict(self.deployments),
        }

    def line(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), default=str)


def new_id() -> str:
    return "d-" + secrets.token_hex(6)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_record(data: Mapping[str, Any], commit: str) -> Record | None:
    """A record from one parsed line; None for a line that is not one of ours."""
    if not isinstance(data, Mapping) or data.get("v") != RECORD_VERSION or not data.get("id"):
        return None
    stacks = []
    for s in data.get("stacks") or ():
        if isinstance(s, Mapping) and isinstance(s.get("stack"), str):
            fields: dict[str, Any] = {k: s.get(k) for k in StackRecord.__dataclass_fields__ if k in s}
            paths = fields.get("paths")
            fields["paths"] = tuple(p for p in paths if isinstance(p, str)) if isinstance(paths, list) else ()
            stacks.append(StackRecord(**fields))
    deployments = data.get("deployments") or {}
    return Record(
        id=str(data["id"]),
        kind=str(data.get("kind") or "apply"),
        time=str(data.get("time") or ""),
        commit=str(data.get("commit") or commit),
        result=str(data.get("result") or ""),
        who=str(data.get("who") or ""),
        run_by=str(data.get("run_by") or ""),
        approval=data.get("approval") if isinstance(data.get("approval"), Mapping) else None,
        pr=data.get("pr") if isinstance(data.get("pr"), int) else None,
        plan_set=data.get("plan_set") if isinstance(data.get("plan_set"), str) else None,
        stacks=tuple(stacks),
        promotion_skipped=data.get("promotion_skipped") or None,
        deployments={str(k): int(v) for k, v in deployments.items() if isinstance(v, int)}
        if isinstance(deployments, Mapping)
        else {},
    )


def parse_note(text: str, commit: str) -> tuple[list[Record], int]:
    """(records, lines that could not be read) of one note."""
    out: list[Record] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = parse_record(json.loads(line), commit)
        except (ValueError, TypeError):
            rec = None
        if rec is None:
            bad += 1
        else:
            out.append(rec)
    return out, bad


def add_line(note: str | None, line: str) -> str:
    """The note with ``line`` added (kept sorted and unique, as cat_sort_uniq leaves it)."""
    lines = {ln for ln in (note or "").splitlines() if ln.strip()}
    lines.add(line)
    return "\n".join(sorted(lines)) + "\n"


@dataclass(frozen=True)
class HistoryRow:
    time: str
    record: str
    kind: str
    stack: str
    environment: str | None
    status: str
    commit: str
    who: str
    approval: str
    pr: int | None
    plan_set: str | None
    content_hash: str | None
    promotion_skipped: str | None
    deployment: int | None = None  # the GitHub deployment of this environment

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def history_rows(
    records: Iterable[Record], *, stack: str | None = None, env: str | None = None
) -> list[HistoryRow]:
    """One row per stack per record, newest first, filtered by stack and environment."""
    rows = []
    for rec in records:
        source = (rec.approval or {}).get("source") or ""
        for s in rec.stacks:
            if stack is not None and s.stack != stack and s.family != stack:
                continue
            if env is not None and s.environment != env:
                continue
            rows.append(
                HistoryRow(
                    rec.time,
                    rec.id,
                    rec.kind,
                    s.stack,
                    s.environment,
                    s.status,
                    rec.commit,
                    rec.who,
                    str(source),
                    rec.pr,
                    rec.plan_set,
                    s.content_hash,
                    rec.promotion_skipped,
                    rec.deployments.get(s.environment or "default"),
                )
            )
    rows.sort(key=lambda r: (r.time, r.record, r.stack), reverse=True)
    return rows


class Passed:
    """The newest successful apply per (stack, content hash): the promotion gate's lookup."""

    def __init__(self, records: Iterable[Record]) -> None:
        self._best: dict[tuple[str, str], Record] = {}
        for rec in records:
            if rec.kind != "apply":
                continue
            for s in rec.stacks:
                if not s.ok or s.content_hash is None:
                    continue
                key = (s.stack, s.content_hash)
                best = self._best.get(key)
                if best is None or rec.time > best.time:
                    self._best[key] = rec

    def get(self, stack: str, content: str) -> Record | None:
        return self._best.get((stack, content))


def passed(records: Iterable[Record], stack: str, content: str) -> Record | None:
    """The newest record in which ``stack`` applied successfully with this content hash."""
    return Passed(records).get(stack, content)
