"""Renderers are pure: width, colour and TTY come in as a Terminal; the process's terminal,
environment and streams do not change their output. ui.terminal_for reads them, at the edge."""

from __future__ import annotations

import io
import json

import pytest
from rich.table import Table

from orchestrator.render.graphs import to_json_text
from orchestrator.render.tables import render_table, stacks_table
from orchestrator.render.terminal import PIPE_WIDTH, PLAIN, Terminal
from orchestrator.ui import terminal_for

ROWS = [
    {"id": "network", "cloud": "aws-prod", "level": 0, "depends_on": []},
    {
        "id": "app",
        "cloud": "aws-prod",
        "level": 1,
        "depends_on": ["network"],
        "included_because": ["x " * 40],
    },
]


def _wide_table() -> Table:
    table = Table(box=None, header_style="bold")
    table.add_column("NAME")
    table.add_column("DETAIL")
    table.add_row("a", "word " * 30)
    return table


def test_the_environment_does_not_change_rendered_text(monkeypatch: pytest.MonkeyPatch) -> None:
    before = stacks_table(ROWS)
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert stacks_table(ROWS) == before
    assert "\x1b[" not in before


def test_width_and_colour_come_from_the_terminal() -> None:
    wide = render_table(_wide_table(), PLAIN)
    narrow = render_table(_wide_table(), Terminal(width=40))
    assert max(len(line) for line in wide.splitlines()) > 100
    assert max(len(line) for line in narrow.splitlines()) <= 40
    coloured = render_table(_wide_table(), Terminal(width=200, color=True, tty=True))
    assert "\x1b[1m" in coloured  # the bold header
    assert "\x1b[" not in render_table(_wide_table(), Terminal(width=200, color=False, tty=True))


def test_json_is_indented_only_when_asked() -> None:
    assert to_json_text({"a": [1]}, pretty=False) == '{"a": [1]}\n'
    assert json.loads(to_json_text({"a": [1]}, pretty=True)) == {"a": [1]}
    assert "\n  " in to_json_text({"a": [1]}, pretty=True)


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_the_edge_reads_the_stream_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    assert terminal_for(_Stream(False)) == Terminal(width=PIPE_WIDTH, color=False, tty=False)
    assert terminal_for(_Stream(True)) == Terminal(width=100, color=True, tty=True)
    assert terminal_for(_Stream(True), no_color=True).color is False
    monkeypatch.setenv("NO_COLOR", "")
    assert terminal_for(_Stream(True)).color is False
    closed = io.StringIO()
    closed.close()  # isatty() raises on a closed stream
    assert terminal_for(closed).tty is False
