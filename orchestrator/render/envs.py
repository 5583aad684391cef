"""Text for the environment commands: history rows, the consistency report (pure)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.jsontypes import JSONData

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """No control characters (a record's fields come from the remote: no terminal escapes)."""
    return _CONTROL.sub("?", text)


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns (no colour: safe for pipes and logs)."""
    rows = [[clean(c) for c in row] for row in rows]
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


def to_json_text(data: JSONData) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def envs_diff_table(report: Mapping[str, Any]) -> str:
    envs: list[str] = report["environments"]
    diffs = report["differences"]
    lines = []
    if not diffs:
        lines.append(f"consistent: {len(report['families'])} families compared across {', '.join(envs)}")
    else:
        header = ("FAMILY", "KIND", "WHAT", *(e.upper() for e in envs))
        rows = [
            (d["family"], d["kind"], d["subject"], *(d["values"].get(e, "") for e in envs)) for d in diffs
        ]
        lines.append(columns(header, rows).rstrip("\n"))
        for d in diffs:
            if d["detail"]:
                lines += ["", f"{d['family']}: {d['subject']}", d["detail"]]
        families = sorted({d["family"] for d in diffs})
        lines += ["", f"{len(diffs)} difference(s) in {len(families)} of {len(report['families'])} families"]
    for family, present in sorted(report["only_in"].items()):
        lines.append(f"note: {family} is only in {', '.join(present)}")
    return "\n".join(lines) + "\n"


def envs_diff_markdown(report: Mapping[str, Any]) -> str:
    envs: list[str] = report["environments"]
    diffs = report["differences"]
    out = [f"### Environments: {' → '.join(envs)}", ""]
    if not diffs:
        out.append(
            f"✅ Consistent: {len(report['families'])} families run the same code in every environment."
        )
    else:
        out += [
            f"❌ {len(diffs)} difference(s) that are not variable values:",
            "",
            "| Family | Kind | What | " + " | ".join(envs) + " |",
            "|---|---|---|" + "---|" * len(envs),
        ]
        for d in diffs:
            cells = [d["family"], d["kind"], d["subject"], *(d["values"].get(e, "") for e in envs)]
            out.append("| " + " | ".join(f"`{_cell(c)}`" if c not in ("-", "") else c for c in cells) + " |")
        for d in diffs:
            if d["detail"]:
                fence = "````" if "```" in d["detail"] else "```"
                out += ["", f"<details><summary>{_cell(d['family'])}: {_cell(d['subject'])}</summary>", ""]
                out += [fence + "diff", d["detail"], fence, "", "</details>"]
    if report["only_in"]:
        out += [
            "",
            "Only in some environments: "
            + ", ".join(f"`{f}` ({', '.join(e)})" for f, e in sorted(report["only_in"].items())),
        ]
    return "\n".join(out) + "\n"
