"""Text for the environment commands: history rows, the consistency report (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns (no colour: safe for pipes and logs)."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"


def history_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "no applies on record\n"
    header = ("TIME", "STACK", "ENV", "STATUS", "COMMIT", "WHO", "APPROVAL", "RECORD", "NOTE")
    body = []
    for r in rows:
        note = f"promotion skipped: {r['promotion_skipped']}" if r.get("promotion_skipped") else ""
        approval = str(r.get("approval") or "")
        if r.get("pr"):
            approval = f"{approval} #{r['pr']}".strip()
        body.append(
            (
                str(r["time"]),
                str(r["stack"]),
                str(r.get("environment") or "-"),
                ("destroy " if r.get("kind") == "destroy" else "") + str(r["status"]),
                str(r["commit"])[:12],
                str(r["who"]),
                approval or "-",
                str(r["record"]),
                note,
            )
        )
    return columns(header, body)


def to_json_text(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
