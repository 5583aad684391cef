"""Where human text goes: stderr, through rich, plain when not a terminal or NO_COLOR is set.

Machine output (tables and JSON that are a command's product) goes to stdout via ``emit``.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache

from rich.console import Console


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


@lru_cache(maxsize=4)
def err_console(no_color: bool = False) -> Console:
    plain = no_color or "NO_COLOR" in os.environ
    return Console(stderr=True, no_color=plain, highlight=False, soft_wrap=True)


def emit(text: str) -> None:
    """Write a command's product to stdout (never through rich, so pipes get exact bytes)."""
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def info(message: str, *, no_color: bool = False) -> None:
    err_console(no_color).print(message, markup=False)


def warn(message: str, *, no_color: bool = False) -> None:
    c = err_console(no_color)
    c.print("warning: ", style="yellow", end="", markup=False)
    c.print(message, markup=False)
