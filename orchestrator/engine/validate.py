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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from orchestrator.engine.context import Engine, read_json
from orchestrator.engine.plan import error_text, run_stacks
from orchestrator.errors import OrchestratorError
from orchestrator.fileio import write_if_changed
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


def validate_stacks(engine: Engine, ids: list[str]) -> list[StackValidation]:
    results: dict[str, StackValidation] = {}

    def worker(sid: str) -> Outcome[StackValidation]:
        stack = engine.stack(sid)
        work = engine.work(stack).dir / "validate"
        work.mkdir(parents=True, exist_ok=True)
        log = work / "validate.log"
        log.write_text("")
        env = engine.stack_env(stack)
        env["TF_DATA_DIR"] = str(work / ".terraform")
        engine.progress.phase(sid, "init")
        try:
            fingerprint = engine.init_fingerprint(stack, BackendSetup("none", {}, False, "validate"), env)
            record = work / "init.json"
            if read_json(record).get("fingerprint") != fingerprint or not (work / ".terraform").is_dir():
                record.unlink(missing_ok=True)
                engine.runner.run(tf.init_args(stack.dir, backend=False), env=env, log=log, where=sid)
                fingerprint = engine.init_fingerprint(stack, BackendSetup("none", {}, False, "validate"), env)
                write_if_changed(record, json.dumps({"fingerprint": fingerprint}) + "\n")
            engine.progress.phase(sid, "validate")
            result = engine.runner.run(
                tf.validate_json_args(stack.dir),
                env=env,
                log=log,
                where=sid,
                ok_codes=(0, 1),
                log_stdout=False,
            )
            valid, diags = parse_validate_json(result.stdout, stack.dir, engine.root, sid)
            res = StackValidation(sid, "valid" if valid else "invalid", diags)
        except tf.InitUnreachable as exc:
            res = StackValidation(sid, "unchecked", error=exc.message)
        except OrchestratorError as exc:
            res = StackValidation(sid, "failed", error=error_text(exc))
        except ValueError as exc:
            res = StackValidation(sid, "failed", error=f"terraform validate printed invalid JSON: {exc}")
        results[sid] = res
        errors = sum(1 for d in res.diagnostics if d.severity == "error")
        detail = res.error or (f"{errors} error{'s' if errors != 1 else ''}" if errors else "")
        engine.progress.done(sid, res.status, detail, log=log)
        return Outcome(True, res)

    engine.progress.start("terraform validate", ids)
    try:
        # Validation of one stack does not depend on another: no dependency edges.
        tasks = run_stacks(engine, ids, worker, op="validate", independent=True)
    finally:
        engine.progress.close()
    out = []
    for sid in ids:
        if sid in results:
            out.append(results[sid])
        else:
            tr = tasks.get(sid)
            out.append(StackValidation(sid, "skipped", error=tr.reason if tr else "not started"))
    return out
