"""What a renderer may know about where its text goes: width, colour, whether it is a terminal.

Renderers receive a :class:`Terminal`; they never look at ``sys.stdout``, ``os.environ`` or the
terminal size themselves. The edge (:func:`orchestrator.ui.terminal_for`) builds one per stream.
"""

from __future__ import annotations

from dataclasses import dataclass

# Off a terminal (a pipe, a CI log), tables keep their lines whole instead of wrapping at the 80
# columns rich would assume.
PIPE_WIDTH = 240


@dataclass(frozen=True)
class Terminal:
    width: int = PIPE_WIDTH  # columns available for tables
    color: bool = False  # ANSI styles allowed
    tty: bool = False  # an interactive terminal (JSON is indented there, compact in pipes)


PLAIN = Terminal()
