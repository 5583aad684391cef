"""Ignore rules: ``.driftignore`` at the repository root (driftctl's syntax) and ``drift.ignore`` in
stack.yaml (pure apart from reading the file).

A rule is a dotted pattern, optionally negated with ``!``:

- ``aws_s3_bucket.acme-logs``        a resource by type and cloud id (driftctl's form)
- ``aws_s3_bucket.logs``             a resource by its address (``module.x.aws_s3_bucket.logs[0]``
                                     is written in full; a root resource by ``type.name``, which
                                     covers every ``count``/``for_each`` instance)
- ``aws_s3_bucket.*.tags.LastScanned`` one attribute path, on every bucket
- ``aws_*``, ``*``                   wildcards: ``*`` matches any characters within a segment
- ``\\.`` and ``\\\\``                 a literal dot or backslash inside a segment (ids with dots)

A rule covers everything under it (``aws_s3_bucket.logs.tags`` covers every tag). Rules are read
in order and, as in ``.gitignore`` (and driftctl since it moved to gitignore matching), the last
rule that matches decides: ``*`` followed by ``!aws_iam_role.*`` checks IAM roles only. A
resource ignored as a whole cannot have one attribute re-included. The root file applies to
every stack and to unmanaged resources; a stack's rules come after it and apply to that stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.drift.model import AttrPath, Resource
from orchestrator.errors import ConfigError

DRIFTIGNORE = ".driftignore"


@dataclass(frozen=True)
class Rule:
    negate: bool
    segments: tuple[str, ...]
    source: str  # file:line, for messages


def split_escaped(text: str) -> list[str]:
    """Split on dots not escaped by a backslash; ``\\.`` and ``\\\\`` become literal."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            current.append(nxt or "\\")
        elif ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def split_address(address: str) -> list[str]:
    """``module.a["x.y"].aws_s3_bucket.this[0]`` -> ['module', 'a["x.y"]', 'aws_s3_bucket', 'this[0]']."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in address:
        if quoted:
            current.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "." and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def parse_rule(line: str, source: str) -> Rule | None:
    """One line of a .driftignore (or one drift.ignore entry); None for blanks and comments."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    negate = text.startswith("!")
    if negate:
        text = text[1:].strip()
    while "**" in text:
        text = text.replace("**", "*")
    segments = split_escaped(text)
    if not text or any(not s for s in segments):
        raise ConfigError(
            f"invalid drift ignore rule {line.strip()!r}",
            where=source,
            hint="Write type.id, type.id.attribute.path or a wildcard such as aws_s3_bucket.*; "
            "escape dots inside an id as \\.",
        )
    return Rule(negate, tuple(segments), source)


def parse_rules(lines: Iterable[str], source: str, *, numbered: bool = True) -> list[Rule]:
    rules = []
    for i, line in enumerate(lines, start=1):
        rule = parse_rule(line, f"{source}:{i}" if numbered else f"{source}[{i - 1}]")
        if rule is not None:
            rules.append(rule)
    return rules


def wildcard_match(text: str, pattern: str) -> bool:
    """``*`` matches any run of characters; everything else is literal (no [] classes)."""
    if "*" not in pattern:
        return text == pattern
    pieces = pattern.split("*")
    if not text.startswith(pieces[0]):
        return False
    pos = len(pieces[0])
    for piece in pieces[1:-1]:
        found = text.find(piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    last = pieces[-1]
    return len(text) - pos >= len(last) and text.endswith(last)


def _prefix_match(rule: Sequence[str], candidate: Sequence[str]) -> bool:
    if len(rule) > len(candidate):
        return False
    return all(wildcard_match(c, r) for r, c in zip(rule, candidate, strict=False))


Candidate = tuple[str, ...]


def resource_from_address(address: str, rtype: str, rid: str | None) -> Resource:
    """A Resource carrying what ignore rules look at, from an address (refresh-mode results)."""
    parts = split_address(address)
    last = parts[-1]
    name, _, rest = last.partition("[")
    index: int | str | None = None
    if rest:
        raw = rest[:-1]
        try:
            index = int(raw)
        except ValueError:
            index = raw.strip('"')
    module = ".".join(parts[:-2]) or None
    return Resource(address, rtype, name, module, index, rid, {})


def resource_candidates(resource: Resource) -> list[Candidate]:
    """The names a rule may use for a resource: type.id and its address."""
    out: list[Candidate] = []
    if resource.id is not None:
        out.append((resource.type, resource.id))
    address = tuple(split_address(resource.address))
    out.append(address)
    if resource.index_key is not None:
        out.append((*address[:-1], resource.name))
    return out


@dataclass(frozen=True)
class IgnoreRules:
    rules: tuple[Rule, ...] = ()

    def extended(self, more: Iterable[Rule]) -> IgnoreRules:
        return IgnoreRules((*self.rules, *more))

    def _decide(self, candidates: Sequence[Candidate], *, whole: bool) -> bool:
        ignored = False
        for rule in self.rules:
            for cand in candidates:
                if whole and len(rule.segments) > len(cand):
                    continue
                if _prefix_match(rule.segments, cand):
                    ignored = not rule.negate
                    break
        return ignored

    def ignores_resource(self, resource: Resource) -> bool:
        """The whole resource is ignored (not checked at all)."""
        return bool(self.rules) and self._decide(resource_candidates(resource), whole=True)

    def ignores_path(self, resource: Resource, path: AttrPath) -> bool:
        if not self.rules:
            return False
        tail = tuple(str(p) for p in path)
        return self._decide([(*c, *tail) for c in resource_candidates(resource)], whole=False)

    def ignores_unmanaged(self, rtype: str, rid: str) -> bool:
        return bool(self.rules) and self._decide([(rtype, rid)], whole=True)


def load_driftignore(root: Path) -> IgnoreRules:
    """The repository's .driftignore (no file: no rules)."""
    path = root / DRIFTIGNORE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return IgnoreRules()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {DRIFTIGNORE}: {exc}", where=DRIFTIGNORE) from exc
    return IgnoreRules(tuple(parse_rules(text.splitlines(), DRIFTIGNORE)))


def stack_rules(entries: Sequence[str], config_file: str) -> list[Rule]:
    return parse_rules(entries, f"{config_file} drift.ignore", numbered=False)
