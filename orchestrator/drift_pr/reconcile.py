"""May a drift scan put a stack's drift back itself? (``reconcile: auto``; pure).

The owners' standing approval is ``reconcile: auto`` on the default branch (a reviewed merge):
it covers restoring what Git declares, nothing more. So a remediation is applied automatically
only when every condition holds, and any failed one sends the drift to a pull request, with the
reasons:

- the stack's effective setting, read from the default branch, is ``auto``;
- no drift pull request of the stack is open (a person is already deciding);
- the stack was not reconciled automatically within ``reconcile.window`` (drifting again so
  soon means something else is changing it: a fight between controllers must not loop), and
  the records that say so could be read;
- the stack is in sync: its files on the default branch are those of its last apply on record
  (else the remediation would also apply a merged change nobody applied yet);
- nothing is missing from the cloud (putting it back would create a resource);
- the remediation plan has changes, none of them a create, a delete or a replace, each updated
  attribute is one the drift report found changed, and each drifted attribute is one it restores;
- the default branch's policies neither deny nor fail on the plan (advisory denials included).

Precedence of the setting: the stack's ``stack.yaml``, its ``stacks.projects`` entry, the last
``stacks.targets`` rule matching it, ``reconcile.environments[<its environment>]``,
``reconcile.mode``; all from the default branch's files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestrator.config import ProjectEntry, ReconcileMode, RootConfig, StackConfig
from orchestrator.discovery import Stack
from orchestrator.drift.model import StackDrift, escape_segment
from orchestrator.jsontypes import JSONData, JSONValue
from orchestrator.stackrules import matches, target_settings
from orchestrator.terraform.planjson import PlanJSON

# Attributes that mirror another one: a change to ``tags_all.owner`` is the change to ``tags.owner``.
_ALIASES = {"tags_all": "tags", "effective_labels": "labels", "terraform_labels": "labels"}
_SHOWN = 5  # addresses or paths named in one reason


@dataclass(frozen=True)
class Setting:
    mode: ReconcileMode
    source: str  # where it was read, e.g. "stacks/aws/dev/app/stack.yaml"

    def describe(self) -> str:
        return f"reconcile: {self.mode} ({self.source})"


def _project(
    root: RootConfig, path: str, stack_id: str, workspace: str | None
) -> tuple[int, ProjectEntry] | None:
    """The ``stacks.projects`` entry that lists the stack, with its index."""
    if root.stacks is None:
        return None
    for i, p in enumerate(root.stacks.projects):
        rel = "" if p.dir == "." else p.dir
        if rel == path and p.name in (None, stack_id) and p.workspace == workspace:
            return i, p
    return None


def _environment(
    root: RootConfig, own: StackConfig | None, path: str, stack_id: str, workspace: str | None
) -> str | None:
    """The stack's environment under the base's rules: declared (stack.yaml, its project entry,
    a target rule), else the one id segment naming a configured environment (docs/environments.md)."""
    if own is not None and own.environment:
        return own.environment
    if root.stacks is not None:
        listed = _project(root, path, stack_id, workspace)
        if listed is not None and listed[1].environment:
            return listed[1].environment
        env = target_settings(root.stacks.targets, path)[0].get("environment")
        if env:
            return str(env)
    found = [seg for seg in stack_id.split("/") if seg in root.environments]
    return found[0] if len(found) == 1 else None


def effective_setting(
    root: RootConfig,
    own: StackConfig | None,
    *,
    path: str,
    stack_id: str,
    workspace: str | None,
    config_name: str = "orchestrate.yaml",
    stack_yaml: str = "stack.yaml",
) -> Setting:
    """The stack's setting from the base's orchestrate.yaml (``root``) and stack.yaml (``own``)."""
    if own is not None and own.reconcile is not None:
        return Setting(own.reconcile, stack_yaml)
    if root.stacks is not None:
        listed = _project(root, path, stack_id, workspace)
        if listed is not None and listed[1].reconcile:
            return Setting(listed[1].reconcile, f"{config_name} stacks.projects[{listed[0]}]")
        chosen = None
        for i, rule in enumerate(root.stacks.targets):
            if rule.reconcile is not None and matches(rule.match, path) is not None:
                chosen = Setting(rule.reconcile, f"{config_name} stacks.targets[{i}] ({rule.match})")
        if chosen is not None:
            return chosen
    env = _environment(root, own, path, stack_id, workspace)
    if env is not None and env in root.reconcile.environments:
        return Setting(root.reconcile.environments[env], f"{config_name} reconcile.environments.{env}")
    if "mode" in root.reconcile.model_fields_set:
        return Setting(root.reconcile.mode, f"{config_name} reconcile")
    return Setting(root.reconcile.mode, "the default")


def checkout_setting(root: RootConfig, stack: Stack) -> Setting:
    """The stack's setting from the checked-out files (``drift --reconcile``: which identity scans
    it in CI, where the checkout is the default branch). Whether a drift is put back is decided
    by :func:`effective_setting` on the default branch's files, never by this."""
    return effective_setting(
        root, stack.config, path=stack.path, stack_id=stack.id, workspace=stack.workspace
    )


# ---------------------------------------------------------------- the plan against the drift


@dataclass(frozen=True)
class PlannedChange:
    address: str
    actions: tuple[str, ...]
    paths: tuple[str, ...]  # attributes it changes (updates only), as drift paths

    @property
    def kind(self) -> str:
        if "delete" in self.actions and "create" in self.actions:
            return "replace"
        if "delete" in self.actions:
            return "delete"
        if "create" in self.actions:
            return "create"
        return "update" if "update" in self.actions else "other"


def _segment(seg: str | int) -> str:
    return str(seg) if isinstance(seg, int) else escape_segment(seg)


def _leaves(value: JSONData | None, prefix: tuple[str | int, ...], out: list[tuple[str | int, ...]]) -> None:
    """Every path under ``value`` that is ``true`` (after_unknown's shape)."""
    if value is True:
        out.append(prefix)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _leaves(v, (*prefix, str(k)), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _leaves(v, (*prefix, i), out)


def diff_paths(
    before: JSONData | None, after: JSONData | None, prefix: tuple[str | int, ...] = ()
) -> list[tuple[str | int, ...]]:
    """The paths where ``before`` and ``after`` differ, as deep as both sides are containers
    (a missing or null container counts as an empty one)."""
    if before == after:
        return []
    if isinstance(before, Mapping) or isinstance(after, Mapping):
        if (before is None or isinstance(before, Mapping)) and (after is None or isinstance(after, Mapping)):
            b, a = before or {}, after or {}
            out: list[tuple[str | int, ...]] = []
            for key in sorted({*b, *a}, key=str):
                out += diff_paths(b.get(key), a.get(key), (*prefix, str(key)))
            return out
        return [prefix]
    if isinstance(before, list) or isinstance(after, list):
        if (before is None or isinstance(before, list)) and (after is None or isinstance(after, list)):
            bl, al = before or [], after or []
            out = []
            for i in range(max(len(bl), len(al))):
                out += diff_paths(
                    bl[i] if i < len(bl) else None, al[i] if i < len(al) else None, (*prefix, i)
                )
            return out
        return [prefix]
    return [prefix]


def _text(path: tuple[str | int, ...]) -> str:
    if path and isinstance(path[0], str) and path[0] in _ALIASES:
        path = (_ALIASES[path[0]], *path[1:])
    return ".".join(_segment(p) for p in path)


def planned_changes(plan_json: PlanJSON) -> list[PlannedChange]:
    """The plan's managed resource changes other than no-ops, with the attributes updates touch
    (values that become unknown count as changed)."""
    out = []
    for rc in plan_json.get("resource_changes") or []:
        if rc.get("mode", "managed") != "managed":
            continue
        change = rc["change"]
        actions = tuple(change["actions"])
        if actions in ((), ("no-op",), ("read",)):
            continue
        raw = diff_paths(change.get("before"), change.get("after"))
        _leaves(change.get("after_unknown"), (), raw)
        paths = tuple(sorted({_text(p) for p in raw}))
        out.append(PlannedChange(rc["address"], actions, paths))
    return out


def drifted_paths(entry: StackDrift) -> dict[str, set[str]]:
    """address -> the attribute paths the drift report found changed."""
    out: dict[str, set[str]] = {}
    for c in entry.changed:
        out.setdefault(c.address, set()).update(d.path_text for d in c.diffs)
    return out


def _covered(path: str, drifted: set[str]) -> bool:
    """``path`` is a drifted attribute or lies inside one (the report names ``ingress``, the plan
    ``ingress.1.cidr_blocks.0``)."""
    return any(path == d or path.startswith(d + ".") for d in drifted)


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def plan_reasons(
    entry: StackDrift,
    plan_status: str,
    changes: Sequence[PlannedChange],
    policy: Mapping[str, JSONValue] | None,
    *,
    policies_expected: bool = False,
) -> list[str]:
    """Why the remediation plan may not be applied automatically (empty: it may).
    ``policies_expected``: the base has policy files, so a plan without a policy result was not
    checked (never taken as passing)."""
    if plan_status != "changes":
        return [f"the remediation plan is {plan_status}: terraform would not put the drift back by itself"]
    reasons = []
    by_kind: dict[str, list[str]] = {}
    for c in changes:
        by_kind.setdefault(c.kind, []).append(c.address)
    for kind, verb in (
        ("replace", "replaces"),
        ("delete", "destroys"),
        ("create", "creates"),
        ("other", "acts on"),
    ):
        if by_kind.get(kind):
            reasons.append(f"the remediation {verb} {_names(by_kind[kind])}")
    drifted = drifted_paths(entry)
    extra = []
    for c in changes:
        if c.kind != "update":
            continue
        if c.address not in drifted:
            extra.append(f"{c.address} (not drifted)")
            continue
        extra += [f"{c.address}: {p}" for p in c.paths if not _covered(p, drifted[c.address])]
    if extra:
        reasons.append(f"the remediation changes attributes that did not drift: {_names(extra)}")
    # "reconciled" must mean the drift is gone: every drifted attribute is one the plan restores
    # (terraform may ignore one: ignore_changes, or a value it normalises differently).
    planned = {c.address: c.paths for c in changes if c.kind == "update"}
    left = [
        f"{address}: {d}"
        for address, paths in sorted(drifted.items())
        for d in sorted(paths)
        if not any(p == d or p.startswith(d + ".") or d.startswith(p + ".") for p in planned.get(address, ()))
    ]
    if left and changes and all(c.kind == "update" for c in changes):
        reasons.append(f"the remediation plan would not put back {_names(left)}")
    if not changes:
        reasons.append("the remediation plan changes no resource")
    if policy is None and policies_expected:
        reasons.append("the default branch's policies were not evaluated on the remediation plan")
    if policy is not None:
        if policy.get("errors"):
            reasons.append("the default branch's policies could not be evaluated on the remediation plan")
        elif policy.get("denied") or policy.get("blocking"):
            reasons.append("the default branch's policies deny the remediation plan")
    return reasons


# ---------------------------------------------------------------- before planning


@dataclass(frozen=True)
class LastReconcile:
    """The newest automatic apply of a stack on record."""

    time: str
    record: str


def _parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def scan_reasons(
    setting: Setting,
    entry: StackDrift,
    *,
    open_pull: int | None,
    last: LastReconcile | None,
    records_error: str | None,
    sync: str | None,
    window: str,
    window_seconds: float,
    now: datetime,
) -> list[str]:
    """Why a drifted stack may not be reconciled automatically, before anything is planned
    (empty: plan it and judge the plan)."""
    if setting.mode != "auto":
        return [setting.describe()]
    if entry.status != "drifted":
        return [f"the stack is {entry.status}, not drifted"]
    reasons = []
    if open_pull is not None:
        reasons.append(f"a drift pull request is already open (#{open_pull}): a person decides")
    if records_error is not None:
        reasons.append(
            f"the apply records could not be read ({records_error}), so the window cannot be checked"
        )
    elif last is not None:
        when = _parse_time(last.time)
        if when is None or now - when < timedelta(seconds=window_seconds):
            reasons.append(
                f"it was reconciled automatically at {last.time} (record {last.record}) and drifted again "
                f"within reconcile.window ({window}): something else keeps changing it"
            )
    if sync is not None and sync != "in-sync":
        reasons.append(
            f"the stack is {sync}: its code on the default branch is not the code last applied, so the "
            "remediation would apply what nobody approved yet"
        )
    missing = sorted(m.address for m in entry.missing)
    if missing:
        reasons.append(f"resources missing from the cloud would be created: {_names(missing)}")
    return reasons
