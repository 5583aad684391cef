"""Inputs of a stack: TF_VAR values from its upstream stacks' outputs (pure given the results).

An upstream planned in the same run gives its *planned* outputs: unchanged outputs are read
from its state as usual; an output the plan changes makes the downstream *provisional*
(planned with the new value when terraform knows it, else with a placeholder and marked
unknown). An upstream outside the run gives the outputs in its state.
A downstream that reads an upstream's state through ``terraform_remote_state`` is
provisional when that upstream changes outputs, and cannot be planned at all when the
upstream's state does not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.config import input_source
from orchestrator.errors import TerraformError
from orchestrator.graph import StackGraph
from orchestrator.terraform.plan import PlannedOutput, is_placeholder, placeholder


@dataclass(frozen=True)
class UpstreamPlan:
    """What the downstream needs to know about an upstream planned in the same run."""

    status: str  # changes | no-changes | provisional
    has_plan: bool
    state_exists: bool  # whether the upstream's state existed when it was planned
    outputs: Mapping[str, PlannedOutput]


@dataclass
class ResolvedInputs:
    values: dict[str, Any] = field(default_factory=dict)
    sensitive: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    provisional_on: list[str] = field(default_factory=list)
    blocked: str | None = None  # why the stack cannot be planned yet

    def shown(self) -> dict[str, Any]:
        """For the manifest: sensitive values masked."""
        return {k: ("(sensitive)" if k in self.sensitive else v) for k, v in sorted(self.values.items())}


def resolve_inputs(
    graph: StackGraph,
    sid: str,
    in_run: Mapping[str, UpstreamPlan],
    read_state_outputs: Callable[[str], Mapping[str, PlannedOutput] | None],
    *,
    lenient: bool = False,
) -> ResolvedInputs:
    """``lenient`` (destroy plans): an output that cannot be read gets a placeholder instead
    of failing, since destroying does not depend on input values."""
    stack = graph.stacks[sid]
    out = ResolvedInputs()
    provisional: set[str] = set()
    for var, ref in sorted(stack.config.inputs.items()):
        up, name = input_source(ref)
        upstream = in_run.get(up)
        if upstream is not None and upstream.has_plan:
            if _from_plan(out, sid, var, up, name, upstream, config_file=stack.config_file):
                provisional.add(up)
        elif upstream is not None:
            # Planned in this run but without a plan (itself provisional on a missing state).
            provisional.add(up)
            out.values[var] = placeholder(var)
            out.unknown.append(var)
        else:
            _from_state(out, sid, var, up, name, read_state_outputs(up), lenient=lenient)
    waits, blocked = remote_state_waits(graph, sid, in_run)
    if blocked is not None:
        out.blocked = blocked
    out.provisional_on = sorted(provisional | waits)
    return out


def _from_plan(
    out: ResolvedInputs, sid: str, var: str, up: str, name: str, upstream: UpstreamPlan, *, config_file: str
) -> bool:
    """Input ``var`` from output ``name`` of ``up`` as planned in this run; True when that makes
    the stack provisional (the output changes, or is not known until ``up`` applies)."""
    po = upstream.outputs.get(name)
    if po is None:
        if upstream.status == "no-changes":
            raise _missing_output(sid, var, up, name, in_state=True)
        raise TerraformError(
            f"input '{var}' reads output '{name}' of '{up}', whose plan has no such output",
            where=sid,
            hint=f"Declare output \"{name}\" in '{up}' or fix inputs in {config_file}.",
        )
    unknown = not po.known or is_placeholder(po.value)
    _set(out, var, up, po, unknown)
    return po.changed or unknown


def _from_state(
    out: ResolvedInputs,
    sid: str,
    var: str,
    up: str,
    name: str,
    outputs: Mapping[str, PlannedOutput] | None,
    *,
    lenient: bool,
) -> None:
    """Input ``var`` from output ``name`` in the state of ``up`` (``outputs``; None: no state),
    an upstream outside the run; ``lenient``: a placeholder when it cannot be read."""
    po = (outputs or {}).get(name)
    if po is None and lenient:
        out.values[var] = placeholder(var)
        out.unknown.append(var)
        return
    if po is None:
        raise _missing_output(sid, var, up, name, in_state=outputs is not None)
    _set(out, var, up, po, unknown=False)


def remote_state_waits(
    graph: StackGraph, sid: str, in_run: Mapping[str, UpstreamPlan]
) -> tuple[set[str], str | None]:
    """The upstreams in this run whose state ``sid`` reads through terraform_remote_state and
    that make it provisional (their outputs change, or their state does not exist yet), and why
    ``sid`` cannot be planned yet (None: it can)."""
    waits: set[str] = set()
    blocked = None
    for up in graph.dependencies(sid):
        upstream = in_run.get(up)
        if upstream is None:
            continue
        if not any(r.kind == "remote_state" for r in graph.reasons(up, sid)):
            continue
        if not upstream.state_exists:
            rs = next(r for r in graph.reasons(up, sid) if r.kind == "remote_state")
            blocked = (
                f"reads the state of '{up}' ({rs.detail} in {rs.where}), which does not exist "
                "until it is applied"
            )
            waits.add(up)
        elif upstream.status != "no-changes" and (
            not upstream.has_plan or any(o.changed for o in upstream.outputs.values())
        ):
            waits.add(up)
    return waits, blocked


def _set(out: ResolvedInputs, var: str, up: str, po: PlannedOutput, unknown: bool) -> None:
    if unknown:
        out.values[var] = placeholder(var)
        out.unknown.append(var)
        return
    out.values[var] = po.value
    if po.sensitive:
        out.sensitive.add(var)


def _missing_output(sid: str, var: str, up: str, name: str, *, in_state: bool) -> TerraformError:
    if not in_state:
        return TerraformError(
            f"input '{var}' reads output '{name}' of '{up}', which has no state yet",
            where=sid,
            hint=f"Plan and apply '{up}' first, or include it in this run: orchestrate plan {up} {sid}",
        )
    return TerraformError(
        f"input '{var}' reads output '{name}' of '{up}', but its state has no such output",
        where=sid,
        hint=f"Declare and apply output \"{name}\" in '{up}', or fix the input in stack.yaml.",
    )
