"""Policy results as data: findings per stack, the report, its summary and its JSON.

Pure. Messages are redacted before a Finding is made (see evaluate.py), so everything
here is safe to store and print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["error", "deny", "warn"]
Status = Literal["error", "deny", "warn", "pass"]
Enforcement = Literal["blocking", "advisory"]
FORMAT = 1
_ORDER = {"error": 0, "deny": 1, "warn": 2}


@dataclass(frozen=True)
class Location:
    file: str  # repo-relative posix path
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}


@dataclass(frozen=True)
class Finding:
    """One message from one rule for one stack (or an evaluation error)."""

    level: Level
    rule: str  # the queried rule: main.deny, main.warn_tags
    msg: str
    policy: str | None = None  # the result's own id (`policy` key), when it has one
    resource: str | None = None  # the resource address the result is about
    metadata: dict[str, Any] = field(default_factory=dict)
    location: Location | None = None

    @property
    def rule_id(self) -> str:
        """The id shown and used for SARIF rules: the policy's own id, else the rule."""
        return self.policy or self.rule

    def sort_key(self) -> tuple[int, str, str, str]:
        return (_ORDER[self.level], self.resource or "", self.rule_id, self.msg)

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "rule": self.rule,
            "policy": self.policy,
            "resource": self.resource,
            "msg": self.msg,
            "metadata": self.metadata,
            "location": self.location.to_json() if self.location else None,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Finding:
        loc = doc.get("location")
        return cls(
            level=doc["level"],
            rule=doc["rule"],
            msg=doc["msg"],
            policy=doc.get("policy"),
            resource=doc.get("resource"),
            metadata=dict(doc.get("metadata") or {}),
            location=Location(loc["file"], int(loc["line"])) if loc else None,
        )


@dataclass(frozen=True)
class StackResult:
    stack: str
    findings: tuple[Finding, ...] = ()
    duration_ms: float = 0.0

    def count(self, level: Level) -> int:
        return sum(1 for f in self.findings if f.level == level)

    @property
    def denied(self) -> int:
        return self.count("deny")

    @property
    def warned(self) -> int:
        return self.count("warn")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def status(self) -> Status:
        if self.errors:
            return "error"
        if self.denied:
            return "deny"
        if self.warned:
            return "warn"
        return "pass"

    def counts(self) -> dict[str, Any]:
        return {"status": self.status, "denied": self.denied, "warned": self.warned, "errors": self.errors}

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            **self.counts(),
            "duration_ms": round(self.duration_ms, 2),
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass
class PolicyReport:
    """The results of evaluating the policies on a set of plans."""

    enforcement: Enforcement
    namespaces: list[str]
    policies: list[dict[str, Any]]  # [{"file", "package", "rules"}]
    stacks: list[StackResult]
    warnings: list[str] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def denied(self) -> int:
        return sum(s.denied for s in self.stacks)

    @property
    def warned(self) -> int:
        return sum(s.warned for s in self.stacks)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.stacks)

    @property
    def blocking(self) -> bool:
        """True when a policy errored, or denied under blocking enforcement."""
        return self.errors > 0 or (self.enforcement == "blocking" and self.denied > 0)

    @property
    def status(self) -> Status:
        if self.errors:
            return "error"
        if self.denied:
            return "deny"
        if self.warned:
            return "warn"
        return "pass"

    def for_stack(self, stack_id: str) -> StackResult | None:
        return next((s for s in self.stacks if s.stack == stack_id), None)

    def findings(self) -> list[tuple[str, Finding]]:
        return [(s.stack, f) for s in self.stacks for f in s.findings]

    def summary(self) -> dict[str, Any]:
        """Small and JSON-able: what the plan-set manifest and the PR comment's table need."""
        return {
            "enforcement": self.enforcement,
            "status": self.status,
            "blocking": self.blocking,
            "policies": len(self.policies),
            "denied": self.denied,
            "warned": self.warned,
            "errors": self.errors,
            "stacks": {s.stack: s.counts() for s in self.stacks},
        }

    def to_json(self) -> dict[str, Any]:
        """Everything: written as policy.json into the plan set."""
        return {
            "format": FORMAT,
            "enforcement": self.enforcement,
            "namespaces": list(self.namespaces),
            "policies": list(self.policies),
            "warnings": list(self.warnings),
            "summary": self.summary(),
            "duration_ms": round(self.duration_ms, 2),
            "stacks": [s.to_json() for s in self.stacks],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PolicyReport:
        """Read policy.json back (for comments and apply's checks)."""
        return cls(
            enforcement=doc["enforcement"],
            namespaces=list(doc.get("namespaces") or []),
            policies=list(doc.get("policies") or []),
            stacks=[
                StackResult(
                    stack=s["stack"],
                    findings=tuple(Finding.from_json(f) for f in s.get("findings") or []),
                    duration_ms=float(s.get("duration_ms") or 0.0),
                )
                for s in doc.get("stacks") or []
            ],
            warnings=list(doc.get("warnings") or []),
            duration_ms=float(doc.get("duration_ms") or 0.0),
        )
