"""Reading plans (pure): plan JSON -> summary, counts, outputs; the state a plan was made
against; the human plan text; and the comparison of a re-plan with an approved plan."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import OrchestratorError
from orchestrator.jsontypes import JSONValue
from orchestrator.planset import Counts, ResourceChange
from orchestrator.terraform.planjson import PlanJSON
from orchestrator.terraform.planjson import ResourceChange as PlannedChange
from orchestrator.terraform.statejson import StateOutput, state_json_of

# The value given to an input whose upstream output is unknown until the upstream applies.
# Lower-case letters, digits and dashes only, so it survives lower() and the usual
# label-sanitising replace(); any string holding PLACEHOLDER_MARK counts as unknown.
PLACEHOLDER_MARK = "orchestrate-unknown-"
_IGNORED_ACTIONS = ({"no-op"}, {"read"})


def placeholder(variable: str) -> str:
    import hashlib

    safe = re.sub(r"[^a-z0-9]+", "-", variable.lower()).strip("-") or "input"
    return f"{PLACEHOLDER_MARK}{safe}-{hashlib.sha256(variable.encode()).hexdigest()[:6]}"


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and PLACEHOLDER_MARK in value


@dataclass(frozen=True)
class PlannedOutput:
    """An output as it will be after the plan applies."""

    name: str
    known: bool
    value: JSONValue
    sensitive: bool
    changed: bool  # differs from the current state


@dataclass(frozen=True)
class PlanSummary:
    counts: Counts
    resource_changes: list[ResourceChange]
    outputs: dict[str, PlannedOutput] = field(default_factory=dict)
    output_changes: bool = False

    @property
    def has_changes(self) -> bool:
        return bool(self.resource_changes) or self.output_changes


def action_kind(actions: list[str]) -> str | None:
    """Terraform's actions list -> add | change | destroy | replace | None (no-op, read)."""
    s = set(actions)
    if s == {"create", "delete"}:
        return "replace"
    if s == {"create"}:
        return "add"
    if s == {"update"}:
        return "change"
    if s == {"delete"}:
        return "destroy"
    if s == {"forget"}:
        return "forget"
    return None


def _relevant(plan: PlanJSON) -> list[PlannedChange]:
    out = []
    for rc in plan.get("resource_changes") or []:
        actions = rc["change"]["actions"]
        if not actions or set(actions) in _IGNORED_ACTIONS:
            continue
        out.append(rc)
    return out


def summarize(plan: PlanJSON) -> PlanSummary:
    counts = {"add": 0, "change": 0, "destroy": 0, "replace": 0}
    changes: list[ResourceChange] = []
    for rc in _relevant(plan):
        actions = list(rc["change"]["actions"])
        kind = action_kind(actions)
        if kind in counts:
            counts[kind] += 1
        changes.append(ResourceChange(address=str(rc.get("address")), actions=actions))
    outputs: dict[str, PlannedOutput] = {}
    output_changed = False
    planned = ((plan.get("planned_values") or {}).get("outputs")) or {}
    for name, oc in (plan.get("output_changes") or {}).items():
        actions = oc.get("actions") or []
        changed = set(actions) != {"no-op"}
        output_changed = output_changed or changed
        deleted = set(actions) == {"delete"}
        known = (
            not deleted and oc.get("after_unknown") is not True and not _has_unknown(oc.get("after_unknown"))
        )
        sensitive = bool(oc.get("after_sensitive")) or bool((planned.get(name) or {}).get("sensitive"))
        outputs[name] = PlannedOutput(name, known, oc.get("after") if known else None, sensitive, changed)
    for name, po in planned.items():
        if name not in outputs:
            outputs[name] = PlannedOutput(
                name, "value" in po, po.get("value"), bool(po.get("sensitive")), changed=False
            )
    return PlanSummary(Counts(**counts), changes, outputs, output_changed)


def _has_unknown(mask: JSONValue | None) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_has_unknown(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_has_unknown(v) for v in mask)
    return False


def outputs_from_output_json(data: Mapping[str, StateOutput]) -> dict[str, PlannedOutput]:
    """`terraform output -json` -> outputs (all known: they come from the state)."""
    return {
        name: PlannedOutput(name, True, o.get("value"), bool(o.get("sensitive")), changed=False)
        for name, o in data.items()
    }


@dataclass(frozen=True)
class StateIdentity:
    lineage: str | None
    serial: int | None

    @property
    def exists(self) -> bool:
        """False when the plan was made against no state at all (a first run)."""
        return bool(self.lineage)


def plan_state_identity(plan_file: Path) -> StateIdentity:
    """Lineage and serial of the state a saved plan was made against (from the plan's zip)."""
    try:
        with zipfile.ZipFile(plan_file) as zf:
            # "tfstate" is the prior state the plan was made against (what staleness is judged by).
            data = json.loads(zf.read("tfstate"))
        state = state_json_of(data, what="the plan's state", where=str(plan_file), error=OrchestratorError)
    except (OSError, KeyError, ValueError, RecursionError, zipfile.BadZipFile, OrchestratorError):
        return StateIdentity(None, None)
    lineage = state.get("lineage") or None
    serial = state.get("serial")
    return StateIdentity(lineage, serial if lineage else None)


_REFRESH_LINE = re.compile(
    r"^\S.*: (Refreshing state\.\.\.|Reading\.\.\.|Read complete after|Preparing import\.\.\.|Importing)"
)


def plan_text(stdout: str) -> str:
    """The human plan from `terraform plan -no-color` output, as `terraform show` prints it.

    Drops the per-resource refresh progress lines and the "Saved the plan to" trailer, so the
    text is the plan alone (saving a `terraform show` run per stack).
    """
    lines = stdout.splitlines()
    out: list[str] = []
    for line in lines:
        if _REFRESH_LINE.match(line):
            continue
        if line.startswith("Saved the plan to:") or (
            line.startswith("─────") and _trailer_follows(lines, line)
        ):
            break
        out.append(line)
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out) + "\n"


def _trailer_follows(lines: list[str], rule: str) -> bool:
    i = lines.index(rule)
    rest = "\n".join(lines[i + 1 : i + 4])
    return "Saved the plan to" in rest or "Note: You didn't use the -out option" in rest


# ---------------------------------------------------------------- provisional re-plans


def compare_changes(approved: PlanJSON, replan: PlanJSON) -> list[str]:
    """Why a re-plan differs from an approved plan; empty when it may be applied.

    Equal means: the same resource addresses with the same actions, and every attribute
    value that was known in the approved plan (and was not a placeholder for an unknown
    input) unchanged in the re-plan. Values are never quoted (they may be secret).
    """
    a = {rc["address"]: rc for rc in _relevant(approved)}
    b = {rc["address"]: rc for rc in _relevant(replan)}
    diffs: list[str] = []
    for addr in sorted(set(b) - set(a)):
        diffs.append(f"{addr}: not in the approved plan ({'/'.join(b[addr]['change']['actions'])})")
    for addr in sorted(set(a) - set(b)):
        diffs.append(f"{addr}: in the approved plan but not in the re-plan")
    for addr in sorted(set(a) & set(b)):
        ca, cb = a[addr]["change"], b[addr]["change"]
        if list(ca.get("actions") or []) != list(cb.get("actions") or []):
            diffs.append(
                f"{addr}: action changed from {'/'.join(ca['actions'])} to {'/'.join(cb['actions'])}"
            )
            continue
        paths = list(
            _known_diffs(
                ca.get("after"), ca.get("after_unknown"), cb.get("after"), cb.get("after_unknown"), ""
            )
        )
        diffs += [f"{addr}: {p or 'value'} differs from the approved plan" for p in paths]
    return diffs


def _known_diffs(
    av: JSONValue | None, au: JSONValue | None, bv: JSONValue | None, bu: JSONValue | None, path: str
) -> Iterable[str]:
    if au is True or is_placeholder(av):
        return
    if bu is True:
        yield path
        return
    if isinstance(av, dict) and isinstance(bv, dict):
        for k in sorted(set(av) | set(bv)):
            sub_au = au.get(k) if isinstance(au, dict) else None
            sub_bu = bu.get(k) if isinstance(bu, dict) else None
            if k not in av:
                if sub_au is True:
                    continue
                yield _join(path, k)
                continue
            yield from _known_diffs(av.get(k), sub_au, bv.get(k), sub_bu, _join(path, k))
        return
    if isinstance(av, list) and isinstance(bv, list):
        if len(av) != len(bv):
            if not _contains_unknown(av, au):
                yield path
            return
        for i, (x, y) in enumerate(zip(av, bv, strict=True)):
            sub_au = au[i] if isinstance(au, list) and i < len(au) else None
            sub_bu = bu[i] if isinstance(bu, list) and i < len(bu) else None
            yield from _known_diffs(x, sub_au, y, sub_bu, f"{path}[{i}]")
        return
    if av != bv:
        yield path


def _contains_unknown(value: JSONValue | None, mask: JSONValue | None) -> bool:
    if _has_unknown(mask) or is_placeholder(value):
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v, None) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v, None) for v in value)
    return False


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)
