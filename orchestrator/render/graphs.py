"""The dependency graph as JSON, Mermaid and DOT (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.graph import StackGraph
from orchestrator.jsontypes import JSONData

# Mermaid classDefs for stacks in a pull request (used by the PR comment too).
MERMAID_STYLES = {
    "changed": "fill:#dbeafe,stroke:#2563eb,color:#1e3a8a",
    "dependent": "fill:#f3f4f6,stroke:#6b7280,color:#111827,stroke-dasharray:4 2",
    "failed": "fill:#fee2e2,stroke:#dc2626,color:#7f1d1d",
    "provisional": "fill:#fef3c7,stroke:#d97706,color:#78350f",
    "skipped": "fill:#f9fafb,stroke:#9ca3af,color:#6b7280",
    "deleted": "fill:#fde68a,stroke:#b45309,color:#78350f",
}


def stack_rows(graph: StackGraph, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One row per stack, in run order: the data behind `list`."""
    wanted = graph.order if ids is None else graph.ordered(ids)
    rows = []
    for sid in wanted:
        s = graph.stacks[sid]
        rows.append(
            {
                "id": sid,
                "path": s.path,
                "cloud": s.cloud,
                "environment": s.environment,
                "depends_on": graph.dependencies(sid),
                "level": graph.levels[sid],
            }
        )
    return rows


def graph_json(graph: StackGraph, ids: Iterable[str] | None = None) -> dict[str, Any]:
    keep = set(graph.order if ids is None else ids)
    return {
        "nodes": stack_rows(graph, keep),
        "edges": [
            {"from": u, "to": v, "reasons": [r.to_json() for r in reasons]}
            for u, v, reasons in graph.edges()
            if u in keep and v in keep
        ],
    }


def _mermaid_label(text: str) -> str:
    from orchestrator.render.escape import one_line

    return (
        one_line(text).replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;").replace("`", "#96;")
    )


def mermaid(
    graph: StackGraph,
    ids: Iterable[str] | None = None,
    classes: Mapping[str, str] | None = None,
    direction: str = "LR",
) -> str:
    """A Mermaid flowchart. ``classes`` maps stack id -> a key of MERMAID_STYLES."""
    order = graph.order if ids is None else graph.ordered(ids)
    keep = set(order)
    node_id = {sid: f"s{i}" for i, sid in enumerate(order)}
    lines = [f"flowchart {direction}"]
    for sid in order:
        lines.append(f'  {node_id[sid]}["{_mermaid_label(sid)}"]')
    for u, v, reasons in graph.edges():
        if u in keep and v in keep:
            kinds = ", ".join(sorted({r.kind.replace("_", " ") for r in reasons}))
            lines.append(f"  {node_id[u]} -->|{kinds}| {node_id[v]}")
    if classes:
        used = sorted({c for sid, c in classes.items() if sid in keep and c in MERMAID_STYLES})
        for cls in used:
            lines.append(f"  classDef {cls} {MERMAID_STYLES[cls]}")
        for cls in used:
            members = ",".join(node_id[s] for s in order if classes.get(s) == cls)
            lines.append(f"  class {members} {cls}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(graph: StackGraph, ids: Iterable[str] | None = None) -> str:
    order = graph.order if ids is None else graph.ordered(ids)
    keep = set(order)
    lines = ["digraph stacks {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for sid in order:
        s = graph.stacks[sid]
        extra = " / ".join(x for x in (s.cloud, s.environment) if x)
        label = f"{sid}\\n{extra}" if extra else sid
        lines.append(
            f"  {_dot_quote(sid)} [label={_dot_quote(label).replace(chr(92) * 2 + 'n', chr(92) + 'n')}];"
        )
    for u, v, reasons in graph.edges():
        if u in keep and v in keep:
            kinds = ", ".join(sorted({r.kind for r in reasons}))
            lines.append(f"  {_dot_quote(u)} -> {_dot_quote(v)} [label={_dot_quote(kinds)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json_text(data: JSONData, *, pretty: bool) -> str:
    """JSON for stdout: indented on a terminal (``pretty``), compact (and C-fast) when piped."""
    return json.dumps(data, indent=2 if pretty else None) + "\n"
