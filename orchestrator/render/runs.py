"""Plan, apply and destroy runs as text: the summary table, the approval preview, the JSON form.

Pure: a run, the terminal it goes to and the directory paths are shown relative to come in,
text comes out. The commands write it (to stderr: the product of plan is the plan set).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from orchestrator.engine.apply import ApplyRun
from orchestrator.engine.plan import PlanRun, note_for
from orchestrator.planset import Manifest
from orchestrator.render.tables import STATUS_STYLE, render_table
from orchestrator.render.terminal import PLAIN, Terminal


def _rel(path: os.PathLike[str] | str, cwd: Path) -> str:
    rel = os.path.relpath(path, cwd)
    return str(path) if rel.startswith("..") else rel


def _policy_cell(run: PlanRun, sid: str) -> str:
    report = run.policy
    if report is None:
        return "-"
    result = report.for_stack(sid)
    if result is None:
        return "-"
    counts = result.counts()
    if counts.get("errors"):
        return f"error ({counts['errors']})"
    if counts.get("denied"):
        return f"deny ({counts['denied']})"
    if counts.get("warned"):
        return f"warn ({counts['warned']})"
    return "pass"


def plan_summary(run: PlanRun, *, cwd: Path, term: Terminal = PLAIN, apply_hint: bool = True) -> str:
    """The table of stacks with their counts, the plan set's path, and what to do next."""
    m = run.manifest
    table = Table(show_edge=False, header_style="bold", pad_edge=False, box=None)
    for col in ("stack", "cloud", "status", "+", "~", "-", "±", "policy", "detail"):
        table.add_column(col, no_wrap=col != "detail", justify="right" if col in "+~-±" else "left")
    for sp in m.stacks:
        c = sp.counts
        planned = sp.plan_sha256 is not None and sp.status in ("changes", "provisional")
        nums = [str(n) if planned else "" for n in (c.add, c.change, c.destroy, c.replace)]
        table.add_row(
            sp.stack,
            sp.cloud or "-",
            Text(sp.status, style=STATUS_STYLE.get(sp.status, "")),
            *nums,
            _policy_cell(run, sp.stack),
            note_for(sp),
        )
    lines = [render_table(table, term).rstrip("\n"), f"plan set {m.id}: {_rel(run.dir, cwd)}"]
    if run.policy is not None and run.policy.blocking:
        lines.append(
            "blocked by policy: see policy.json in the plan set (`orchestrate policy` explains each finding)"
        )
    if apply_hint and any(s.status in ("changes", "provisional") for s in m.stacks) and run.exit_code == 2:
        latest = run.dir.parent.name == "plans" and run.dir.parent.parent.name == ".orchestrate"
        where = "" if latest else f" --plan-set {_rel(run.dir, cwd)}"
        lines.append(
            f"to apply it: orchestrate apply{where} --approved-by NAME --reason TEXT  (or confirm in a terminal)"
        )
    return "\n".join(lines) + "\n"


def plan_run_json(run: PlanRun) -> dict[str, Any]:
    data = run.manifest.canonical()
    data["plan_set"] = run.manifest.id
    data["dir"] = str(run.dir)
    data["exit_code"] = run.exit_code
    return data


def manifest_preview(manifest: Manifest) -> str:
    """What an approval covers: each stack to change with its counts."""
    lines = [
        f"plan set {manifest.id} ({manifest.kind}, commit {(manifest.commit or 'none')[:12]}, "
        f"made {manifest.created_at}):"
    ]
    for sp in manifest.stacks:
        if sp.status not in ("changes", "provisional"):
            continue
        c = sp.counts
        extra = f", provisional on {', '.join(sp.provisional_on)}" if sp.status == "provisional" else ""
        replace = f" ±{c.replace}" if c.replace else ""
        lines.append(f"  {sp.stack}: +{c.add} ~{c.change} -{c.destroy}{replace}{extra}")
    return "\n".join(lines) + "\n"


def apply_summary(run: ApplyRun, *, cwd: Path, term: Terminal = PLAIN) -> str:
    """The table of applied stacks, what differed from the plan, and a re-approval if needed."""
    if not run.results:
        return f"nothing to apply in plan set {run.verified.manifest.id}\n"
    table = Table(show_edge=False, header_style="bold", pad_edge=False, box=None)
    for col in ("stack", "status", "time", "detail"):
        table.add_column(col, no_wrap=col != "detail")
    destroy = run.verified.manifest.kind == "destroy"
    for r in run.results.values():
        status = "destroyed" if destroy and r.status == "applied" else r.status
        table.add_row(
            r.stack,
            Text(status, style=STATUS_STYLE.get(status, "")),
            f"{r.duration_s:.1f}s" if r.duration_s is not None else "-",
            r.error or r.detail,
        )
    lines = [render_table(table, term).rstrip("\n")]
    for r in run.results.values():
        lines += [f"  {r.stack}: {d}" for d in r.differences[:20]]
    if run.new_plan is not None:
        lines.append(
            f"re-approval needed: new plan set {run.new_plan.manifest.id} at {_rel(run.new_plan.dir, cwd)}; "
            "review it, then run `orchestrate apply` again"
        )
    return "\n".join(lines) + "\n"
