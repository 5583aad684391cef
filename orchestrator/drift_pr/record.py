"""The drift record: ``drift/<stack-slug>.json``, the audit trail of a stack's out-of-band changes (pure).

It is built from the stack's entry of the (already redacted) drift report and committed on the
drift branch, so merging a drift pull request leaves in Git what was found, when, and what each
earlier incident was. ``history`` has one line per distinct drift (fingerprint) seen while a pull
request was open, and carries the lines of earlier incidents recorded on the base branch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

FORMAT = 1
RECORD_DIR = "drift"
BRANCH_PREFIX = "orchestrate/drift/"
HISTORY_LIMIT = 100  # lines kept; the oldest go first (Git keeps every version anyway)


def branch_name(slug: str) -> str:
    return f"{BRANCH_PREFIX}{slug}"


def record_path(slug: str) -> str:
    """Relative to the repository root (the directory holding orchestrate.yaml)."""
    return f"{RECORD_DIR}/{slug}.json"


def _addresses(items: Any) -> list[str]:
    return sorted(str(i.get("address")) for i in items or [] if isinstance(i, Mapping))


def history_line(entry: Mapping[str, Any], detected_at: str) -> dict[str, Any]:
    return {
        "fingerprint": entry.get("fingerprint"),
        "detected_at": detected_at,
        "changed": _addresses(entry.get("changed")),
        "missing": _addresses(entry.get("missing")),
    }


def build_record(
    entry: Mapping[str, Any],
    *,
    scanned_at: str,
    scanned_commit: str | None,
    previous: Mapping[str, Any] | None = None,
    same_incident: bool = False,
) -> dict[str, Any]:
    """The record for a drifted stack's report ``entry``.

    ``previous`` is the record found on the drift branch (``same_incident``: the pull request is
    still open) or on the base branch (an earlier incident, merged). Within one incident the
    drift keeps the time it was first seen while its fingerprint does not change.
    """
    fingerprint = entry.get("fingerprint")
    history: list[dict[str, Any]] = []
    detected_at = scanned_at
    if previous is not None and isinstance(previous.get("history"), list):
        history = [dict(h) for h in previous["history"] if isinstance(h, Mapping)]
    last = history[-1] if history else None
    if same_incident and last is not None and last.get("fingerprint") == fingerprint:
        detected_at = str(last.get("detected_at") or scanned_at)
    else:
        history.append(history_line(entry, scanned_at))
    return {
        "format": FORMAT,
        "stack": entry.get("stack"),
        "status": entry.get("status"),
        "fingerprint": fingerprint,
        "detected_at": detected_at,
        "scanned_at": scanned_at,
        "scanned_commit": scanned_commit,
        "mode": entry.get("mode"),
        "changed": list(entry.get("changed") or []),
        "missing": list(entry.get("missing") or []),
        "history": history[-HISTORY_LIMIT:],
    }


def record_text(record: Mapping[str, Any]) -> str:
    return json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"


def parse_record(text: str | None) -> dict[str, Any] | None:
    """A record read back from Git; None when absent or not a record (never an error)."""
    if not text:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == FORMAT else None
