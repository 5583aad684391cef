"""`orchestrate status` with automatic reconciliation (pure): a stack whose last scan put its drift
back counts as clean and names the record; the newest automatic apply comes from the records."""

from __future__ import annotations

from orchestrator.controller.status import StackStatus, summary
from orchestrator.render.status import status_markdown, status_table


def row(drift: str, **kw: object) -> StackStatus:
    base: dict[str, object] = {
        "stack": "aws/dev/app",
        "environment": "dev",
        "sync": "in-sync",
        "applied_commit": "a" * 40,
        "applied_at": "2026-12-03T10:00:00+00:00",
        "record": "d-1",
        "drift": drift,
        "drift_at": "2026-12-03T11:00:00+00:00",
    }
    base.update(kw)
    return StackStatus(**base)  # type: ignore[arg-type]


def test_a_reconciled_stack_is_clean_and_shows_its_record() -> None:
    r = row("reconciled", reconciled_at="2026-12-03T11:00:01+00:00", reconcile_record="d-9")
    assert r.ok
    assert r.to_json()["reconcile_record"] == "d-9" and r.to_json()["ok"] is True
    counts = summary([r, row("drifted")])
    assert counts["drifted"] == 1 and counts["in_sync"] == 2
    md = status_markdown([r], summary([r]), "h" * 40)
    assert "reconciled 2026-12-03T11:00:00+00:00 (record `d-9`)" in md and "✅" in md
    assert "reconciled" in status_table([r], summary([r]))


def test_reconciled_but_out_of_sync_is_not_ok() -> None:
    assert not row("reconciled", sync="out-of-sync").ok
    assert not row("unknown").ok and not row("error").ok
