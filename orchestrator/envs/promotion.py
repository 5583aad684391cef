"""The promotion gate (``approval.promotion: true``): a stack applies only after the same content
(envs.model.content_hash) was applied successfully to its family's stack in the previous
environment on the path, according to the records in git notes (envs.store).

The records are read from the remote first, so a CI runner's fresh clone sees every apply.
A record is trusted because only those who can push to the repository write notes there;
docs/environments.md says how to keep it that way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.envs.model import EnvModel, content_hash, env_model
from orchestrator.envs.records import Passed, Record
from orchestrator.envs.store import RecordStore
from orchestrator.errors import ApprovalRefused, OrchestratorError
from orchestrator.workspace import Workspace


@dataclass(frozen=True)
class Promotion:
    stack: str
    environment: str | None
    content_hash: str
    upstream_env: str | None = None
    upstream_stack: str | None = None
    passed_in: Record | None = None  # the record of the upstream apply of the same content

    @property
    def required(self) -> bool:
        return self.upstream_stack is not None

    @property
    def ok(self) -> bool:
        return not self.required or self.passed_in is not None

    def text(self) -> str:
        if not self.required:
            return "first environment of its family"
        if self.passed_in is not None:
            return (
                f"passed {self.upstream_env} ({self.upstream_stack}, "
                f"commit {self.passed_in.commit[:12]}, {self.passed_in.time})"
            )
        return f"not yet applied to {self.upstream_env} ({self.upstream_stack}) with this content"

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "environment": self.environment,
            "content_hash": self.content_hash,
            "previous_environment": self.upstream_env,
            "previous_stack": self.upstream_stack,
            "passed": self.ok,
            "record": self.passed_in.id if self.passed_in else None,
            "text": self.text(),
        }


def evaluate(
    ws: Workspace, model: EnvModel, stacks: Iterable[str], records: Sequence[Record]
) -> list[Promotion]:
    out = []
    index = Passed(records)
    for sid in stacks:
        stack = ws.stacks.get(sid)
        if stack is None:
            continue
        digest = content_hash(ws.root, stack)
        up = model.upstream_stack(sid)
        if up is None:
            out.append(Promotion(sid, model.env_of.get(sid), digest))
            continue
        env, upstream = up
        out.append(Promotion(sid, model.env_of.get(sid), digest, env, upstream, index.get(upstream, digest)))
    return out


def status(ws: Workspace, stacks: Iterable[str], *, fetch: bool = True) -> tuple[list[Promotion], list[str]]:
    """Promotion of ``stacks`` by the records (fetched from the remote): (results, warnings)."""
    model = env_model(ws.config, ws.stacks)
    try:
        read = RecordStore(ws.root).read(fetch=fetch)
    except OrchestratorError as exc:
        return evaluate(ws, model, stacks, []), [f"records: {exc.message}"]
    return evaluate(ws, model, stacks, read.records), read.warnings


def check(ws: Workspace, stacks: Sequence[str], *, skip_reason: str | None) -> list[Promotion]:
    """Refuse (ApprovalRefused) stacks whose content has not passed the previous environment,
    unless ``skip_reason`` overrides; returns the evaluation for the record."""
    if not ws.config.approval.promotion:
        return []
    results, warnings = status(ws, stacks)
    missing = [p for p in results if not p.ok]
    if missing and skip_reason is None:
        lines = "; ".join(f"{p.stack}: {p.text()}" for p in missing)
        read = f" (reading the records: {'; '.join(warnings)})" if warnings else ""
        raise ApprovalRefused(
            f"apply refused by the promotion gate: {lines}{read}",
            hint="Apply the same change to the previous environment first (orchestrate history shows "
            "what ran where), or override with --skip-promotion --reason TEXT (recorded).",
        )
    return results
