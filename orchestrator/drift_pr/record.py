"""The drift record: ``drift/<stack-slug>.json``, the audit trail of a stack's out-of-band changes (pure).

It is built from the stack's entry of the (already redacted) drift report and committed on the
drift branch, so merging a drift pull request leaves in Git what was found, when, and what each
earlier incident was. ``history`` has one line per distinct drift (fingerprint) seen while a pull
request was open, and carries the lines of earlier incidents recorded on the base branch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypedDict

from orchestrator.drift.model import StackDrift
from orchestrator.jsontypes import JSONValue

FORMAT = 1
RECORD_DIR = "drift"
BRANCH_PREFIX = "orchestrate/drift/"
HISTORY_LIMIT = 100  # lines kept; the oldest go first (Git keeps every version anyway)


def branch_name(slug: str) -> str:
    return f"{BRANCH_PREFIX}{slug}"


def record_path(slug: str) -> str:
    """Relative to the repository root (the directory holding orchestrate.yaml)."""
    return f"{RECORD_DIR}/{slug}.json"


class DriftRecord(TypedDict):
    """``drift/<stack-slug>.json`` as committed. ``changed``/``missing`` are the report's JSON form;
    ``history`` lines are copied as found (those of earlier incidents come from Git)."""

    format: int
    stack: str
    status: str
    fingerprint: str
    detected_at: str
    scanned_at: str
    scanned_commit: str | None
    mode: str
    changed: list[dict[str, JSONValue]]
    missing: list[dict[str, JSONValue]]
    history: list[dict[str, JSONValue]]


def history_line(entry: StackDrift, detected_at: str) -> dict[str, JSONValue]:
    changed: list[JSONValue] = [c.address for c in entry.sorted_changed()]
    missing: list[JSONValue] = [m.address for m in entry.sorted_missing()]
    return {
        "fingerprint": entry.fingerprint,
        "detected_at": detected_at,
        "changed": changed,
        "missing": missing,
    }


def build_record(
    entry: StackDrift,
    *,
    scanned_at: str,
    scanned_commit: str | None,
    previous: DriftRecord | None = None,
    same_incident: bool = False,
) -> DriftRecord:
    """The record for a drifted stack ``entry`` (of the redacted report).

    ``previous`` is the record found on the drift branch (``same_incident``: the pull request is
    still open) or on the base branch (an earlier incident, merged). Within one incident the
    drift keeps the time it was first seen while its fingerprint does not change.
    """
    fingerprint = entry.fingerprint
    history = [dict(h) for h in previous["history"]] if previous is not None else []
    detected_at = scanned_at
    last = history[-1] if history else None
    if same_incident and last is not None and last.get("fingerprint") == fingerprint:
        detected_at = str(last.get("detected_at") or scanned_at)
    else:
        history.append(history_line(entry, scanned_at))
    return {
        "format": FORMAT,
        "stack": entry.stack,
        "status": entry.status,
        "fingerprint": fingerprint,
        "detected_at": detected_at,
        "scanned_at": scanned_at,
        "scanned_commit": scanned_commit,
        "mode": entry.mode,
        "changed": entry.changed_json(),
        "missing": entry.missing_json(),
        "history": history[-HISTORY_LIMIT:],
    }


def record_text(record: DriftRecord) -> str:
    return json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"


def _objects(value: object) -> list[dict[str, JSONValue]]:
    return [dict(v) for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_record(text: str | None) -> DriftRecord | None:
    """A record read back from Git: the one place drift_pr takes JSON it did not just build.
    None when absent or not a record (never an error: a branch may hold anything); a field of the
    wrong type reads as empty, so the history of a damaged record still carries on."""
    if not text:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    commit = doc.get("scanned_commit")
    return {
        "format": FORMAT,
        "stack": _text(doc.get("stack")),
        "status": _text(doc.get("status")),
        "fingerprint": _text(doc.get("fingerprint")),
        "detected_at": _text(doc.get("detected_at")),
        "scanned_at": _text(doc.get("scanned_at")),
        "scanned_commit": commit if isinstance(commit, str) else None,
        "mode": _text(doc.get("mode")),
        "changed": _objects(doc.get("changed")),
        "missing": _objects(doc.get("missing")),
        "history": _objects(doc.get("history")),
    }
