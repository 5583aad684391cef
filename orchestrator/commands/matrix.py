"""orchestrate matrix: a GitHub Actions matrix (JSON) for fanning stacks out over jobs."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from orchestrator.app import get_app
from orchestrator.commands._select import Selection, select_stacks, selection_options
from orchestrator.errors import OrchestratorError
from orchestrator.graph import StackGraph
from orchestrator.render.escape import output_entry
from orchestrator.ui import emit, info, warn


def matrix_entries(graph: StackGraph, ids: list[str]) -> list[dict[str, Any]]:
    """One entry per stack, in run order. ``wave`` is the level within the selection: a job
    per wave (wave 0 first) runs every stack after the selected stacks it depends on."""
    waves = graph.subgraph(set(ids)).levels if ids else {}
    out = []
    for sid in graph.ordered(ids):
        s = graph.stacks[sid]
        out.append(
            {
                "stack": sid,
                "slug": s.slug,
                "path": s.path,
                "cloud": s.cloud,
                "environment": s.environment,
                "depends_on": [d for d in graph.dependencies(sid) if d in waves],
                "level": graph.levels[sid],
                "wave": waves[sid],
            }
        )
    return out


def _write_output(name: str, value: str) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        raise OrchestratorError(
            "--github-output needs $GITHUB_OUTPUT (set by GitHub Actions)",
            hint="Outside Actions, capture stdout instead: matrix=$(orchestrate matrix --changed).",
        )
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(output_entry(name, value))
    except OSError as exc:
        raise OrchestratorError(f"cannot write $GITHUB_OUTPUT: {exc.strerror or exc}", where=path) from exc


@click.command("matrix")
@selection_options
@click.option(
    "--wave", type=int, default=None, help="Only the stacks of this wave (level within the selection)."
)
@click.option(
    "--github-output",
    "output_name",
    default=None,
    metavar="NAME",
    help="Also write NAME=<matrix> (and NAME_count=<n>) to $GITHUB_OUTPUT.",
)
def command(wave: int | None, output_name: str | None, selection: Selection) -> int:
    """A GitHub Actions matrix: {"include": [{"stack", "slug", "path", "cloud", "environment",
    "depends_on", "level", "wave"}, ...]}, one line, for `strategy.matrix: ${{ fromJSON(...) }}`.

    GitHub refuses an empty `include`: guard the job with `if: needs.<job>.outputs.<NAME>_count != '0'`.
    """
    app = get_app()
    ws = app.workspace()
    sel = select_stacks(ws, selection)
    for gone in sel.deleted:
        warn(f"stack '{gone}' was deleted in this change; it is not in the matrix", no_color=app.no_color)
    entries = matrix_entries(ws.graph, sel.ids)
    if wave is not None:
        entries = [e for e in entries if e["wave"] == wave]
    text = json.dumps({"include": entries}, separators=(",", ":"))
    if output_name:
        _write_output(output_name, text)
        _write_output(f"{output_name}_count", str(len(entries)))
    emit(text)
    if not entries:
        info("no stacks selected: the matrix is empty", no_color=app.no_color)
    return 0
