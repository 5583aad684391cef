"""Version numbers and Terraform-style constraints ('>= 1.0, < 2', '~> 1.5'), pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$")
_CLAUSE = re.compile(r"^\s*(>=|<=|!=|~>|=|>|<)?\s*(v?\d+(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.\-]+)?)\s*$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        m = _VERSION.match(text.strip())
        if not m:
            raise ValueError(f"{text!r} is not a version number")
        return cls(*(int(g) if g else 0 for g in m.groups()))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class Clause:
    op: str
    version: Version
    parts: int  # how many components were written: '~> 1.5' differs from '~> 1.5.0'

    def allows(self, v: Version) -> bool:
        if self.op == "=":
            return v == self.version
        if self.op == "!=":
            return v != self.version
        if self.op == ">=":
            return v >= self.version
        if self.op == "<=":
            return v <= self.version
        if self.op == ">":
            return v > self.version
        if self.op == "<":
            return v < self.version
        # '~>': the rightmost written component may grow
        if v < self.version:
            return False
        if self.parts <= 2:
            return v.major == self.version.major
        return (v.major, v.minor) == (self.version.major, self.version.minor)


def parse_constraint(text: str) -> list[Clause]:
    """Parse a comma-separated constraint; raises ValueError on a malformed one."""
    clauses: list[Clause] = []
    for raw in text.split(","):
        m = _CLAUSE.match(raw)
        if not m:
            raise ValueError(f"{text!r} is not a version constraint such as '>= 1.0, < 2'")
        op = m.group(1) or "="
        ver_text = m.group(2)
        parts = len(ver_text.lstrip("v").split("-")[0].split("+")[0].split("."))
        clauses.append(Clause(op, Version.parse(ver_text), parts))
    return clauses


def satisfies(version: Version, constraint: str) -> bool:
    return all(c.allows(version) for c in parse_constraint(constraint))
