"""Policy results for people: a table of stacks and the findings under it. Pure."""

from __future__ import annotations

from rich.table import Table

from orchestrator.policy.report import PolicyReport
from orchestrator.render.tables import render_table
from orchestrator.render.terminal import PLAIN, Terminal

_LABEL = {"error": "ERROR", "deny": "DENY", "warn": "WARN"}


def verdict(report: PolicyReport) -> str:
    """One line: the counts and what they mean for the plan."""
    counts = (
        f"{report.denied} denied, {report.warned} warning{'s' if report.warned != 1 else ''}, "
        f"{report.errors} error{'s' if report.errors != 1 else ''} in {len(report.stacks)} "
        f"stack{'s' if len(report.stacks) != 1 else ''} "
        f"({len(report.policies)} policy file{'s' if len(report.policies) != 1 else ''}, "
        f"enforcement {report.enforcement})"
    )
    if report.errors:
        return f"policy: {counts}: a policy failed to evaluate, which blocks the plan"
    if report.denied and report.enforcement == "blocking":
        return f"policy: {counts}: blocked"
    if report.denied:
        return f"policy: {counts}: advisory only, not blocking"
    return f"policy: {counts}: pass"


def render(report: PolicyReport, term: Terminal = PLAIN) -> str:
    """A table of stacks and their status, then every finding with where it points."""
    if not report.stacks:
        return "no plans to check in this plan set\n" + verdict(report) + "\n"
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("STACK", "STATUS", "DENIED", "WARNED", "ERRORS"):
        table.add_column(col, no_wrap=True)
    for s in report.stacks:
        table.add_row(s.stack, s.status, str(s.denied), str(s.warned), str(s.errors))
    lines = [render_table(table, term).rstrip("\n")]
    findings = report.findings()
    if findings:
        lines.append("")
    for stack, f in findings:
        where = f" ({f.location.file}:{f.location.line})" if f.location else ""
        lines.append(f"{_LABEL[f.level]:5} {stack}  {f.rule_id}{where}")
        lines.append(f"      {f.msg}")
    lines.append("")
    lines.append(verdict(report))
    return "\n".join(lines) + "\n"
