"""One PR comment for a plan set applied wave by wave (``apply --pr N --wave K``; pure).

Each wave runs in its own CI job, on its own runner: nothing but the pull request is shared
between them. So the comment carries, next to the table people read, a hidden block with the
results of the waves so far; the job of wave K reads it back from orchestrate's own sticky
comment (never from a comment anyone else wrote), adds its own results and rewrites the
comment. The block holds only what the comment shows (already redacted, details cut short):
it is a display aid, never evidence; the audit records are.

The block is zlib-compressed JSON in base64, split into short space-separated groups so that a
redaction pattern for long tokens cannot match (and corrupt) it. A block that does not decode is
ignored: the comment then lists the waves it can read and says that earlier ones are missing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.render.escape import md_code

FORMAT = 1
_BLOCK = re.compile(r"<!-- orchestrate-waves v1 ([A-Za-z0-9+/= ]*) -->")
_GROUP = 12
_DETAIL_CHARS = 300
_DIFFERENCES = 10
_LABEL = {
    "applied": "✅ applied",
    "no-changes": "✅ no changes",
    "failed": "❌ failed",
    "skipped": "⏭️ skipped",
    "re-approval-needed": "⏳ re-approval needed",
}


@dataclass(frozen=True)
class StackRow:
    stack: str
    status: str
    detail: str = ""
    duration_s: float | None = None
    differences: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WaveRecord:
    """What one wave's job did: its stacks' results, or the refusal that stopped it."""

    wave: int
    rows: list[StackRow] = field(default_factory=list)
    refused: str | None = None
    new_plan_set: str | None = None
    run_url: str | None = None
    approver: str | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None and all(r.status in ("applied", "no-changes") for r in self.rows)


@dataclass(frozen=True)
class WaveComment:
    plan_set: str
    commit: str | None
    last: int  # the plan set's last wave (waves are 0..last)
    waves: dict[int, WaveRecord]
    lost: bool = False  # an earlier block could not be read back


def from_apply_run(
    run: Mapping[str, Any], wave: int, redact: Callable[[str], str], *, run_url: str | None = None
) -> WaveRecord:
    """Wave ``wave``'s record from ``ApplyRun.to_json()``; texts redacted with ``redact``."""
    rows = []
    for s in run.get("stacks") or []:
        detail = redact(str(s.get("error") or s.get("detail") or ""))[:_DETAIL_CHARS]
        duration = s.get("duration_s")
        rows.append(
            StackRow(
                stack=str(s.get("stack")),
                status=str(s.get("status")),
                detail=detail,
                duration_s=float(duration) if isinstance(duration, int | float) else None,
                differences=[redact(str(d))[:_DETAIL_CHARS] for d in (s.get("differences") or [])][
                    :_DIFFERENCES
                ],
            )
        )
    approval = run.get("approval") or {}
    approver = approval.get("approver") if isinstance(approval, Mapping) else None
    return WaveRecord(
        wave,
        rows,
        new_plan_set=str(run["new_plan_set"]) if run.get("new_plan_set") else None,
        run_url=run_url,
        approver=str(approver) if approver else None,
    )


def refused(
    wave: int, message: str, redact: Callable[[str], str], *, run_url: str | None = None
) -> WaveRecord:
    return WaveRecord(wave, refused=redact(message)[: _DETAIL_CHARS * 2], run_url=run_url)


# ---------------------------------------------------------------- the hidden block


def encode(comment: WaveComment) -> str:
    doc = {
        "format": FORMAT,
        "plan_set": comment.plan_set,
        "commit": comment.commit,
        "last": comment.last,
        "waves": [asdict(w) for _, w in sorted(comment.waves.items())],
    }
    raw = base64.b64encode(zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 9)).decode()
    groups = " ".join(raw[i : i + _GROUP] for i in range(0, len(raw), _GROUP))
    return f"<!-- orchestrate-waves v1 {groups} -->"


def _record(doc: Mapping[str, Any]) -> WaveRecord:
    rows = [
        StackRow(
            stack=str(r["stack"]),
            status=str(r["status"]),
            detail=str(r.get("detail") or ""),
            duration_s=float(r["duration_s"]) if isinstance(r.get("duration_s"), int | float) else None,
            differences=[str(d) for d in r.get("differences") or []],
        )
        for r in doc.get("rows") or []
    ]
    return WaveRecord(
        wave=int(doc["wave"]),
        rows=rows,
        refused=str(doc["refused"]) if doc.get("refused") else None,
        new_plan_set=str(doc["new_plan_set"]) if doc.get("new_plan_set") else None,
        run_url=str(doc["run_url"]) if doc.get("run_url") else None,
        approver=str(doc["approver"]) if doc.get("approver") else None,
    )


def decode(body: str, plan_set: str) -> tuple[dict[int, WaveRecord], bool]:
    """The waves recorded in ``body`` for ``plan_set``, and whether a block was there but unreadable."""
    m = _BLOCK.search(body)
    if m is None:
        return {}, False
    try:
        raw = zlib.decompress(base64.b64decode(m.group(1).replace(" ", ""), validate=True))
        doc = json.loads(raw)
        if doc.get("format") != FORMAT or doc.get("plan_set") != plan_set:
            return {}, doc.get("plan_set") == plan_set
        records = [_record(w) for w in doc.get("waves") or []]
    except (binascii.Error, zlib.error, ValueError, KeyError, TypeError, AttributeError):
        return {}, True
    return {r.wave: r for r in records}, False


# ---------------------------------------------------------------- the comment


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _headline(c: WaveComment) -> str:
    rows = [r for w in c.waves.values() for r in w.rows]
    applied = sum(r.status == "applied" for r in rows)
    noun = f"{applied} stack{'s' if applied != 1 else ''}"
    done = sorted(c.waves)
    stopped = [w for w in done if not c.waves[w].ok]
    if stopped:
        w = c.waves[stopped[0]]
        if w.refused is not None:
            return f"### 🛑 orchestrate apply: wave {w.wave} refused ({noun} applied before it)"
        statuses = {r.status for r in w.rows}
        if "re-approval-needed" in statuses and "failed" not in statuses:
            return f"### ⏳ orchestrate apply: stopped in wave {w.wave}: a provisional plan changed"
        return f"### ❌ orchestrate apply: wave {w.wave} failed ({noun} applied)"
    if done == list(range(c.last + 1)):
        return f"### ✅ orchestrate apply: applied ({noun}, {c.last + 1} waves)"
    return f"### ⏳ orchestrate apply: wave {max(done)} of 0–{c.last} done ({noun} applied so far)"


def render(c: WaveComment) -> str:
    """The comment: the hidden block, then every wave recorded so far in one table."""
    # The block first: were the comment ever cut at GitHub's limit, the cut takes the table's end.
    lines = [encode(c), _headline(c), ""]
    meta = f"Plan set `{c.plan_set}`"
    if c.commit:
        meta += f" at commit `{c.commit[:12]}`"
    approvers = sorted({w.approver for w in c.waves.values() if w.approver})
    if approvers:
        meta += f", approved by {', '.join(_cell(a) for a in approvers)}"
    lines += [meta, ""]
    runs = [f"[wave {k}]({w.run_url})" for k, w in sorted(c.waves.items()) if w.run_url]
    if runs:
        lines += ["Workflow runs: " + " · ".join(runs), ""]
    if c.lost:
        lines += ["⚠️ The results of earlier waves could not be read back; see their workflow runs.", ""]
    lines += ["| Wave | Stack | Result | Detail | Time |", "|--:|---|---|---|--:|"]
    for k, w in sorted(c.waves.items()):
        if w.refused is not None:
            lines.append(f"| {k} | — | 🛑 refused | {_cell(w.refused)} | — |")
        for r in w.rows:
            took = f"{r.duration_s:.1f} s" if r.duration_s is not None else "—"
            label = _LABEL.get(r.status, r.status)
            lines.append(f"| {k} | {md_code(r.stack)} | {label} | {_cell(r.detail) or '—'} | {took} |")
    pending = [k for k in range(c.last + 1) if k not in c.waves]
    for k in pending:
        lines.append(f"| {k} | — | waiting | — | — |")
    lines.append("")
    for w in (w for _, w in sorted(c.waves.items())):
        for r in (r for r in w.rows if r.differences):
            lines.append(f"**{md_code(r.stack)}**: the re-plan differs from the approved plan:")
            lines.extend(f"- {_cell(d)}" for d in r.differences)
            lines.append("")
        if w.new_plan_set:
            lines += [
                f"A new plan set `{w.new_plan_set}` was written for the stacks that need a new approval; "
                "push or re-run the plan job to post it, then approve again.",
                "",
            ]
    return "\n".join(lines) + "\n"


def merge(
    previous_bodies: Sequence[str], plan_set: str, commit: str | None, last: int, record: WaveRecord
) -> WaveComment:
    """The comment after ``record``'s wave: earlier waves read back from ``previous_bodies`` (the
    sticky comment's parts), this wave's record replacing any earlier run of the same wave."""
    waves: dict[int, WaveRecord] = {}
    lost = False
    for body in previous_bodies:
        found, bad = decode(body, plan_set)
        waves.update(found)
        lost = lost or bad
    waves = {k: w for k, w in waves.items() if k <= last}
    waves[record.wave] = record
    lost = lost or (record.wave > 0 and any(k not in waves for k in range(record.wave)))
    return WaveComment(plan_set, commit, last, waves, lost)
