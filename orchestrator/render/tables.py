"""Human tables (rich), rendered to text so commands can send them where they belong."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def render_table(table: Table, *, no_color: bool = False) -> str:
    buf = io.StringIO()
    width = max(shutil.get_terminal_size((120, 24)).columns, 80)
    console = Console(
        file=buf,
        width=width,
        no_color=no_color or "NO_COLOR" in os.environ,
        force_terminal=False,
        highlight=False,
        soft_wrap=False,
    )
    console.print(table)
    return buf.getvalue()


def stacks_table(rows: Sequence[dict[str, Any]], *, no_color: bool = False) -> str:
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
    return render_table(table, no_color=no_color)
