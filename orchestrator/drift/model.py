"""The values of a drift scan: state resources, live resources, diffs and the report (pure).

The JSON form of a report (``DriftReport.to_dict``) carries SPEC §8's stable field names;
fields beyond them (``mode``, ``resources``, ``unchecked``, ``coverage``, ``complete``,
``fingerprint`` per stack; ``incomplete``, ``read_paths``, ``summary.coverage`` and
``summary.partial`` at the top) are additions a reader may ignore.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from orchestrator.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from orchestrator.jsontypes import JSONData, JSONValue

PathSegment = str | int
AttrPath = tuple[PathSegment, ...]
Status = Literal["clean", "drifted", "error"]
Mode = Literal["api", "refresh", "both"]
# A Redactor's ``data``: JSON in, the same shape out with secrets masked.
Redact = Callable[[JSONData], JSONValue]


def escape_segment(segment: str) -> str:
    """A path segment as written in paths and ignore rules: dots and backslashes escaped."""
    return segment.replace("\\", "\\\\").replace(".", "\\.")


def path_text(path: Sequence[PathSegment]) -> str:
    """('tags', 'owner') -> 'tags.owner'; ('versioning', 0, 'enabled') -> 'versioning.0.enabled'."""
    return ".".join(str(p) if isinstance(p, int) else escape_segment(p) for p in path)


@dataclass(frozen=True)
class Resource:
    """One managed resource instance recorded in a stack's state."""

    address: str  # module.assets.aws_s3_bucket.this["a"]
    type: str
    name: str
    module: str | None  # "module.assets" or None for the root module
    index_key: int | str | None
    id: str | None
    attributes: Mapping[str, Any]
    schema_version: int = 0
    provider: str = ""
    sensitive_paths: tuple[AttrPath, ...] = ()

    @property
    def name_with_index(self) -> str:
        """``logs``, ``logs[0]`` or ``logs["a"]``: the address within its module."""
        return self.name + index_suffix(self.index_key)


def index_suffix(index_key: int | str | None) -> str:
    if index_key is None:
        return ""
    if isinstance(index_key, int):
        return f"[{index_key}]"
    return f"[{json.dumps(index_key)}]"


@dataclass(frozen=True)
class LiveResource:
    """A resource as a cloud API reports it, with attributes in the provider's names and shapes.

    ``id`` is the id Terraform records (and imports by); ``key`` is what state and live are
    matched on (the id for most types; e.g. the queue name for aws_sqs_queue).
    """

    type: str
    id: str
    key: str
    attributes: Mapping[str, Any]
    cloud_default: bool = False  # created by the cloud itself (default VPC, service-linked role)
    # Part of the scanned scope's listing (a candidate for unmanaged); False for resources read
    # only because a state points at them from elsewhere (another GCP folder, say).
    in_scope: bool = True


@dataclass(frozen=True)
class Diff:
    path: AttrPath
    expected: Any
    actual: Any

    @property
    def path_text(self) -> str:
        return path_text(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path_text, "expected": self.expected, "actual": self.actual}


@dataclass(frozen=True)
class Changed:
    address: str
    type: str
    id: str | None
    diffs: tuple[Diff, ...]

    def sorted_diffs(self) -> list[Diff]:
        """The diffs in the order of the JSON form (by path, then values)."""
        return sorted(self.diffs, key=lambda d: (d.path_text, _canonical(d.expected), _canonical(d.actual)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "type": self.type,
            "id": self.id,
            "diffs": [d.to_dict() for d in self.sorted_diffs()],
        }


@dataclass(frozen=True)
class Missing:
    address: str
    type: str
    id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "type": self.type, "id": self.id}


@dataclass(frozen=True)
class Unmanaged:
    type: str
    id: str
    cloud: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "cloud": self.cloud}


Via = Literal["api", "refresh", "none"]


@dataclass(frozen=True)
class Coverage:
    """How many managed resource instances were compared, per way and type.

    ``api``: against a cloud API read; ``refresh``: by terraform's refresh-only plan;
    ``none``: not compared at all (a type no reader knows, in api mode). Never clean.
    """

    api: Mapping[str, int] = field(default_factory=dict)
    refresh: Mapping[str, int] = field(default_factory=dict)
    none: Mapping[str, int] = field(default_factory=dict)

    @staticmethod
    def of(items: Sequence[tuple[Via, str]]) -> Coverage:
        counts: dict[str, dict[str, int]] = {"api": {}, "refresh": {}, "none": {}}
        for via, rtype in items:
            counts[via][rtype] = counts[via].get(rtype, 0) + 1
        return Coverage(counts["api"], counts["refresh"], counts["none"])

    def __add__(self, other: Coverage) -> Coverage:
        def add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in sorted(set(a) | set(b))}

        return Coverage(
            add(self.api, other.api), add(self.refresh, other.refresh), add(self.none, other.none)
        )

    def to_dict(self) -> dict[str, Any]:
        types = sorted(set(self.api) | set(self.refresh) | set(self.none))
        return {
            "api": sum(self.api.values()),
            "refresh": sum(self.refresh.values()),
            "none": sum(self.none.values()),
            "by_type": {
                t: {"api": self.api.get(t, 0), "refresh": self.refresh.get(t, 0), "none": self.none.get(t, 0)}
                for t in types
            },
        }


@dataclass(frozen=True)
class StackDrift:
    """The result for one stack. ``error`` set means the stack could not be fully checked."""

    stack: str
    mode: Mode
    error: str | None = None
    changed: tuple[Changed, ...] = ()
    missing: tuple[Missing, ...] = ()
    resources: int = 0  # resource instances checked
    unchecked: tuple[str, ...] = ()  # addresses of types this mode cannot check
    coverage: Coverage = field(default_factory=Coverage)

    @property
    def complete(self) -> bool:
        """Every managed resource was compared (a stack in error never is)."""
        return not self.error and not self.unchecked and not self.coverage.none

    @property
    def status(self) -> Status:
        if self.error:
            return "error"
        if self.changed or self.missing:
            return "drifted"
        return "clean"

    def sorted_changed(self) -> list[Changed]:
        """The changed resources in the order of the JSON form (by address)."""
        return sorted(self.changed, key=lambda c: c.address)

    def sorted_missing(self) -> list[Missing]:
        """The missing resources in the order of the JSON form (by address)."""
        return sorted(self.missing, key=lambda m: m.address)

    def changed_json(self) -> list[dict[str, Any]]:
        """``changed`` in its JSON form, as drift records and approvals carry it."""
        return [c.to_dict() for c in self.sorted_changed()]

    def missing_json(self) -> list[dict[str, Any]]:
        """``missing`` in its JSON form, as drift records and approvals carry it."""
        return [m.to_dict() for m in self.sorted_missing()]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stack": self.stack,
            "status": self.status,
            "error": self.error,
            "changed": self.changed_json(),
            "missing": self.missing_json(),
            "mode": self.mode,
            "resources": self.resources,
            "unchecked": sorted(self.unchecked),
            "coverage": self.coverage.to_dict(),
            "complete": self.complete,
        }
        return data

    @property
    def fingerprint(self) -> str:
        """See :func:`fingerprint`: of the stack's JSON form (redact the stack first)."""
        return fingerprint(self.to_dict())

    def redacted(self, redact: Redact) -> StackDrift:
        """A copy with every string a secret could hide in passed through ``redact``."""
        text: Callable[[str], str] = lambda v: str(redact(v))  # noqa: E731
        changed = tuple(
            Changed(
                text(c.address),
                text(c.type),
                None if c.id is None else text(c.id),
                tuple(
                    Diff(
                        tuple(p if isinstance(p, int) else text(p) for p in d.path),
                        redact(d.expected),
                        redact(d.actual),
                    )
                    for d in c.diffs
                ),
            )
            for c in self.changed
        )
        missing = tuple(
            Missing(text(m.address), text(m.type), None if m.id is None else text(m.id)) for m in self.missing
        )
        return replace(
            self,
            stack=text(self.stack),
            error=None if self.error is None else text(self.error),
            changed=changed,
            missing=missing,
            unchecked=tuple(text(a) for a in self.unchecked),
        )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(stack_entry: Mapping[str, Any]) -> str:
    """A stable digest of one stack's drift (its ``changed`` and ``missing``), from its JSON form.

    Timestamps, the commit, the status, errors and counts are left out, so the same
    out-of-band changes give the same fingerprint scan after scan (what a drift pull request
    compares to decide whether to update itself). Computed on the redacted form.
    """
    changed = sorted(
        (
            {
                "address": c.get("address"),
                "type": c.get("type"),
                "id": c.get("id"),
                "diffs": sorted((_canonical(d) for d in c.get("diffs", [])), key=str),
            }
            for c in stack_entry.get("changed", [])
        ),
        key=_canonical,
    )
    missing = sorted(
        (
            {"address": m.get("address"), "type": m.get("type"), "id": m.get("id")}
            for m in stack_entry.get("missing", [])
        ),
        key=_canonical,
    )
    doc = {"stack": stack_entry.get("stack"), "changed": changed, "missing": missing}
    return "sha256:" + hashlib.sha256(_canonical(doc).encode()).hexdigest()


@dataclass(frozen=True)
class DriftReport:
    scanned_at: str
    commit: str | None
    stacks: tuple[StackDrift, ...]
    unmanaged: tuple[Unmanaged, ...] = ()
    # Why the unmanaged listing may be incomplete (a list call failed, a state was unreadable).
    incomplete: tuple[str, ...] = field(default=())
    # Which API read which type, per cloud target: (cloud, type, path), e.g. "cloud-asset-inventory".
    read_paths: tuple[tuple[str, str, str], ...] = field(default=())

    def coverage(self) -> Coverage:
        total = Coverage()
        for s in self.stacks:
            total = total + s.coverage
        return total

    def summary(self) -> dict[str, Any]:
        return {
            "stacks": len(self.stacks),
            "drifted": sum(1 for s in self.stacks if s.status == "drifted"),
            "errors": sum(1 for s in self.stacks if s.status == "error"),
            "resources": sum(s.resources for s in self.stacks),
            "changed": sum(len(s.changed) for s in self.stacks),
            "missing": sum(len(s.missing) for s in self.stacks),
            "unmanaged": len(self.unmanaged),
            # Stacks with resources that were not compared (clean only as far as was checked).
            "partial": sum(1 for s in self.stacks if s.status != "error" and not s.complete),
            "coverage": self.coverage().to_dict(),
        }

    @property
    def exit_code(self) -> int:
        """1 when anything could not be read, else 2 when anything drifted, else 0."""
        if any(s.status == "error" for s in self.stacks) or self.incomplete:
            return EXIT_ERROR
        if any(s.changed or s.missing for s in self.stacks) or self.unmanaged:
            return EXIT_CHANGES
        return EXIT_OK

    def redacted(self, redact: Redact) -> DriftReport:
        """The report as it may be shown and published: every string a secret could hide in passed
        through ``redact`` (a Redactor's ``data``). Renderers and drift pull requests take this."""
        return replace(
            self,
            stacks=tuple(s.redacted(redact) for s in self.stacks),
            unmanaged=tuple(
                Unmanaged(str(redact(u.type)), str(redact(u.id)), str(redact(u.cloud)))
                for u in self.unmanaged
            ),
            incomplete=tuple(str(redact(n)) for n in self.incomplete),
        )

    def to_dict(self, redact: Redact | None = None) -> dict[str, Any]:
        """The JSON form; ``redact`` (a Redactor's ``data``) is applied before fingerprinting.
        Prefer ``redacted(redact).to_dict()``: the typed report is what callers pass around."""

        def clean(value: JSONValue) -> JSONValue:
            return value if redact is None else redact(value)

        stacks = []
        for s in self.stacks:
            cleaned = clean(s.to_dict())
            entry: dict[str, Any] = cleaned if isinstance(cleaned, dict) else {}
            entry["fingerprint"] = fingerprint(entry)
            stacks.append(entry)
        unmanaged = sorted(self.unmanaged, key=lambda u: (u.cloud, u.type, u.id))
        return {
            "scanned_at": self.scanned_at,
            "commit": self.commit,
            "summary": self.summary(),
            "stacks": stacks,
            "unmanaged": clean([u.to_dict() for u in unmanaged]),
            "incomplete": clean(list(self.incomplete)),
            "read_paths": [
                {"cloud": cloud, "type": rtype, "path": path}
                for cloud, rtype, path in sorted(self.read_paths)
            ],
        }
