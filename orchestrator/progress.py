"""Progress of a run on stderr: a live per-stack view on a terminal, plain timestamped lines
otherwise, ``::group::`` sections in GitHub Actions; a summary table at the end.

Workers call the reporter from several threads; every implementation serialises output.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orchestrator.render.tables import STATUS_STYLE
from orchestrator.ui import err_console, in_github_actions


def print_table(console: Console, table: Table) -> None:
    """Off a terminal (a pipe, a CI log), tables keep their lines whole instead of wrapping at
    the 80 columns rich assumes there."""
    if console.is_terminal:
        console.print(table)
        return
    wide = Console(file=console.file, width=240, no_color=console.no_color, highlight=False, soft_wrap=False)
    wide.print(table)


@dataclass
class Row:
    stack: str
    status: str = "waiting"
    phase: str = ""
    detail: str = ""
    started: float | None = None
    duration: float | None = None
    log: Path | None = None


@dataclass
class Progress:
    """Plain timestamped lines (also the base of the other views)."""

    console: Console = field(default_factory=err_console)
    rows: dict[str, Row] = field(default_factory=dict)
    title: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.RLock()

    def _emit(self, text: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        self.console.print(f"{stamp} {text}", markup=False, highlight=False)

    def start(self, title: str, stacks: Sequence[str]) -> None:
        with self._lock:
            self.title = title
            self.rows = {s: Row(s) for s in stacks}
            self._emit(f"{title}: {len(stacks)} stack{'s' if len(stacks) != 1 else ''}")

    def phase(self, stack: str, phase: str) -> None:
        with self._lock:
            row = self.rows.setdefault(stack, Row(stack))
            if row.started is None:
                row.started = time.monotonic()
            row.status, row.phase = "running", phase
            self._on_phase(row)

    def _on_phase(self, row: Row) -> None:
        self._emit(f"{row.stack}: {row.phase}")

    def line(self, stack: str, text: str) -> None:
        """The latest line terraform printed (the live view shows it)."""

    def done(
        self,
        stack: str,
        status: str,
        detail: str = "",
        duration: float | None = None,
        log: Path | None = None,
    ) -> None:
        with self._lock:
            row = self.rows.setdefault(stack, Row(stack))
            row.status, row.detail, row.log, row.phase = status, detail, log, ""
            if duration is None and row.started is not None:
                duration = time.monotonic() - row.started
            row.duration = duration
            self._on_done(row)

    def _on_done(self, row: Row) -> None:
        took = f" in {row.duration:.1f}s" if row.duration is not None else ""
        self._emit(f"{row.stack}: {row.status}{took}" + (f" - {row.detail}" if row.detail else ""))

    def note(self, message: str) -> None:
        with self._lock:
            self._emit(message)

    def close(self) -> None:
        """Stop live output (the summary is printed separately)."""

    def summary(self, columns: Sequence[str] = ("stack", "status", "detail", "time")) -> None:
        with self._lock:
            table = Table(title=self.title or None, show_edge=False, header_style="bold", pad_edge=False)
            for c in columns:
                table.add_column(c, no_wrap=c in ("stack", "status"))
            for row in self.rows.values():
                cells = {
                    "stack": Text(row.stack),
                    "status": Text(row.status, style=STATUS_STYLE.get(row.status, "")),
                    "detail": Text(row.detail),
                    "time": Text(f"{row.duration:.1f}s" if row.duration is not None else "-"),
                }
                table.add_row(*(cells[c] for c in columns))
            print_table(self.console, table)


class GitHubProgress(Progress):
    """GitHub Actions: one collapsible ``::group::`` per stack, holding its (redacted) log."""

    def _on_phase(self, row: Row) -> None:
        del row  # groups are written whole when a stack ends, so parallel stacks never interleave

    def _on_done(self, row: Row) -> None:
        from orchestrator.render.escape import command_data, untrusted_lines

        took = f" ({row.duration:.1f}s)" if row.duration is not None else ""
        out = sys.stderr
        title = f"{row.stack}: {row.status}{took}" + (f" - {row.detail}" if row.detail else "")
        out.write(f"::group::{command_data(title)}\n")
        if row.log is not None:
            try:
                # terraform's log holds text the PR wrote: no workflow command in it may run.
                out.write(untrusted_lines(row.log.read_text(errors="replace")))
            except OSError:
                pass
        out.write("::endgroup::\n")
        out.flush()


class LiveProgress(Progress):
    """A rich live table, one row per stack, redrawn four times a second."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._live: Live | None = None
        self._last: dict[str, str] = {}
        self._notes: list[str] = []

    def _render(self) -> Table:
        table = Table(
            title=self.title or None,
            show_edge=False,
            header_style="bold",
            pad_edge=False,
            box=None,
            expand=True,
        )
        longest = max((len(r) for r in self.rows), default=5)
        table.add_column("stack", no_wrap=True, min_width=min(longest, 40))
        table.add_column("status", no_wrap=True, min_width=18)
        table.add_column("step", no_wrap=True, min_width=10)
        table.add_column("time", no_wrap=True, min_width=5, justify="right")
        table.add_column("detail", no_wrap=True, overflow="ellipsis", ratio=1)
        now = time.monotonic()
        for row in self.rows.values():
            if row.duration is not None:
                took = f"{row.duration:.1f}s"
            elif row.started is not None:
                took = f"{now - row.started:.0f}s"
            else:
                took = ""
            detail = row.detail or self._last.get(row.stack, "")
            table.add_row(
                row.stack,
                Text(row.status, style=STATUS_STYLE.get(row.status, "")),
                row.phase,
                took,
                Text(detail, style="dim" if not row.detail else ""),
            )
        return table

    def start(self, title: str, stacks: Sequence[str]) -> None:
        with self._lock:
            self.title = title
            self.rows = {s: Row(s) for s in stacks}
            self._live = Live(
                get_renderable=self._render, console=self.console, refresh_per_second=4, transient=True
            )
            self._live.start()

    def _on_phase(self, row: Row) -> None:
        del row

    def _on_done(self, row: Row) -> None:
        del row

    def line(self, stack: str, text: str) -> None:
        if text.strip():
            self._last[stack] = text.strip()[:120]

    def note(self, message: str) -> None:
        with self._lock:
            if self._live is not None:
                self._live.console.print(message, markup=False, highlight=False)
            else:
                self._emit(message)

    def close(self) -> None:
        with self._lock:
            if self._live is not None:
                self._live.stop()
                self._live = None


class QuietProgress(Progress):
    """No output (library use, tests)."""

    def _emit(self, text: str) -> None:
        del text

    def summary(self, columns: Sequence[str] = ("stack", "status", "detail", "time")) -> None:
        del columns


def make_progress(no_color: bool = False) -> Progress:
    console = err_console(no_color)
    if in_github_actions():
        return GitHubProgress(console=console)
    if console.is_terminal and os.environ.get("TERM") != "dumb" and sys.stderr.isatty():
        return LiveProgress(console=console)
    return Progress(console=console)
