"""`terraform validate` of each stack, in parallel under the scheduler.

Per stack: ``init -backend=false`` in its own data dir (.orchestrate/work/<slug>/validate,
skipped when nothing it depends on changed), then ``validate -json``; diagnostics become
``file:line`` messages relative to the repository. A provider registry, module registry or
module source that cannot be reached (offline) makes the stack *unchecked* (a warning naming
what could not be reached), not invalid; a provider or module that does not exist, or a
checksum mismatch, fails the stack with what exactly failed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from orchestrator.discovery import Stack
from orchestrator.engine.context import Engine
from orchestrator.engine.run import run_work
from orchestrator.engine.work import WorkItem, validate_work
from orchestrator.engine.workdir import init_fingerprint, read_json
from orchestrator.errors import one_line
from orchestrator.fileio import write_if_changed
from orchestrator.layout import StackWork
from orchestrator.scheduler import Outcome
from orchestrator.terraform import runner as tf
from orchestrator.terraform.backend import BackendSetup

ValidateStatus = Literal["valid", "invalid", "unchecked", "failed", "skipped"]


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # error | warning
    summary: str
    detail: str
    where: str  # repo-relative file:line, or the stack id

    def render(self) -> str:
        text = f"{self.where}: {self.severity}: {self.summary}"
        if self.detail:
            text += f" ({' '.join(self.detail.split())[:300]})"
        return text


@dataclass
class StackValidation:
    stack: str
    status: ValidateStatus
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "status": self.status,
            "error": self.error,
            "diagnostics": [d.__dict__ for d in self.diagnostics],
        }


def parse_validate_json(text: str, stack_dir: Path, root: Path, sid: str) -> tuple[bool, list[Diagnostic]]:
    """`terraform validate -json` -> (valid, diagnostics with repo-relative file:line) (pure)."""
    data = json.loads(text)
    out: list[Diagnostic] = []
    for d in data.get("diagnostics") or []:
        rng = d.get("range") or {}
        where = sid
        filename = rng.get("filename")
        if filename:
            path = Path(os.path.normpath(stack_dir / filename))
            try:
                shown = path.relative_to(root).as_posix()
            except ValueError:
                shown = str(path)
            line = (rng.get("start") or {}).get("line")
            where = f"{shown}:{line}" if line else shown
        out.append(
            Diagnostic(
                str(d.get("severity", "error")), str(d.get("summary", "")), str(d.get("detail", "")), where
            )
        )
    return bool(data.get("valid")), out


def _init_for_validate(
    engine: Engine, stack: Stack, work: StackWork, env: Mapping[str, str], log: Path
) -> None:
    """``init -backend=false`` in the validate data dir, unless nothing it depends on changed."""
    setup = BackendSetup("none", {}, False, "validate")
    fingerprint = init_fingerprint(engine.binary, stack, setup, env)
    if read_json(work.init_record).get("fingerprint") == fingerprint and work.data_dir.is_dir():
        return
    work.init_record.unlink(missing_ok=True)
    engine.runner.run(tf.init_args(stack.dir, backend=False), env=env, log=log, where=stack.id)
    fingerprint = init_fingerprint(engine.binary, stack, setup, env)
    write_if_changed(work.init_record, json.dumps({"fingerprint": fingerprint}) + "\n")


def validate_one(engine: Engine, sid: str) -> StackValidation:
    stack = engine.stack(sid)
    work = engine.workdir.of(stack).sub("validate")
    work.dir.mkdir(parents=True, exist_ok=True)
    log = work.dir / "validate.log"
    log.write_text("")
    env = engine.workdir.env(stack)
    env["TF_DATA_DIR"] = str(work.data_dir)
    engine.progress.phase(sid, "init")
    try:
        _init_for_validate(engine, stack, work, env, log)
        engine.progress.phase(sid, "validate")
        args = tf.validate_json_args(stack.dir)
        result = engine.runner.run(args, env=env, log=log, where=sid, ok_codes=(0, 1), log_stdout=False)
        valid, diags = parse_validate_json(result.stdout, stack.dir, engine.root, sid)
    except tf.InitUnreachable as exc:
        return StackValidation(sid, "unchecked", error=exc.message)
    except ValueError as exc:
        return StackValidation(sid, "failed", error=f"terraform validate printed invalid JSON: {exc}")
    return StackValidation(sid, "valid" if valid else "invalid", diags)


@dataclass
class ValidateSteps:
    engine: Engine

    def run(self, item: WorkItem) -> StackValidation:
        return validate_one(self.engine, item.stack)

    def failed(self, item: WorkItem, exc: BaseException) -> StackValidation:
        return StackValidation(item.stack, "failed", error=one_line(exc))

    def skipped(self, item: WorkItem, reason: str) -> StackValidation:
        return StackValidation(item.stack, "skipped", error=reason)

    def finish(self, item: WorkItem, value: StackValidation, elapsed: float) -> Outcome[StackValidation]:
        errors = sum(1 for d in value.diagnostics if d.severity == "error")
        detail = value.error or (f"{errors} error{'s' if errors != 1 else ''}" if errors else "")
        log = self.engine.workdir.of(self.engine.stack(item.stack)).sub("validate").dir / "validate.log"
        self.engine.progress.done(item.stack, value.status, detail, log=log)
        return Outcome(True, value)


def validate_stacks(engine: Engine, ids: list[str]) -> list[StackValidation]:
    engine.progress.start("terraform validate", ids)
    try:
        return run_work(engine, validate_work(ids), ValidateSteps(engine))
    finally:
        engine.progress.close()
