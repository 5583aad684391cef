"""A stack whose directory moved: detected at plan time, before it recreates everything.

With the default local backend a stack's state lives under ``.orchestrate/state/<id>/``, so
moving ``stacks/net`` to ``stacks/core/net`` gives it a new id and an empty state: the plan
would create every resource again while the old state (and the real resources) stay behind.
When a stack has no state and its plan creates the resources an orphaned state (of no current
stack) holds, the plan says where its state is and how to move it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from orchestrator.errors import OrchestratorError
from orchestrator.layout import STATE_DIR
from orchestrator.terraform.planjson import PlanJSON
from orchestrator.terraform.statejson import StateJSON, state_json_of

STATES = Path(STATE_DIR) / "state"
STATE_FILE = "terraform.tfstate"


def state_addresses(state: StateJSON) -> set[str]:
    """Managed resource instance addresses of a state v4 document (pure)."""
    found: set[str] = set()
    for res in state.get("resources") or []:
        if res.get("mode") != "managed":
            continue
        base = f"{res['type']}.{res['name']}"
        if res.get("module"):
            base = f"{res['module']}.{base}"
        for inst in res.get("instances") or []:
            key = inst.get("index_key")
            found.add(base if key is None else f"{base}[{json.dumps(key)}]")
    return found


def created_addresses(plan_json: PlanJSON) -> set[str]:
    return {
        rc["address"]
        for rc in plan_json.get("resource_changes") or []
        if rc.get("mode") == "managed" and rc["change"]["actions"] == ["create"]
    }


def orphan_states(root: Path, current_ids: Iterable[str]) -> dict[str, Path]:
    """Default local states under .orchestrate/state/ that belong to no current stack: id -> file."""
    base = root / STATES
    if not base.is_dir():
        return {}
    current = set(current_ids)
    found: dict[str, Path] = {}
    for dirpath, _dirs, files in os.walk(base):
        if STATE_FILE in files:
            sid = Path(dirpath).relative_to(base).as_posix()
            if sid not in current:
                found[sid] = Path(dirpath) / STATE_FILE
    return found


def moved_from(root: Path, stack_id: str, current_ids: Iterable[str], plan_json: PlanJSON) -> str | None:
    """The id a newly stateless stack was probably moved from, with how to move its state."""
    creates = created_addresses(plan_json)
    if not creates:
        return None
    for old_id, path in sorted(orphan_states(root, current_ids).items()):
        try:
            state = state_json_of(
                json.loads(path.read_text()), what="state", where=old_id, error=OrchestratorError
            )
        except (OSError, ValueError, RecursionError, OrchestratorError):
            continue  # unreadable: not evidence of a move
        held = state_addresses(state)
        if held and held <= creates:
            new = root / STATES / stack_id / STATE_FILE
            return (
                f"'{stack_id}' has no state, and the state of '{old_id}' (a stack that no longer exists) "
                f"holds {len(held)} of the resources this plan creates: was the stack moved? Move its "
                f"state instead of recreating them: mkdir -p {new.parent.relative_to(root)} && "
                f"mv {path.relative_to(root)} {new.relative_to(root)}, then plan again"
            )
    return None
