"""Where human text goes: stderr, through rich, plain when not a terminal or NO_COLOR is set.

Machine output (tables and JSON that are a command's product) goes to stdout via ``emit``.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import lru_cache
from typing import TextIO

from rich.console import Console

from orchestrator.render.terminal import PIPE_WIDTH, Terminal


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


@lru_cache(maxsize=4)
def err_console(no_color: bool = False) -> Console:
    plain = no_color or "NO_COLOR" in os.environ
    return Console(stderr=True, no_color=plain, highlight=False, soft_wrap=True)


def terminal_for(stream: TextIO, *, no_color: bool = False) -> Terminal:
    """What renderers may assume about ``stream``: read here, at the edge, once per output."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        tty = False
    width = max(shutil.get_terminal_size((120, 24)).columns, 80) if tty else PIPE_WIDTH
    color = tty and not no_color and "NO_COLOR" not in os.environ
    return Terminal(width=width, color=color, tty=tty)


def stdout_terminal(no_color: bool = False) -> Terminal:
    return terminal_for(sys.stdout, no_color=no_color)


def stderr_terminal(no_color: bool = False) -> Terminal:
    return terminal_for(sys.stderr, no_color=no_color)


def safe_for_log(text: str) -> str:
    """In GitHub Actions, human text whose lines cannot be read as workflow commands."""
    if not in_github_actions():
        return text
    from orchestrator.render.escape import neutralize_commands

    return neutralize_commands(text)


def write_err(text: str) -> None:
    """Write rendered text (which may hold ANSI styles for a terminal) to stderr as it is."""
    text = safe_for_log(text)
    sys.stderr.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stderr.flush()


def emit(text: str) -> None:
    """Write a command's product to stdout (never through rich, so pipes get exact bytes)."""
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def info(message: str, *, no_color: bool = False) -> None:
    err_console(no_color).print(safe_for_log(message), markup=False)


def warn(message: str, *, no_color: bool = False) -> None:
    c = err_console(no_color)
    c.print("warning: ", style="yellow", end="", markup=False)
    c.print(safe_for_log(message), markup=False)
