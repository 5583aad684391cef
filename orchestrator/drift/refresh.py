"""``--mode refresh``: a refresh-only plan's ``resource_drift`` mapped into the drift report (pure),
and the merge of the api and refresh results for ``--mode both``.

Terraform (through orchestrator.terraform) does the reading: ``terraform plan -refresh-only``
asks every provider for the live object, and ``show -json`` lists under ``resource_drift``
each resource whose refreshed object differs from the state: ``update`` (changed) or
``delete`` (gone). Diffs are computed from ``before`` (state) and ``after`` (live) with the
same normalisation as api mode; values either side marks sensitive are masked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.discovery import Stack
from orchestrator.drift.compare import compare, norm_scalar, spec_for
from orchestrator.drift.model import AttrPath, Changed, Coverage, Diff, Missing, StackDrift
from orchestrator.jsontypes import JSONData, JSONValue
from orchestrator.redact import MASK, sensitive_values
from orchestrator.terraform.planjson import PlanJSON, ValuesModule, plan_from_terraform

if TYPE_CHECKING:
    from orchestrator.engine.context import Engine


@dataclass(frozen=True)
class RefreshResult:
    changed: tuple[Changed, ...]
    missing: tuple[Missing, ...]
    resources: int  # managed resource instances checked
    has_state: bool  # False: the plan had no prior state (the stack was never applied)
    secrets: frozenset[str] = frozenset()  # values the plan marks sensitive
    types: Mapping[str, int] = field(default_factory=dict)  # resources checked, per type


def mask_paths(mask: JSONData, path: AttrPath = ()) -> list[AttrPath]:
    """Paths where terraform's *_sensitive structure is true."""
    if mask is True:
        return [path]
    out: list[AttrPath] = []
    if isinstance(mask, Mapping):
        for k, v in mask.items():
            out += mask_paths(v, (*path, k))
    elif isinstance(mask, list | tuple):
        for i, v in enumerate(mask):
            out += mask_paths(v, (*path, i))
    return out


def generic_diff(before: JSONData, after: JSONData, path: AttrPath = ()) -> list[Diff]:
    """Differences between two provider-shaped values; lists that differ are reported whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Diff] = []
        for key in sorted(set(before) | set(after)):
            out += generic_diff(before.get(key), after.get(key), (*path, key))
        return out
    if isinstance(before, list) or isinstance(after, list):
        return [] if (before or []) == (after or []) else [Diff(path, before, after)]
    return [] if norm_scalar(before) == norm_scalar(after) else [Diff(path, before, after)]


def _drop_tags_all_echo(diffs: list[Diff]) -> list[Diff]:
    """A tag change shows in ``tags`` and again in ``tags_all``; keep the first unless only tags_all moved."""
    tag_paths = {d.path[1:]: d for d in diffs if d.path[:1] == ("tags",)}
    out = []
    for d in diffs:
        if d.path[:1] == ("tags_all",):
            twin = tag_paths.get(d.path[1:])
            if twin is not None and twin.expected == d.expected and twin.actual == d.actual:
                continue
        out.append(d)
    return out


def drift_diffs(
    rtype: str, before: Mapping[str, Any], after: Mapping[str, Any], sensitive: list[AttrPath]
) -> list[Diff]:
    spec = spec_for(rtype)
    if spec is not None:
        covered = {a.name for a in spec} | {"tags_all"}
        diffs = compare(rtype, before, after, sensitive=sensitive)
        rest_before = {k: v for k, v in before.items() if k not in covered}
        rest_after = {k: v for k, v in after.items() if k not in covered}
        diffs += generic_diff(rest_before, rest_after)
    else:
        diffs = _drop_tags_all_echo(generic_diff(dict(before), dict(after)))
    out = []
    for d in diffs:
        if any(d.path[: len(p)] == p or p[: len(d.path)] == d.path for p in sensitive):
            d = Diff(d.path, MASK if d.expected is not None else None, MASK if d.actual is not None else None)
        out.append(d)
    return out


def _count_types(module: ValuesModule | None, into: dict[str, int]) -> dict[str, int]:
    if not module:
        return into
    for r in module.get("resources") or []:
        if r.get("mode", "managed") == "managed":
            into[str(r.get("type"))] = into.get(str(r.get("type")), 0) + 1
    for child in module.get("child_modules") or []:
        _count_types(child, into)
    return into


def _object(value: JSONValue | None) -> dict[str, JSONValue]:
    """A resource's before/after: an object, or null (taken as empty)."""
    return value if isinstance(value, dict) else {}


def from_plan(plan: PlanJSON) -> RefreshResult:
    """The drift a refresh-only plan (``terraform show -json``) reports."""
    values = (plan.get("prior_state") or {}).get("values")
    has_state = values is not None
    types = _count_types(values.get("root_module"), {}) if values is not None else {}
    changed: list[Changed] = []
    missing: list[Missing] = []
    for rd in plan.get("resource_drift") or []:
        if rd.get("mode", "managed") != "managed":
            continue
        change, actions = rd["change"], rd["change"]["actions"]
        before = _object(change.get("before"))
        rid = before.get("id")
        address, rtype = rd["address"], str(rd.get("type"))
        if "delete" in actions and not change.get("after"):
            missing.append(Missing(address, rtype, str(rid) if rid is not None else None))
        elif "update" in actions:
            after = _object(change.get("after"))
            sensitive = mask_paths(change.get("before_sensitive")) + mask_paths(change.get("after_sensitive"))
            diffs = drift_diffs(rtype, before, after, sensitive)
            if diffs:
                changed.append(Changed(address, rtype, str(rid) if rid is not None else None, tuple(diffs)))
    # A refresh-only plan's prior_state is the refreshed state: resources found gone are not in it.
    for m in missing:
        types[m.type] = types.get(m.type, 0) + 1
    return RefreshResult(
        tuple(changed),
        tuple(missing),
        sum(types.values()),
        has_state,
        frozenset(sensitive_values(plan)),
        types,
    )


def merge(api: StackDrift, refresh: StackDrift) -> StackDrift:
    """``--mode both``: one result per address; a resource gone in either is missing."""
    missing = {m.address: m for m in (*api.missing, *refresh.missing)}
    changed: dict[str, Changed] = {}
    for c in (*api.changed, *refresh.changed):
        if c.address in missing:
            continue
        if c.address not in changed:
            changed[c.address] = c
            continue
        seen = {d.path for d in changed[c.address].diffs}
        extra = tuple(d for d in c.diffs if d.path not in seen)
        first = changed[c.address]
        changed[c.address] = Changed(first.address, first.type, first.id or c.id, first.diffs + extra)
    errors = [e for e in (api.error, refresh.error) if e]
    coverage = api.coverage
    if not refresh.error:
        # What api mode could not compare, refresh did: it was sent exactly those resources,
        # or the whole stack when api mode could not read its state.
        api_total = api.coverage.to_dict()
        whole = api_total["api"] + api_total["none"] == 0
        coverage = refresh.coverage if whole else Coverage(api.coverage.api, api.coverage.none, {})
    return StackDrift(
        stack=api.stack,
        mode="both",
        error="; ".join(_unique(errors)) or None,
        changed=tuple(changed.values()),
        missing=tuple(missing.values()),
        resources=sum(coverage.api.values()) + sum(coverage.refresh.values()),
        # What api mode could not check, refresh did (unless refresh failed).
        unchecked=api.unchecked if refresh.error else (),
        coverage=coverage,
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------- running terraform (the edge)


def terraform_refresh(engine: Engine) -> Callable[[Stack, Sequence[str]], RefreshResult]:
    """A refresh function running ``plan -refresh-only`` + ``show -json`` through the engine.

    The plan file, its JSON and the log go under the stack's work directory
    (``.orchestrate/work/<slug>/drift/``); the plan is never applied. Inputs from upstream
    stacks are read from their state outputs, as ``plan`` does for an unchanged upstream.
    ``targets`` (resource addresses) limits the refresh to them (``-target``; --mode both
    sends only what the api readers did not compare); empty means the whole stack.
    """
    from orchestrator.engine.inputs import resolve_inputs
    from orchestrator.terraform import runner as tf

    def refresh(stack: Stack, targets: Sequence[str] = ()) -> RefreshResult:
        inputs = resolve_inputs(engine.ws.graph, stack.id, {}, engine.outputs.read, lenient=False)
        engine.redactor.add_secrets(str(inputs.values[k]) for k in inputs.sensitive)
        env = engine.workdir.env(stack, inputs.values)
        work = engine.workdir.of(stack).sub("drift").dir
        work.mkdir(parents=True, exist_ok=True)
        log, plan_file, plan_json = work / "log.txt", work / "refresh.tfplan", work / "refresh.json"
        log.write_text("")
        args = tf.plan_args(
            stack.dir,
            plan_file,
            var_files=stack.config.var_files,
            refresh_only=True,
            targets=targets,
            lock_timeout=engine.config.terraform.lock_timeout_arg,
        )
        engine.workdir.run(stack, args, env, log, report=False, ok_codes=(0, 2))
        engine.runner.run(
            tf.show_json_args(stack.dir, plan_file), env=env, log=log, stdout_path=plan_json, where=stack.id
        )
        doc = plan_from_terraform(plan_json.read_bytes(), where=stack.id)
        # The log was written as terraform printed it, before the plan said what is sensitive
        # (a changed output or tag built from a sensitive variable): mask it now, and in
        # everything reported from here on.
        engine.redactor.add_secrets(sensitive_values(doc, min_length=1))
        log.write_text(engine.redactor.text(log.read_text(errors="replace")))
        return from_plan(doc)

    return refresh


def terraform_pull(engine: Engine) -> Callable[[Stack], str]:
    """``terraform state pull`` through the engine (init first), for backends read no other way."""

    def pull(stack: Stack) -> str:
        state = engine.states.pull(stack.id)
        return json.dumps(state) if state else ""

    return pull
