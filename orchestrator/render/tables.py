"""Human tables (rich), rendered to text so commands can send them where they belong."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from orchestrator.render.terminal import PLAIN, Terminal

STATUS_STYLE = {
    "changes": "yellow",
    "no-changes": "green",
    "applied": "green",
    "destroyed": "green",
    "failed": "bold red",
    "skipped": "dim",
    "provisional": "cyan",
    "re-approval-needed": "magenta",
    "interrupted": "bold red",
    "valid": "green",
    "invalid": "bold red",
    "unchecked": "yellow",
    "running": "blue",
    "waiting": "dim",
}


def render_table(table: Table, term: Terminal = PLAIN) -> str:
    """``table`` as text for ``term``: its width, ANSI styles only when it takes colour."""
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=term.width,
        no_color=not term.color,
        force_terminal=term.color,
        color_system="standard" if term.color else None,
        highlight=False,
        soft_wrap=False,
    )
    console.print(table)
    return buf.getvalue()


def stacks_table(rows: Sequence[dict[str, Any]], term: Terminal = PLAIN) -> str:
    table = Table(box=None, pad_edge=False, header_style="bold")
    show_why = any("included_because" in r for r in rows)
    for col in ("#", "STACK", "CLOUD", "ENV", "LEVEL", "DEPENDS ON"):
        table.add_column(col, no_wrap=col != "DEPENDS ON")
    if show_why:
        table.add_column("WHY")
    for i, r in enumerate(rows, 1):
        cells = [
            str(i),
            r["id"],
            r.get("cloud") or "-",
            r.get("environment") or "-",
            str(r.get("level", "")),
            ", ".join(r.get("depends_on", [])) or "-",
        ]
        if show_why:
            cells.append("; ".join(r.get("included_because", [])) or "-")
        table.add_row(*cells)
    if not rows:
        return "no stacks\n"
    return render_table(table, term)
