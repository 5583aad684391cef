"""The stack dependency graph (networkx), built from depends_on, inputs and remote state.

An edge runs from an upstream stack to the stack that depends on it, so a topological
order is the run order. Every edge records why it exists. Order is deterministic:
topological, ties broken by id.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import networkx as nx

from orchestrator.backends import StateKey, stack_state_key, state_key
from orchestrator.config import input_source
from orchestrator.discovery import Discovery, Stack
from orchestrator.errors import GraphError
from orchestrator.hcl import Unresolved
from orchestrator.yamlfile import line_of

EdgeKind = Literal["depends_on", "inputs", "remote_state"]


@dataclass(frozen=True)
class EdgeReason:
    kind: EdgeKind
    detail: str  # 'inputs': the variable; 'remote_state': data.terraform_remote_state.<name>
    # file[:line]; for stack.yaml entries the line is looked up only when asked for (YAML
    # composition with marks costs ~0.4 ms a file, too much to pay for every `list`).
    location: str | tuple[str, str, tuple[int | str, ...]]

    @property
    def where(self) -> str:
        if isinstance(self.location, str):
            return self.location
        path, shown, loc = self.location
        return _line_in(path, shown, loc)

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, "where": self.where}


@dataclass
class StackGraph:
    """Stacks and their dependency edges. Pure: no I/O after construction."""

    stacks: dict[str, Stack]
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)

    # ---------------------------------------------------------------- queries

    @cached_property
    def order(self) -> list[str]:
        """All stack ids in run order: by level, ties broken by id (a topological order)."""
        levels = self.levels
        return sorted(self.graph.nodes, key=lambda s: (levels[s], s))

    @cached_property
    def levels(self) -> dict[str, int]:
        """0 for stacks without dependencies, else 1 + the highest level among them."""
        level: dict[str, int] = {}
        for sid in nx.lexicographical_topological_sort(self.graph):
            preds = list(self.graph.predecessors(sid))
            level[sid] = 1 + max(level[p] for p in preds) if preds else 0
        return level

    def dependencies(self, sid: str) -> list[str]:
        return sorted(self.graph.predecessors(sid))

    def dependents(self, sid: str) -> list[str]:
        return sorted(self.graph.successors(sid))

    def reasons(self, upstream: str, downstream: str) -> list[EdgeReason]:
        return list(self.graph.edges[upstream, downstream]["reasons"])

    def downstream_of(self, ids: Iterable[str]) -> set[str]:
        """Every stack that depends, directly or not, on one of ``ids`` (excluding them)."""
        out: set[str] = set()
        for sid in ids:
            out |= nx.descendants(self.graph, sid)
        return out - set(ids)

    def upstream_of(self, ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for sid in ids:
            out |= nx.ancestors(self.graph, sid)
        return out - set(ids)

    def ordered(self, ids: Iterable[str]) -> list[str]:
        """``ids`` in run order."""
        wanted = set(ids)
        return [s for s in self.order if s in wanted]

    def subgraph(self, ids: Iterable[str]) -> StackGraph:
        keep = set(ids)
        sub = StackGraph({k: v for k, v in self.stacks.items() if k in keep})
        sub.graph = self.graph.subgraph(keep).copy()
        return sub

    def edges(self) -> list[tuple[str, str, list[EdgeReason]]]:
        return sorted((u, v, list(d["reasons"])) for u, v, d in self.graph.edges(data=True))

    def critical_path_lengths(self, weights: dict[str, float] | None = None) -> dict[str, float]:
        """For each stack, the longest weighted path from it to a sink (itself included)."""
        w = weights or {}
        out: dict[str, float] = {}
        for sid in reversed(list(nx.lexicographical_topological_sort(self.graph))):
            tail = max((out[s] for s in self.graph.successors(sid)), default=0.0)
            out[sid] = w.get(sid, 1.0) + tail
        return out


# ---------------------------------------------------------------- construction


@lru_cache(maxsize=4096)
def _line_in(directory: str, shown: str, loc: tuple[int | str, ...]) -> str:
    try:
        text = Path(directory, "stack.yaml").read_text(encoding="utf-8")
    except OSError:
        return shown
    line = line_of(text, list(loc))
    return f"{shown}:{line}" if line else shown


def _line(stack: Stack, loc: list[int | str]) -> str:
    return _line_in(str(stack.dir), stack.config_file, tuple(loc))


def _lazy(stack: Stack, loc: list[int | str]) -> tuple[str, str, tuple[int | str, ...]]:
    return (str(stack.dir), stack.config_file, tuple(loc))


def _unknown(stack: Stack, missing: str, loc: list[int | str], known: Iterable[str], what: str) -> GraphError:
    close = difflib.get_close_matches(missing, list(known), n=1)
    hint = (
        f"Did you mean '{close[0]}'?" if close else "Check the id: `orchestrate list` shows every stack id."
    )
    return GraphError(
        f"stack '{stack.id}' {what} unknown stack '{missing}'",
        where=_line(stack, loc),
        hint=hint,
    )


def _cycle_error(graph: nx.DiGraph) -> GraphError:
    cycle_edges = nx.find_cycle(graph)
    nodes = [u for u, _ in cycle_edges]
    # Report in "depends on" direction, starting from the smallest id, for a stable message.
    nodes = list(reversed(nodes))
    start = nodes.index(min(nodes))
    nodes = nodes[start:] + nodes[:start]
    text = " -> ".join([*nodes, nodes[0]])
    first = nodes[0]
    return GraphError(
        f"dependency cycle: {text}  ('->' reads 'depends on')",
        hint=f"Remove one of these dependencies (start with the stack.yaml of '{first}').",
    )


def _add_edge(g: nx.DiGraph, upstream: str, downstream: str, reason: EdgeReason) -> None:
    """An edge ``upstream -> downstream``; a second reason for one edge is added to its list."""
    if g.has_edge(upstream, downstream):
        g.edges[upstream, downstream]["reasons"].append(reason)
    else:
        g.add_edge(upstream, downstream, reasons=[reason])


def build_graph(discovery: Discovery) -> StackGraph:
    """Build and check the graph. Raises GraphError for unknown ids and cycles."""
    stacks = discovery.stacks
    g = nx.DiGraph()
    g.add_nodes_from(sorted(stacks))

    for sid in sorted(stacks):
        stack = stacks[sid]
        for i, dep in enumerate(stack.config.depends_on):
            if dep not in stacks:
                raise _unknown(stack, dep, ["depends_on", i], stacks, "depends on")
            _add_edge(g, dep, sid, EdgeReason("depends_on", dep, _lazy(stack, ["depends_on", i])))
        for var, ref in sorted(stack.config.inputs.items()):
            up, output = input_source(ref)
            if up not in stacks:
                raise _unknown(stack, up, ["inputs", var], stacks, f"takes input '{var}' from")
            _add_edge(
                g, up, sid, EdgeReason("inputs", f"{var} <- {up}.{output}", _lazy(stack, ["inputs", var]))
            )

    for up, down, reason in _remote_state_edges(discovery):
        if up != down:
            _add_edge(g, up, down, reason)

    if not nx.is_directed_acyclic_graph(g):
        raise _cycle_error(g)
    return StackGraph(stacks, g)


def state_index(discovery: Discovery) -> dict[StateKey, str]:
    """Where each stack keeps its state -> stack id. Two stacks writing one state is an error."""
    index: dict[StateKey, str] = {}
    for sid in sorted(discovery.stacks):
        key = stack_state_key(discovery.stacks[sid], discovery.root, discovery.config)
        if key is None:
            continue
        other = index.setdefault(key, sid)
        if other != sid:
            where = ", ".join(str(k) for k in key[1:])
            raise GraphError(
                f"stacks '{other}' and '{sid}' use the same state ({key[0]}: {where}); "
                "each would overwrite the other's resources",
                where=discovery.stacks[sid].config_file,
                hint="Give each stack its own state: another backend key or prefix, or another workspace.",
            )
    return index


@dataclass(frozen=True)
class RemoteStateUse:
    """One terraform_remote_state block (one element of a for_each) and where it points."""

    stack: str
    name: str  # data.terraform_remote_state.<name>[<key>]
    file: str
    line: int
    key: StateKey | None  # None: not resolvable without terraform


def remote_state_uses(discovery: Discovery) -> list[RemoteStateUse]:
    """Every remote-state read of every stack (its modules included), resolved through
    variables, tfvars, locals, path.module and templates where possible."""
    from orchestrator.hclexpr import Scope, iterations, resolve

    out: list[RemoteStateUse] = []
    root_s = str(discovery.root)
    for sid in sorted(discovery.stacks):
        stack = discovery.stacks[sid]
        stack_dir = str(stack.dir)
        infos = [(stack.tf, None), *((m.tf, m.path) for m in stack.modules)]
        for info, module_path in infos:
            if not info.remote_states:
                continue
            own = module_path is None
            if all(_literal(rs) for rs in info.remote_states):
                # the common case: literal configs need no scope (and no relpath)
                for rs in info.remote_states:
                    key = state_key(rs.backend, rs.config, stack_dir)
                    out.append(
                        RemoteStateUse(sid, f"data.terraform_remote_state.{rs.name}", rs.file, rs.line, key)
                    )
                continue
            path_module = "." if own else _relpath(os.path.join(root_s, str(module_path)), stack_dir)
            variables = {**info.variable_defaults, **(stack.tfvars if own else {})}
            scope = Scope(variables, info.locals, path_module, stack_dir, stack.workspace or "default")
            for rs in info.remote_states:
                label = f"data.terraform_remote_state.{rs.name}"
                if rs.for_each is None:
                    out.append(
                        _use(
                            sid, label, rs, resolve(rs.config, scope), resolve(rs.workspace, scope), stack_dir
                        )
                    )
                    continue
                pairs = iterations(rs.for_each, scope)
                if pairs is None:
                    out.append(RemoteStateUse(sid, label, rs.file, rs.line, None))
                    continue
                for k, v in pairs:
                    scope.each = (k, v)
                    config, ws = resolve(rs.config, scope), resolve(rs.workspace, scope)
                    out.append(_use(sid, f"{label}[{json_key(k)}]", rs, config, ws, stack_dir))
                scope.each = None
    return out


def _literal(rs: Any) -> bool:
    return (
        rs.for_each is None
        and rs.workspace is None
        and not any(isinstance(v, Unresolved | dict | list) for v in rs.config.values())
    )


def json_key(k: Any) -> str:
    import json

    return json.dumps(k)


def _relpath(path: str, start: str) -> str:
    return os.path.relpath(path, start).replace(os.sep, "/")


def _use(sid: str, label: str, rs: Any, config: Any, workspace: Any, base: str) -> RemoteStateUse:
    ws = workspace if isinstance(workspace, str) else None
    if workspace is not None and ws is None:
        return RemoteStateUse(sid, label, rs.file, rs.line, None)
    key = state_key(rs.backend, config if isinstance(config, dict) else {}, base, ws)
    return RemoteStateUse(sid, label, rs.file, rs.line, key)


def _remote_state_edges(discovery: Discovery) -> list[tuple[str, str, EdgeReason]]:
    index = state_index(discovery)
    out: list[tuple[str, str, EdgeReason]] = []
    for use in remote_state_uses(discovery):
        upstream = index.get(use.key) if use.key is not None else None
        if upstream is not None:
            out.append((upstream, use.stack, EdgeReason("remote_state", use.name, f"{use.file}:{use.line}")))
    return out


def unresolved_remote_states(discovery: Discovery) -> list[str]:
    """Warnings for remote-state sources that match no stack (for validate)."""
    index = state_index(discovery)
    warnings = []
    for use in remote_state_uses(discovery):
        if use.key is None:
            warnings.append(
                f"{use.file}:{use.line}: {use.name} has a config orchestrate cannot evaluate, so it "
                "cannot infer which stack it reads; add depends_on to the reading stack if it is one"
            )
        elif use.key not in index:
            warnings.append(
                f"{use.file}:{use.line}: {use.name} reads state that no stack in this repository writes"
            )
    return warnings


def remote_state_summary(discovery: Discovery) -> dict[str, int]:
    """How many remote-state reads resolve to a state, and to a stack of this repository."""
    index = state_index(discovery)
    uses = remote_state_uses(discovery)
    return {
        "blocks": len(uses),
        "resolved": sum(1 for u in uses if u.key is not None),
        "matched": sum(1 for u in uses if u.key is not None and u.key in index),
    }


def check_inputs(graph: StackGraph) -> list[str]:
    """Warnings for inputs whose upstream output or downstream variable is not declared."""
    out = []
    for sid in graph.order:
        stack = graph.stacks[sid]
        variables = stack.tf.variables
        for var, ref in sorted(stack.config.inputs.items()):
            up, output = input_source(ref)
            if output not in graph.stacks[up].tf.outputs:
                out.append(
                    f"{stack.config_file}: input '{var}' reads output '{output}' that '{up}' does not declare"
                )
            if variables and var not in variables:
                out.append(f"{stack.config_file}: input '{var}' sets a variable the stack does not declare")
    return out
