"""Titles, bodies and comments of drift pull requests, and the run's table of them (pure).

The body holds the drift of one stack (from the redacted report), its remediation plan (the
plan set's plan rendered as a diff, cut visibly to stay within GitHub's limit), what to do
next, and at the very end two hidden blocks: the drift block (orchestrator.drift_pr.meta) and
the plan-set block ``apply --pr N`` checks. Every text passes through the Redactor before it
is measured or cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.table import Table

from orchestrator.drift.model import StackDrift
from orchestrator.drift_pr.meta import DriftMeta, render_meta_block
from orchestrator.planset import Manifest, StackPlan
from orchestrator.render.comment import StackPolicy, StackSection, plan_set_block, render_section
from orchestrator.render.drift import value_text
from orchestrator.render.escape import md_code, one_line
from orchestrator.render.tables import render_table
from orchestrator.render.terminal import PLAIN, Terminal

if TYPE_CHECKING:
    from orchestrator.drift_pr.run import PrOutcome

BODY_BUDGET = 60000  # characters; GitHub refuses a body over 65,536
DRIFT_BUDGET = 20000  # of which the drift table may take at most this much
VALUE_WIDTH = 120


@dataclass(frozen=True)
class BodyData:
    entry: StackDrift  # the stack of the redacted drift report
    scanned_at: str
    scanned_commit: str | None
    base: str  # base branch name
    record_path: str
    manifest: Manifest
    plan: StackPlan
    diff: str | None  # the plan as diff text
    meta: DriftMeta
    number: int | None = None  # the PR number, when it exists already
    policy: StackPolicy | None = None
    enforcement: str | None = None
    policy_blocking: bool = False
    run_url: str | None = None


def _cell(value: str) -> str:
    return one_line(value).replace("|", "\\|").replace("`", "'")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def title(entry: StackDrift) -> str:
    changed, missing = len(entry.changed), len(entry.missing)
    parts = []
    if changed:
        parts.append(f"{changed} changed")
    if missing:
        parts.append(f"{missing} missing")
    return f"Drift in {entry.stack}: " + (", ".join(parts) or "out-of-band changes")


def drift_rows(entry: StackDrift) -> list[str]:
    rows = []
    for c in entry.sorted_changed():
        for d in c.sorted_diffs():
            rows.append(
                f"| `{_cell(c.address)}` | `{_cell(d.path_text)}` "
                f"| `{_cell(value_text(d.expected, VALUE_WIDTH))}` "
                f"| `{_cell(value_text(d.actual, VALUE_WIDTH))}` |"
            )
    for m in entry.sorted_missing():
        rows.append(
            f"| `{_cell(m.address)}` | *(whole resource)* | `{_cell(str(m.id))}` | *(gone from the cloud)* |"
        )
    return rows


def drift_section(entry: StackDrift, record_path: str, redact: Callable[[str], str]) -> str:
    head = [
        "### What changed outside of Terraform",
        "",
        "| resource | attribute | declared (state) | live (cloud) |",
        "|---|---|---|---|",
    ]
    text = redact("\n".join(head)) + "\n"
    rows = [redact(r) + "\n" for r in drift_rows(entry)]
    shown = 0
    for row in rows:
        if len(text) + len(row) > DRIFT_BUDGET:
            break
        text += row
        shown += 1
    if shown < len(rows):
        text += redact(f"\n✂️ {len(rows) - shown:,} more rows are not shown; all are in `{record_path}`.\n")
    return text + "\n"


def _next_steps(data: BodyData) -> str:
    pr = f" --pr {data.number}" if data.number is not None else " --pr <this pull request>"
    if data.plan.status == "no-changes":
        return (
            "⚠️ **The remediation plan has no changes**: Terraform does not restore what drifted (an "
            "attribute outside the provider's schema, or under `lifecycle { ignore_changes }`). Restore "
            "it by hand, or accept it in the code or with a `.driftignore` rule; once a scan finds no "
            "drift, this pull request is closed.\n"
        )
    text = (
        "**To restore what Git declares:** review the plan and approve this pull request; "
        f"`orchestrate apply{pr}` (the apply workflow on approval) applies exactly this plan set and "
        "refuses it if the head commit moves, the plan differs from the one shown, or the state moved.\n\n"
        "**To keep the out-of-band change instead:** change the stack's code in a pull request of its "
        "own; once a scan finds no drift, this pull request is closed with a comment.\n"
    )
    if data.policy_blocking:
        text = (
            "❌ **Policies deny this plan**: `apply` refuses it until the code or the policy changes.\n\n"
            + text
        )
    return text


def render_body(data: BodyData, redact: Callable[[str], str]) -> str:
    """The whole body, within BODY_BUDGET characters."""
    e = data.entry
    commit = f" at `{data.scanned_commit[:12]}`" if data.scanned_commit else ""
    changed, missing = len(e.changed), len(e.missing)
    intro = redact(
        f"## ⚠️ Drift in {md_code(e.stack)}\n\n"
        f"The scan of {data.scanned_at} ({e.mode} mode, `{data.base}`{commit}) found "
        f"{_count(changed, 'changed resource')} and {_count(missing, 'missing resource')} in "
        f"{md_code(e.stack)}. This pull request records them in `{data.record_path}` (the audit trail) "
        "and carries the remediation plan: the plan that restores what Git declares.\n\n"
    )
    drift = drift_section(e, data.record_path, redact)
    sp = data.plan
    ref = (
        f"Plan set `{data.manifest.id}`, bound to this pull request's head commit "
        f"`{(data.manifest.commit or '')[:12]}`; terraform {data.manifest.terraform_version or '?'}."
    )
    plan_head = redact(f"### Remediation plan\n\n{ref}\n\n")
    steps = redact(_next_steps(data)) + "\n"
    footer = redact(
        "<sub>Kept up to date by `orchestrate drift --open-pr`"
        + (f" · [workflow run]({data.run_url})" if data.run_url else "")
        + f" · last scan {data.scanned_at}</sub>\n\n"
    )
    blocks = render_meta_block(data.meta) + "\n" + plan_set_block(data.manifest) + "\n"
    where_full = f"the plan set `{data.manifest.id}`"
    section = StackSection(plan=sp, diff=data.diff, policy=data.policy)
    room = BODY_BUDGET - sum(len(x) for x in (intro, drift, plan_head, steps, footer, blocks))
    plan = render_section(
        section,
        data.enforcement,
        redact,
        limit=max(room, 2000),
        where_full=where_full,
        medium="pull request body",
    )
    # The hidden blocks come last: nothing quoted from the cloud may follow them.
    return intro + drift + plan_head + plan + "\n" + steps + footer + blocks


def close_comment(stack: str, scanned_at: str, base: str, commit: str | None, branch: str) -> str:
    at = f" at `{commit[:12]}`" if commit else ""
    return (
        f"✅ The drift in {md_code(stack)} is gone: the scan of {scanned_at} (`{base}`{at}) found the stack "
        f"as Git declares it. Closing this pull request; its drift record stays on `{branch}`.\n"
    )


def gone_comment(stack: str, base: str) -> str:
    return (
        f"The stack {md_code(stack)} no longer exists on `{base}`, so there is no drift to remediate. "
        "Closing this pull request.\n"
    )


def duplicate_comment(stack: str, keep: int) -> str:
    return (
        f"Pull request #{keep} already carries the drift of {md_code(stack)}; one pull request per stack. "
        "Closing this one.\n"
    )


def _note(o: PrOutcome) -> str:
    """What a row says: the error or reason, and for a drifted stack left to a pull request, why
    it was not reconciled automatically."""
    parts = [o.error or o.reason or ""]
    if o.reconcile and o.action != "reconciled":
        parts.append(f"not reconciled automatically: {o.reconcile}")
    return "; ".join(p for p in parts if p)


def pull_requests_markdown(outcomes: Sequence[PrOutcome]) -> str:
    """The drift pull requests and automatic reconciliations of a run, as a Markdown table
    (after the report's own)."""
    if not outcomes:
        return ""
    lines = [
        "### Drift pull requests and reconciliation",
        "",
        "| stack | action | pull request | record | note |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        pr = (
            f"[#{o.number}]({o.url})"
            if o.number is not None and o.url
            else (f"#{o.number}" if o.number else "")
        )
        note = _note(o).replace("|", "\\|").replace("\n", " ")
        record = md_code(o.record) if o.record else ""
        lines.append(f"| {md_code(o.stack)} | {o.action} | {pr} | {record} | {note} |")
    return "\n".join(lines) + "\n"


def pull_requests_table(outcomes: Sequence[PrOutcome], term: Terminal = PLAIN) -> str:
    """The same as a terminal table (after the report's tables)."""
    if not outcomes:
        return ""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("STACK", "ACTION", "PR", "RECORD", "NOTE"):
        table.add_column(col, overflow="fold", no_wrap=col != "NOTE")
    for o in outcomes:
        table.add_row(
            o.stack, o.action, f"#{o.number}" if o.number else "", o.record or "", one_line(_note(o))
        )
    return "\n" + render_table(table, term)
