"""The ``stacks:`` rules of orchestrate.yaml, as pure functions over repository-relative paths.

Directory patterns: ``{name}`` captures one path segment, ``*`` matches within one segment,
``**`` any number of segments (``a/**`` matches ``a`` itself too). Every target rule that
matches a directory applies, in order; a later rule overrides the keys an earlier one set.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from orchestrator.config import StacksRules, TargetRule

_SEGMENT_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}|\*|\?|[^{*?]+|.")


def _segment(seg: str, seen: set[str]) -> str:
    out: list[str] = []
    for m in _SEGMENT_TOKEN.finditer(seg):
        tok = m.group(0)
        if m.group(1):
            name = m.group(1)
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+)")
            seen.add(name)
        elif tok == "*":
            out.append("[^/]*")
        elif tok == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(tok))
    return "".join(out)


@lru_cache(maxsize=1024)
def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A directory glob with ``{name}`` captures as an anchored regular expression."""
    segs = pattern.strip("/").split("/")
    seen: set[str] = set()
    out = ""
    glue = ""
    for i, seg in enumerate(segs):
        if seg == "**":
            if len(segs) == 1:
                out += ".*"
            elif i == 0:
                out += "(?:.*/)?"
            else:
                out += "(?:/.*)?"
            glue = "" if i == 0 else "/"
            continue
        out += glue + _segment(seg, seen)
        glue = "/"
    return re.compile("^" + out + "$")


def matches(pattern: str, path: str) -> dict[str, str] | None:
    """The captures when ``path`` (repo-relative, "" or "." for the root) matches, else None."""
    m = pattern_regex(pattern).match("" if path == "." else path)
    return None if m is None else {k: v for k, v in m.groupdict().items() if v is not None}


def included(rules: StacksRules, path: str) -> bool:
    if not any(matches(p, path) is not None for p in rules.include):
        return False
    return not any(matches(p, path) is not None for p in rules.exclude)


def _fill(value: str, captures: dict[str, str]) -> str:
    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: captures.get(m.group(1), m.group(0)), value)


def target_settings(targets: list[TargetRule], path: str) -> tuple[dict[str, Any], list[str]]:
    """(stack.yaml-shaped settings, the patterns that gave them) for a directory."""
    out: dict[str, Any] = {}
    why: list[str] = []
    for rule in targets:
        caps = matches(rule.match, path)
        if caps is None:
            continue
        why.append(rule.match)
        if rule.cloud is not None:
            out["cloud"] = _fill(rule.cloud, caps)
        if rule.environment is not None:
            out["environment"] = _fill(rule.environment, caps)
        elif "environment" in caps:
            out["environment"] = caps["environment"]
        if rule.reconcile is not None:
            out["reconcile"] = rule.reconcile
        if rule.tags:
            out["tags"] = sorted({*out.get("tags", []), *(_fill(t, caps) for t in rule.tags)})
    return out, why
