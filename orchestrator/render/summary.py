"""The GitHub Actions job summary of a plan, and the result of an apply posted on a PR (pure).

The job summary carries what the PR comment carries (SPEC §7), in one piece: GitHub allows
1 MiB per step, so plans are cut or stubbed well before that, with the same visible notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.redact import Redactor
from orchestrator.render.comment import CommentData, render_comment
from orchestrator.render.escape import md_code

# Characters, well under GitHub's 1 MiB (bytes) per step summary even with multi-byte text.
SUMMARY_BUDGET = 600_000

_APPLY_LABEL = {
    "applied": "✅ applied",
    "no-changes": "✅ no changes",
    "failed": "❌ failed",
    "skipped": "⏭️ skipped",
    "re-approval-needed": "⏳ re-approval needed",
}


def render_plan_summary(data: CommentData, redactor: Redactor | None = None) -> str:
    """The plan's job summary (markdown)."""
    return render_comment(
        data, redactor, budget=SUMMARY_BUDGET, max_parts=1, medium="job summary", hidden_block=False
    )[0]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def render_apply_result(
    run: Mapping[str, Any],
    redactor: Redactor | None = None,
    *,
    run_url: str | None = None,
    merged: str | None = None,
    pr: int | None = None,
) -> str:
    """An apply's outcome as markdown, from ``ApplyRun.to_json()``."""
    redact = (redactor or Redactor()).text
    stacks: Sequence[Mapping[str, Any]] = run.get("stacks") or []
    statuses = [str(s.get("status")) for s in stacks]
    if "failed" in statuses:
        emoji, sentence = (
            "❌",
            f"{statuses.count('failed')} stack{'s' if statuses.count('failed') != 1 else ''} failed to apply",
        )
    elif "re-approval-needed" in statuses:
        emoji, sentence = "⏳", "stopped: a provisional plan changed and needs a new approval"
    else:
        emoji, sentence = (
            "✅",
            f"applied ({statuses.count('applied')} stack{'s' if statuses.count('applied') != 1 else ''})",
        )
    approval = run.get("approval") or {}
    who = approval.get("approver") if isinstance(approval, Mapping) else None
    lines = [f"### {emoji} orchestrate apply: {sentence}", ""]
    meta = f"Plan set `{run.get('plan_set')}`"
    if run.get("commit"):
        meta += f" at commit `{str(run['commit'])[:12]}`"
    if who:
        meta += f", approved by {_cell(str(who))}"
    if run_url:
        meta += f" · [workflow run]({run_url})"
    lines += [meta, "", "| Stack | Result | Detail | Time |", "|---|---|---|--:|"]
    for s in stacks:
        detail = str(s.get("error") or s.get("detail") or "")
        duration = s.get("duration_s")
        took = f"{float(duration):.1f} s" if isinstance(duration, int | float) else "—"
        label = _APPLY_LABEL.get(str(s.get("status")), str(s.get("status")))
        lines.append(f"| {md_code(str(s.get('stack')))} | {label} | {_cell(detail) or '—'} | {took} |")
    lines.append("")
    differences = [(s.get("stack"), s.get("differences") or []) for s in stacks if s.get("differences")]
    for stack, diffs in differences:
        lines.append(f"**{md_code(str(stack))}**: the re-plan differs from the approved plan:")
        lines.extend(f"- {_cell(str(d))}" for d in diffs[:50])
        if len(diffs) > 50:
            lines.append(f"- … and {len(diffs) - 50} more")
        lines.append("")
    if run.get("new_plan_set"):
        lines.append(
            f"A new plan set `{run['new_plan_set']}` was written for the stacks that need a new approval; "
            "push or re-run the plan job to post it, then approve again."
        )
        lines.append("")
    if merged:
        lines.append(f"Merged{f' pull request #{pr}' if pr else ''} as `{merged[:12]}`.")
        lines.append("")
    return redact("\n".join(lines))


def render_refusal(message: str, redactor: Redactor | None = None, *, run_url: str | None = None) -> str:
    """A refused apply, posted on the PR so reviewers see why nothing happened."""
    redact = (redactor or Redactor()).text
    link = f" · [workflow run]({run_url})" if run_url else ""
    return redact(f"### 🛑 orchestrate apply refused\n\n{_cell(message)}\n\nNothing was applied.{link}\n")


def render_merged_refusal(
    message: str,
    replan: str | None,
    redactor: Redactor | None = None,
) -> str:
    """`apply --merged` stopped with needs approval (or refused): the reason, the plan of the merged
    commit when one was made (``replan``, from render_replan), and how it gets applied."""
    redact = (redactor or Redactor()).text
    parts = [f"### ⛔ orchestrate apply --merged: nothing applied\n\n{_cell(message)}\n"]
    if replan is not None:
        parts.append(replan)
    else:
        parts.append("Plan the default branch (`orchestrate plan`) and get the new plan approved.\n")
    return redact("\n".join(parts))


def render_replan(
    commit: str,
    manifest: Mapping[str, Any] | None,
    *,
    error: str | None = None,
    allow_manual: bool = True,
) -> str:
    """The plan made again at the merged commit (a manifest as JSON data), or why it failed."""
    if manifest is None:
        return (
            f"#### Planned again at `{commit[:12]}`: failed\n\n{_cell(error or 'unknown error')}\n\n"
            "Plan the default branch (`orchestrate plan`) and get the new plan approved.\n"
        )
    pid = str(manifest.get("id", ""))
    lines = [
        f"#### Planned again at `{commit[:12]}`: plan set {md_code(pid)}",
        "",
        "| stack | status | add | change | destroy | replace |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in manifest.get("stacks", []):
        c = s.get("counts") or {}
        lines.append(
            f"| {md_code(str(s.get('stack', '')))} | {_cell(str(s.get('status', '')))} | {c.get('add', 0)} "
            f"| {c.get('change', 0)} | {c.get('destroy', 0)} | {c.get('replace', 0)} |"
        )
    policy = manifest.get("policy") or {}
    if policy:
        lines += [
            "",
            f"Policies (rules of the default branch before this merge): {policy.get('denied', 0)} denied, "
            f"{policy.get('warned', 0)} warned, {policy.get('errors', 0)} errors.",
        ]
    lines += ["", "**Nothing is applied until a person allowed to approve approves this plan**, either:", ""]
    if allow_manual:
        lines.append(
            f"- on a checkout of `{commit[:12]}` with this plan set (the job's plan-set artifact): "
            f"`orchestrate apply --plan-set .orchestrate/plans/{pid} --approved-by LOGIN --reason TEXT` "
            "(manual approval, recorded; every check of an apply runs again), or"
        )
    lines.append(
        "- a follow-up pull request that changes these stacks, approved and merged as usual "
        "(`apply --merged` applies its own plan set)."
    )
    return "\n".join(lines) + "\n"
