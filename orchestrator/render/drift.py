"""A drift report (typed, already redacted: DriftReport.redacted) as JSON, Markdown or a terminal
table. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table

from orchestrator.drift.model import DriftReport
from orchestrator.render.tables import render_table
from orchestrator.render.terminal import PLAIN, Terminal

VALUE_LIMIT = 160


def to_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str) + "\n"


_RULE_SOURCES = ("cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids", "security_groups")


def rule_text(rule: Mapping[str, Any]) -> str:
    """A security group rule as a person reads it: 'tcp 22 from 0.0.0.0/0 (ssh)'."""
    lo, hi = rule.get("from_port"), rule.get("to_port")
    protocol = "all" if rule.get("protocol") == "-1" else str(rule.get("protocol"))
    ports = "" if protocol == "all" else (f" {lo}" if lo == hi else f" {lo}-{hi}")
    sources = [s for k in _RULE_SOURCES for s in rule.get(k) or []] + (["self"] if rule.get("self") else [])
    desc = f" ({rule['description']})" if rule.get("description") else ""
    return f"{protocol}{ports} from {', '.join(sources) or 'nowhere'}{desc}"


def value_text(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A diff value on one line: strings bare, everything else as compact JSON; long ones cut."""
    if value is None:
        return "(none)"
    if isinstance(value, Mapping) and "protocol" in value and "from_port" in value:
        return rule_text(value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("`", "'")


def summary_line(report: Mapping[str, Any]) -> str:
    s = report["summary"]
    line = (
        f"{s['stacks']} stacks scanned: {s['drifted']} drifted, {s['errors']} with errors; "
        f"{s['resources']} resources checked: {s['changed']} changed, {s['missing']} missing; "
        f"{s['unmanaged']} unmanaged"
    )
    cov = s.get("coverage")
    if cov:
        line += f"; compared by api {cov['api']}, by refresh {cov['refresh']}, not compared {cov['none']}"
    return line


def status_text(stack: Mapping[str, Any]) -> str:
    """``clean`` only when every resource was compared; else ``clean (partial)``: never plain clean."""
    status = str(stack["status"])
    if status == "clean" and stack.get("complete") is False:
        return "clean (partial)"
    return status


def coverage_text(stack: Mapping[str, Any]) -> str:
    cov = stack.get("coverage") or {}
    return f"{cov.get('api', 0)}/{cov.get('refresh', 0)}/{cov.get('none', 0)}"


def coverage_rows(report: Mapping[str, Any]) -> list[tuple[str, str, int, int, int]]:
    """(stack, type, api, refresh, none) for every type of every stack, then the totals (stack "*")."""
    rows: list[tuple[str, str, int, int, int]] = []
    for s in report.get("stacks", []):
        for rtype, c in ((s.get("coverage") or {}).get("by_type") or {}).items():
            rows.append((s["stack"], rtype, c["api"], c["refresh"], c["none"]))
    for rtype, c in (((report.get("summary") or {}).get("coverage") or {}).get("by_type") or {}).items():
        rows.append(("*", rtype, c["api"], c["refresh"], c["none"]))
    return rows


_ICON = {"clean": "✅", "clean (partial)": "🔶", "drifted": "⚠️", "error": "❌"}


def to_markdown(report: Mapping[str, Any]) -> str:
    lines = ["## Drift report", ""]
    commit = report.get("commit")
    lines.append(
        f"Scanned at {report['scanned_at']}" + (f" on commit `{commit[:12]}`" if commit else "") + "."
    )
    lines += ["", summary_line(report) + ".", ""]
    stacks = report.get("stacks", [])
    lines += _md_stack_table(stacks)
    lines += _md_coverage(report)
    for s in stacks:
        if s["status"] == "clean" and not s.get("unchecked"):
            continue
        lines += _md_stack_section(s)
    lines += _md_unmanaged(report.get("unmanaged", []))
    for note in report.get("incomplete", []):
        lines.append(f"> **Incomplete:** {_md_cell(note)}")
    if report.get("incomplete"):
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_stack_table(stacks: list[Mapping[str, Any]]) -> list[str]:
    """One row a stack: status, mode, counts and coverage; nothing when no stack was scanned."""
    if not stacks:
        return []
    lines = [
        "| stack | status | mode | changed | missing | checked | compared api/refresh/none |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for s in stacks:
        status = status_text(s)
        lines.append(
            f"| `{s['stack']}` | {_ICON.get(status, '')} {status} | {s.get('mode', '')} "
            f"| {len(s['changed'])} | {len(s['missing'])} | {s.get('resources', 0)} | {coverage_text(s)} |"
        )
    lines.append("")
    return lines


def _md_coverage(report: Mapping[str, Any]) -> list[str]:
    """The folded table of how each resource type was compared."""
    cov_rows = coverage_rows(report)
    if not cov_rows:
        return []
    return [
        "<details><summary>Coverage by type (managed resources compared by api, by refresh, not at all)</summary>",
        "",
        "| stack | type | api | refresh | not compared |",
        "|---|---|---:|---:|---:|",
        *[
            f"| {'**all**' if st == '*' else f'`{st}`'} | `{t}` | {a} | {r} | {n} |"
            for st, t, a, r, n in cov_rows
        ],
        "",
        "</details>",
        "",
    ]


def _md_stack_section(s: Mapping[str, Any]) -> list[str]:
    """A stack's heading, then its error, changed attributes, missing and unchecked resources."""
    lines = [f"### `{s['stack']}`", ""]
    if s.get("error"):
        lines += [f"**Error:** {_md_cell(s['error'])}", ""]
    if s["changed"]:
        lines += ["**Changed**", "", "| resource | attribute | expected | actual |", "|---|---|---|---|"]
        for c in s["changed"]:
            for d in c["diffs"]:
                lines.append(
                    f"| `{c['address']}` | `{d['path']}` | `{_md_cell(value_text(d['expected']))}` "
                    f"| `{_md_cell(value_text(d['actual']))}` |"
                )
        lines.append("")
    if s["missing"]:
        lines += ["**Missing** (in the state, gone from the cloud)", ""]
        lines += [f"- `{m['address']}` ({m['type']} `{m['id']}`)" for m in s["missing"]]
        lines.append("")
    if s.get("unchecked"):
        lines += [
            f"<details><summary>{len(s['unchecked'])} resources not checked in {s.get('mode')} mode "
            "(type not supported by the API reader; use --mode both)</summary>",
            "",
            *[f"- `{a}`" for a in s["unchecked"]],
            "",
            "</details>",
            "",
        ]
    return lines


def _md_unmanaged(unmanaged: list[Mapping[str, Any]]) -> list[str]:
    """Cloud resources no stack's state knows."""
    if not unmanaged:
        return []
    lines = ["### Unmanaged resources", "", "| cloud | type | id |", "|---|---|---|"]
    lines += [f"| {u['cloud']} | `{u['type']}` | `{_md_cell(u['id'])}` |" for u in unmanaged]
    lines.append("")
    return lines


def to_table(report: Mapping[str, Any], term: Terminal = PLAIN) -> str:
    out: list[str] = []
    stacks = report.get("stacks", [])
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("STACK", "STATUS", "MODE", "CHANGED", "MISSING", "CHECKED", "API/REFRESH/NONE", "ERROR"):
        table.add_column(
            col,
            no_wrap=col != "ERROR",
            justify="right" if col in ("CHANGED", "MISSING", "CHECKED", "API/REFRESH/NONE") else "left",
        )
    for s in stacks:
        table.add_row(
            s["stack"],
            status_text(s),
            s.get("mode", ""),
            str(len(s["changed"])),
            str(len(s["missing"])),
            str(s.get("resources", 0)),
            coverage_text(s),
            s.get("error") or "",
        )
    out.append(render_table(table, term) if stacks else "no stacks scanned\n")
    details = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("STACK", "RESOURCE", "DRIFT", "EXPECTED", "ACTUAL"):
        details.add_column(col, overflow="fold")
    rows = 0
    for s in stacks:
        for c in s["changed"]:
            for d in c["diffs"]:
                details.add_row(
                    s["stack"],
                    c["address"],
                    d["path"],
                    value_text(d["expected"], 60),
                    value_text(d["actual"], 60),
                )
                rows += 1
        for m in s["missing"]:
            details.add_row(s["stack"], m["address"], "missing", m.get("id") or "", "(gone)")
            rows += 1
    for u in report.get("unmanaged", []):
        details.add_row(u["cloud"], f"{u['type']}.{u['id']}", "unmanaged", "(none)", "exists")
        rows += 1
    if rows:
        out += ["\n", render_table(details, term)]
    cov_rows = coverage_rows(report)
    if cov_rows:
        cov = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("STACK", "TYPE", "API", "REFRESH", "NOT COMPARED"):
            cov.add_column(col, justify="left" if col in ("STACK", "TYPE") else "right")
        for st, t, a, r, n in cov_rows:
            cov.add_row("(all)" if st == "*" else st, t, str(a), str(r), str(n))
        out += ["\n", render_table(cov, term)]
    for note in report.get("incomplete", []):
        out.append(f"incomplete: {note}\n")
    out.append("\n" + summary_line(report) + "\n")
    return "".join(out)


def render(
    report: DriftReport,
    fmt: str,
    term: Terminal = PLAIN,
    *,
    pull_requests: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The (already redacted) report as ``fmt``; the drift pull requests of the run join its JSON.
    The renderers below read the report's JSON form, the one shape every format shares."""
    data = report.to_dict()
    if fmt == "json":
        if pull_requests is not None:
            data = {**data, "pull_requests": list(pull_requests)}
        return to_json(data)
    if fmt == "markdown":
        return to_markdown(data)
    return to_table(data, term)
