"""Reading a stack's current state through terraform: ``state pull`` and ``output -json``.

``States`` reads the state document (identity for stale-plan checks, resource counts for
destroy); ``Outputs`` reads and caches outputs (upstream inputs of dependent stacks) and
registers sensitive values with the shared redactor.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from orchestrator.discovery import Stack
from orchestrator.engine.workdir import Workdir
from orchestrator.errors import TerraformError
from orchestrator.jsontypes import parse_json
from orchestrator.redact import Redactor
from orchestrator.terraform import runner as tf
from orchestrator.terraform.plan import PlannedOutput, outputs_from_output_json
from orchestrator.terraform.statejson import StateJSON, outputs_json_of, state_json_of
from orchestrator.workspace import Workspace


def _read(workdir: Workdir, stack: Stack, log_name: str, args: list[str]) -> str:
    env = workdir.env(stack)
    work = workdir.of(stack)
    work.dir.mkdir(parents=True, exist_ok=True)
    log = work.dir / log_name
    log.write_text("")
    return workdir.run(stack, args, env, log, log_stdout=False, report=False).stdout


_INSPECT = "Inspect it with `terraform state pull`."


def parse_state(sid: str, text: str) -> StateJSON | None:
    """The state document ``terraform state pull`` printed; None when the stack has none (pure)."""
    if not text.strip():
        return None
    what = f"the state of '{sid}'"
    state = parse_json(text, what=what, where=sid, error=TerraformError, hint=_INSPECT)
    return state_json_of(state, what=what, where=sid, error=TerraformError, hint=_INSPECT)


def state_identity_of(state: StateJSON | None) -> tuple[str | None, int | None]:
    """(lineage, serial) of a state document (pure)."""
    lineage = state.get("lineage") if state else None
    if state is None or not lineage:
        return None, None
    return lineage, state.get("serial")


def resource_count_of(state: StateJSON | None) -> int | None:
    """Managed resource instances in a state document; None when there is none (pure)."""
    if state is None:
        return None
    resources = [r for r in state.get("resources") or [] if r.get("mode") == "managed"]
    return sum(len(r.get("instances") or []) for r in resources)


@dataclass
class States:
    ws: Workspace
    workdir: Workdir

    def pull(self, sid: str) -> StateJSON | None:
        """A stack's current state (`terraform state pull`); None when it has none."""
        stack = self.ws.stacks[sid]
        return parse_state(sid, _read(self.workdir, stack, "state.log", tf.state_pull_args(stack.dir)))

    def identity(self, sid: str) -> tuple[str | None, int | None]:
        return state_identity_of(self.pull(sid))

    def resource_count(self, sid: str) -> int | None:
        return resource_count_of(self.pull(sid))


@dataclass
class Outputs:
    """Outputs of stacks' current states, read once per command (worker threads share it)."""

    ws: Workspace
    workdir: Workdir
    redactor: Redactor
    _cache: dict[str, dict[str, PlannedOutput] | None] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def read(self, sid: str) -> dict[str, PlannedOutput] | None:
        """Outputs of a stack's current state (`terraform output -json`); None when it has none."""
        with self._guard:
            lock = self._locks.setdefault(sid, threading.Lock())
        with lock:
            with self._guard:
                if sid in self._cache:
                    return self._cache[sid]
            outputs = self._read(sid)
            with self._guard:
                self._cache[sid] = outputs
            return outputs

    def _read(self, sid: str) -> dict[str, PlannedOutput] | None:
        stack = self.ws.stacks[sid]
        text = _read(self.workdir, stack, "outputs.log", tf.output_json_args(stack.dir))
        data = outputs_json_of(text, where=sid, error=TerraformError)
        outputs = outputs_from_output_json(data) if data else None
        if outputs:
            self.redactor.add_secrets([str(o.value) for o in outputs.values() if o.sensitive and o.value])
        return outputs

    def forget(self, sid: str) -> None:
        """After an apply the stack's outputs changed: read them again when asked."""
        with self._guard:
            self._cache.pop(sid, None)
