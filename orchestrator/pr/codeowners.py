"""CODEOWNERS, parsed the way GitHub does (pure).

GitHub reads the first of ``.github/CODEOWNERS``, ``CODEOWNERS``, ``docs/CODEOWNERS``. Each
line is a gitignore-style pattern followed by owners (``@user``, ``@org/team`` or an email);
``#`` starts a comment; for a file, the **last** matching line wins, and a matching line
without owners means the file has none. Patterns: a leading ``/`` anchors at the top, a
pattern without a ``/`` (other than a trailing one) matches at any depth, a trailing ``/``
matches everything below a directory, ``*`` stays within one path segment, ``**`` spans
segments. ``!`` negation and ``[ ]`` ranges are not supported by GitHub either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]  # without the @; "org/team" for teams, emails as written
    line: int


def _segment(seg: str) -> str:
    out = []
    for ch in seg:
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A CODEOWNERS pattern as a regex over top-relative posix paths."""
    directory = pattern.endswith("/")
    body = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in body
    parts = body.split("/") if body else []
    rx = []
    for i, part in enumerate(parts):
        if part == "**":
            rx.append("(?:[^/]+/)*" if i < len(parts) - 1 else ".*")
            continue
        rx.append(_segment(part) + ("/" if i < len(parts) - 1 else ""))
    core = "".join(rx).replace("(?:[^/]+/)*/", "(?:[^/]+/)*")
    prefix = "" if anchored else "(?:.*/)?"
    # A pattern names a file, or a directory and everything below it.
    suffix = "/.*" if directory else "(?:/.*)?"
    return re.compile(f"^{prefix}{core}{suffix}$")


def parse(text: str) -> list[Rule]:
    rules = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        fields = line.split()
        pattern, owners = fields[0], tuple(o.removeprefix("@") for o in fields[1:])
        if pattern.startswith("!") or "[" in pattern:
            continue  # not supported by GitHub: such lines are ignored there too
        rules.append(Rule(pattern, pattern_regex(pattern), owners, n))
    return rules


def owners_of(rules: list[Rule], path: str) -> tuple[str, ...]:
    """The owners of ``path`` (top-relative): the last matching rule's, or () when none."""
    found: tuple[str, ...] = ()
    for rule in rules:
        if rule.regex.match(path):
            found = rule.owners
    return found
