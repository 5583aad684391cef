"""Text for `orchestrate status` (pure): table, JSON and the Markdown of the job summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.controller.status import StackStatus
from orchestrator.render.envs import columns, to_json_text
from orchestrator.render.escape import md_code


def _when(value: str | None) -> str:
    return value or "-"


def _prs(row: StackStatus) -> str:
    return ", ".join(f"#{n}" for n in row.pull_requests) or "-"


def status_table(rows: Sequence[StackStatus], counts: Mapping[str, int]) -> str:
    if not rows:
        return "no stacks\n"
    header = ("STACK", "ENV", "SYNC", "APPLIED", "AT", "DRIFT", "SCANNED", "PRS")
    body = [
        (
            r.stack,
            r.environment or "-",
            r.sync,
            (r.applied_commit or "-")[:12],
            _when(r.applied_at),
            r.drift,
            _when(r.drift_at),
            _prs(r),
        )
        for r in rows
    ]
    return columns(header, body) + "\n" + summary_line(counts) + "\n"


def summary_line(counts: Mapping[str, int]) -> str:
    return (
        f"{counts['in_sync']} of {counts['stacks']} stack(s) in sync, {counts['out_of_sync']} out of sync, "
        f"{counts['drifted']} drifted, {counts['unknown_drift']} never scanned"
    )


def status_json(rows: Sequence[StackStatus], counts: Mapping[str, int], head: str) -> str:
    data: dict[str, Any] = {"head": head, "summary": dict(counts), "stacks": [r.to_json() for r in rows]}
    return to_json_text(data)


def status_markdown(rows: Sequence[StackStatus], counts: Mapping[str, int], head: str) -> str:
    ok = all(r.ok for r in rows)
    out = [
        f"### Sync status at `{head[:12]}`",
        "",
        ("✅ " if ok else "⚠️ ") + summary_line(counts) + ".",
        "",
        "| Stack | Env | Sync | Applied | Drift | Pull requests |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        applied = f"`{r.applied_commit[:12]}` {r.applied_at}" if r.applied_commit else "-"
        drift = f"{r.drift} {r.drift_at}" if r.drift_at else r.drift
        if r.drift == "reconciled" and r.reconcile_record:
            drift += f" (record `{r.reconcile_record}`)"
        out.append(
            f"| {md_code(r.stack)} | {md_code(r.environment or '-')} | {r.sync} | {applied} "
            f"| {drift} | {_prs(r)} |"
        )
    return "\n".join(out) + "\n"
