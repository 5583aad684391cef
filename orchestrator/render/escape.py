"""Untrusted names made safe for each GitHub medium (pure).

Stack ids, cloud and environment names, file names, resource addresses and terraform's log
lines come from the pull request. Discovery refuses odd ids, but every medium escapes again
(defence in depth):

- markdown (comments, job summaries): ``md_code`` puts a name in an inline code span that no
  backtick, ``|`` (table cell) or line break can leave; ``md_text`` for running text.
- commit statuses: ``one_line`` (no control characters).
- workflow commands: ``command_data`` / ``command_property`` escape as the runner's toolkit
  does, and ``untrusted_lines`` wraps text orchestrate did not write (terraform logs) in
  ``::stop-commands::`` so a ``::error::`` or ``::add-mask::`` inside it is printed, not run.
- ``$GITHUB_OUTPUT``: ``output_entry`` writes a value with a line break as a
  ``name<<DELIMITER`` block with a random delimiter the value does not contain.
"""

from __future__ import annotations

import html
import re
import secrets

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\n``, ``\\x1b``...)."""

    def show(m: re.Match[str]) -> str:
        ch = m.group(0)
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{ord(ch):02x}")

    return _CONTROL.sub(show, text)


def md_text(text: str) -> str:
    """Running markdown text: one line, HTML escaped (no comment markers, no tags)."""
    return html.escape(one_line(text), quote=False).replace("|", "\\|")


def md_code(text: str) -> str:
    """An inline code span holding ``text`` verbatim on one line, safe in a table cell."""
    body = one_line(text).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def command_data(text: str) -> str:
    """The message of a workflow command (``::error::MESSAGE``), as @actions/core escapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: str) -> str:
    """A property of a workflow command (``file=``, ``title=``)."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")


def untrusted_lines(text: str, token: str | None = None) -> str:
    """``text`` wrapped so the runner runs no workflow command found in it."""
    token = token or secrets.token_hex(16)
    while token in text:
        token = secrets.token_hex(16)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"::stop-commands::{token}\n{body}::{token}::\n"


def output_entry(name: str, value: str) -> str:
    """One ``$GITHUB_OUTPUT`` entry: ``name=value`` for one line (JSON always is), else a
    ``name<<DELIMITER`` block whose random delimiter cannot occur in ``value``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
        raise ValueError(f"invalid output name {name!r}")
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


_COMMAND_LINE = re.compile(r"^(\s*):(?=:)", re.M)


def neutralize_commands(text: str) -> str:
    """Human text for the Actions log: a line starting with ``::`` (a workflow command, perhaps
    from a name in a message) gets a zero-width space between the colons, so it is shown, not run."""
    return _COMMAND_LINE.sub("\\1:\u200b", text)
