"""Partial plan sets (``plan --shard I/N``) and merging them into one (``planset merge``).

A partial plan set is an ordinary plan set (its manifest lists only the stacks the shard
owns) plus ``shard.json``: which shard it is, the whole selection in the order a single
runner's manifest would list it, and the selection's reasons. Merging checks that the parts
come from the same commit, terraform and selection, that no stack is in two parts and that
every shard is there, then builds one plan set whose manifest and ``policy.json`` equal a
single runner's in everything but timestamps and timings.

Parts come from CI jobs that ran pull-request code: nothing here is trusted more than any
plan set is (apply re-derives what it checks from the plan files themselves).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import PlanSetError
from orchestrator.layout import PLANS_DIR
from orchestrator.planset import POLICY_FILE, Manifest, read_manifest, write_plan_set

SHARD_FILE = "shard.json"
# Manifest fields every part must agree on (apart from the stacks and the timestamps).
_SAME = (
    "commit",
    "dirty",
    "kind",
    "terraform_version",
    "terraform_binary",
    "orchestrate_version",
    "pr",
    "encryption",  # a merged set is encrypted to one set of recipients, or not at all
)


class ShardRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = 1
    index: int = Field(ge=1)
    count: int = Field(ge=1)
    selection: list[str]  # every selected stack, in the single-runner manifest's order
    owned: list[str]  # the stacks in this part
    reasons: dict[str, list[str]] = Field(default_factory=dict)  # why selected (--changed)
    deleted: list[str] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class Part:
    dir: Path
    manifest: Manifest
    record: ShardRecord
    policy: dict[str, Any] | None


def _read_policy(directory: Path) -> dict[str, Any] | None:
    path = directory / POLICY_FILE
    if not path.is_file():
        return None
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PlanSetError(f"{POLICY_FILE} is unreadable ({exc})", where=str(path)) from exc
    return doc


def _policy_for(doc: dict[str, Any] | None, stacks: Sequence[str], parts: Sequence[dict[str, Any]]) -> Any:
    """One PolicyReport over ``stacks`` (in that order) from the reports in ``parts``."""
    from orchestrator.policy.report import PolicyReport

    if doc is None:
        return None
    template = PolicyReport.from_json(doc)
    by_stack = {}
    warnings: list[str] = []
    duration = 0.0
    for part in parts:
        report = PolicyReport.from_json(part)
        for s in report.stacks:
            by_stack[s.stack] = s
        warnings += [w for w in report.warnings if w not in warnings]
        duration += report.duration_ms
    template.stacks = [by_stack[s] for s in stacks if s in by_stack]
    template.warnings = warnings
    template.duration_ms = duration
    return template


def write_partial(
    full: Path, record: ShardRecord, *, plans_root: Path, out: Path | None
) -> tuple[Manifest, Path]:
    """The partial plan set of ``record.owned`` from ``full`` (a plan set of the shard's
    closure); ``full`` is removed afterwards."""
    manifest = read_manifest(full)
    owned = set(record.owned)
    policy = _read_policy(full)

    def populate(tmp: Path) -> Manifest:
        kept = [s for s in manifest.stacks if s.stack in owned]
        for s in kept:
            if (full / s.slug).is_dir():
                shutil.copytree(full / s.slug, tmp / s.slug, symlinks=True)
        report = _policy_for(policy, [s.stack for s in kept], [policy] if policy else [])
        if report is not None and report.stacks:
            (tmp / POLICY_FILE).write_text(json.dumps(report.to_json(), indent=2) + "\n")
        else:
            report = None
        (tmp / SHARD_FILE).write_text(record.model_dump_json(indent=2) + "\n")
        return manifest.model_copy(
            update={"stacks": kept, "policy": report.summary() if report is not None else None, "id": ""}
        )

    try:
        return write_plan_set(plans_root, None, populate, final_dir=out)
    finally:
        shutil.rmtree(full, ignore_errors=True)


def read_part(directory: Path) -> Part:
    manifest = read_manifest(directory)
    path = directory / SHARD_FILE
    if not path.is_file():
        raise PlanSetError(
            f"not a partial plan set (no {SHARD_FILE})",
            where=str(directory),
            hint="Merge the plan sets written by `orchestrate plan --shard I/N`.",
        )
    try:
        record = ShardRecord.model_validate_json(path.read_text())
    except (OSError, ValueError, ValidationError) as exc:
        raise PlanSetError(f"{SHARD_FILE} is corrupt", where=str(path), hint="Plan the shard again.") from exc
    listed = [s.stack for s in manifest.stacks]
    if sorted(listed) != sorted(record.owned) or not set(record.owned) <= set(record.selection):
        raise PlanSetError(
            f"{SHARD_FILE} does not match the plan set's manifest",
            where=str(path),
            hint="Plan the shard again; never edit a plan set by hand.",
        )
    return Part(directory, manifest, record, _read_policy(directory))


def check_parts(parts: Sequence[Part]) -> None:
    """Refuse parts that do not make one plan set: different commits (or terraform, or
    selection), a stack in two parts, a shard twice or missing."""
    first = parts[0]
    for part in parts[1:]:
        for name in _SAME:
            a, b = getattr(first.manifest, name), getattr(part.manifest, name)
            if a != b:
                raise PlanSetError(
                    f"the plan sets differ in {name}: {a!r} in {first.dir} but {b!r} in {part.dir}",
                    hint="Merge only the shards of one plan run (same commit, same selection).",
                )
        if (part.record.count, part.record.selection) != (first.record.count, first.record.selection):
            raise PlanSetError(
                f"{part.dir} was planned for another selection or shard count than {first.dir}",
                hint="Run every shard with the same selection options and the same N.",
            )
    seen: dict[str, Path] = {}
    shards: dict[int, Path] = {}
    for part in parts:
        if part.record.index in shards:
            raise PlanSetError(
                f"shard {part.record.label} is given twice ({shards[part.record.index]} and {part.dir})"
            )
        shards[part.record.index] = part.dir
        for sid in part.record.owned:
            if sid in seen:
                raise PlanSetError(
                    f"stack '{sid}' is in two plan sets: {seen[sid]} and {part.dir}",
                    hint="Merge the shards of one plan run: each stack is planned by exactly one shard.",
                )
            seen[sid] = part.dir
    missing = sorted(set(range(1, first.record.count + 1)) - set(shards))
    if missing:
        raise PlanSetError(
            f"shard{'s' if len(missing) > 1 else ''} "
            f"{', '.join(f'{i}/{first.record.count}' for i in missing)} missing",
            hint="Pass the plan sets of every shard (download every shard's artifact).",
        )
    absent = [s for s in first.record.selection if s not in seen]
    if absent:
        raise PlanSetError(f"no shard planned {', '.join(absent)}", hint="Plan every shard again.")


@dataclass
class Merged:
    manifest: Manifest
    dir: Path
    policy: Any | None
    record: ShardRecord


def merge(dirs: Sequence[Path], *, plans_root: Path, out: Path | None) -> Merged:
    """Merge partial plan sets into one (written atomically at ``out`` or under ``plans_root``)."""
    if not dirs:
        raise PlanSetError("no plan sets to merge", hint="Pass the directories of every shard's plan set.")
    parts = [read_part(d) for d in dirs]
    check_parts(parts)
    order = parts[0].record.selection
    by_stack = {s.stack: (s, p) for p in parts for s in p.manifest.stacks}
    policies = [p.policy for p in parts if p.policy is not None]
    report = _policy_for(policies[0] if policies else None, order, policies)

    def populate(tmp: Path) -> Manifest:
        for sid in order:
            sp, part = by_stack[sid]
            if (part.dir / sp.slug).is_dir():
                shutil.copytree(part.dir / sp.slug, tmp / sp.slug, symlinks=True)
        if report is not None:
            (tmp / POLICY_FILE).write_text(json.dumps(report.to_json(), indent=2) + "\n")
        return parts[0].manifest.model_copy(
            update={
                "id": "",
                "created_at": max(p.manifest.created_at for p in parts),
                "stacks": [by_stack[sid][0] for sid in order],
                "policy": report.summary() if report is not None else None,
            }
        )

    manifest, directory = write_plan_set(plans_root, None, populate, final_dir=out)
    record = parts[0].record.model_copy(update={"index": 1, "count": 1, "owned": list(order)})
    return Merged(manifest, directory, report, record)


def default_plans_root(root: Path) -> Path:
    return root / PLANS_DIR
