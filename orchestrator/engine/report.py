"""Human summaries (stderr) and machine results (--json, stdout) of plan, apply and destroy runs."""

from __future__ import annotations

import os
from typing import Any

from rich.table import Table
from rich.text import Text

from orchestrator.engine.apply import ApplyRun
from orchestrator.engine.plan import PlanRun, note_for
from orchestrator.planset import Manifest
from orchestrator.progress import STATUS_STYLE, print_table
from orchestrator.ui import err_console


def _rel(path: os.PathLike[str] | str, root: os.PathLike[str] | str) -> str:
    rel = os.path.relpath(path, root)
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


def print_plan_summary(run: PlanRun, *, no_color: bool = False, apply_hint: bool = True) -> None:
    console = err_console(no_color)
    m = run.manifest
    table = Table(show_edge=False, header_style="bold", pad_edge=False, box=None)
    for col in ("stack", "cloud", "status", "+", "~", "-", "±", "policy", "detail"):
        table.add_column(col, no_wrap=col != "detail", justify="right" if col in "+~-±" else "left")
    for sp in m.stacks:
        c = sp.counts
        planned = sp.plan_sha256 is not None and sp.status in ("changes", "provisional")
        nums = [str(n) if planned else "" for n in (c.add, c.change, c.destroy, c.replace)]
        detail = note_for(sp)
        table.add_row(
            sp.stack,
            sp.cloud or "-",
            Text(sp.status, style=STATUS_STYLE.get(sp.status, "")),
            *nums,
            _policy_cell(run, sp.stack),
            detail,
        )
    print_table(console, table)
    root = os.getcwd()
    console.print(f"plan set {m.id}: {_rel(run.dir, root)}", markup=False, highlight=False)
    if run.policy is not None and run.policy.blocking:
        console.print(
            "blocked by policy: see policy.json in the plan set (`orchestrate policy` explains each finding)",
            markup=False,
        )
    if apply_hint and any(s.status in ("changes", "provisional") for s in m.stacks) and run.exit_code == 2:
        latest = run.dir.parent.name == "plans" and run.dir.parent.parent.name == ".orchestrate"
        where = "" if latest else f" --plan-set {_rel(run.dir, root)}"
        console.print(
            f"to apply it: orchestrate apply{where} --approved-by NAME --reason TEXT  (or confirm in a terminal)",
            markup=False,
            highlight=False,
        )


def plan_run_json(run: PlanRun) -> dict[str, Any]:
    data = run.manifest.model_dump(mode="json")
    data["plan_set"] = run.manifest.id
    data["dir"] = str(run.dir)
    data["exit_code"] = run.exit_code
    return data


def print_manifest_preview(manifest: Manifest, *, no_color: bool = False) -> None:
    """What an approval covers: each stack to change with its counts."""
    console = err_console(no_color)
    console.print(
        f"plan set {manifest.id} ({manifest.kind}, commit {(manifest.commit or 'none')[:12]}, "
        f"made {manifest.created_at}):",
        markup=False,
        highlight=False,
    )
    for sp in manifest.stacks:
        if sp.status not in ("changes", "provisional"):
            continue
        c = sp.counts
        extra = f", provisional on {', '.join(sp.provisional_on)}" if sp.status == "provisional" else ""
        console.print(
            f"  {sp.stack}: +{c.add} ~{c.change} -{c.destroy}"
            + (f" ±{c.replace}" if c.replace else "")
            + extra,
            markup=False,
            highlight=False,
        )


def print_apply_summary(run: ApplyRun, *, no_color: bool = False) -> None:
    console = err_console(no_color)
    if not run.results:
        console.print(
            f"nothing to apply in plan set {run.verified.manifest.id}", markup=False, highlight=False
        )
        return
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
    print_table(console, table)
    for r in run.results.values():
        for d in r.differences[:20]:
            console.print(f"  {r.stack}: {d}", markup=False, highlight=False)
    if run.new_plan is not None:
        console.print(
            f"re-approval needed: new plan set {run.new_plan.manifest.id} at {_rel(run.new_plan.dir, os.getcwd())}; "
            "review it, then run `orchestrate apply` again",
            markup=False,
            highlight=False,
        )
