"""The drift scan: states in, live reads per scope, comparison, unmanaged, one report out.

1. Decide each stack's mode: ``api`` needs a cloud target of a supported provider; a stack
   without one (or ``--mode refresh``) is refreshed through terraform.
2. Read the states (local and S3 directly, others via ``terraform state pull``), concurrently.
   For unmanaged detection the states of unscanned stacks are read too: a resource is
   unmanaged only when *no* stack's state holds it (SPEC §8).
3. Group the scanned stacks' targets into scopes (AWS account+region, GCP project, Azure
   subscription), and per scope read every supported type once: a batched list, with the
   managed resources' attributes.
4. Compare each managed resource, apply the ignore rules, collect unmanaged resources.

Anything that could not be read makes the stack ``error`` (or the report ``incomplete``),
never ``clean``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from orchestrator.backends import effective_backend
from orchestrator.clouds import EmulateState, ResolvedTarget, resolve_target, s3_state_endpoint
from orchestrator.discovery import Stack
from orchestrator.drift.compare import compare
from orchestrator.drift.driftignore import IgnoreRules, load_driftignore, resource_from_address, stack_rules
from orchestrator.drift.model import (
    Changed,
    Coverage,
    DriftReport,
    LiveResource,
    Missing,
    Mode,
    Resource,
    StackDrift,
    Unmanaged,
    Via,
)
from orchestrator.drift.refresh import RefreshResult, merge
from orchestrator.drift.retry import RetryPolicy
from orchestrator.drift.state import StateError, StateNotFound, StateSnapshot, locate, read_state
from orchestrator.engine.source import head_commit
from orchestrator.errors import CloudError, Interrupted, OrchestratorError
from orchestrator.workspace import Workspace

SUPPORTED_PROVIDERS = ("aws", "gcp", "azure")


class Reader(Protocol):
    """What the scan needs from a cloud reader (aws.AwsReader, gcp.GcpReader, azure.AzureReader)."""

    provider: str
    where: str

    def scope_id(self) -> tuple[str, ...]: ...
    def read_id(self, rtype: str) -> tuple[str, ...]: ...
    def supports(self, rtype: str) -> bool: ...
    def route(self, resource: Resource) -> Reader: ...
    def listed_types(self) -> tuple[str, ...]: ...
    def state_key(self, resource: Resource) -> str | None: ...
    def read(self, rtype: str, want: Mapping[str, Mapping[str, Any]]) -> dict[str, LiveResource]: ...


ReaderFactory = Callable[[ResolvedTarget], Reader]
RefreshFn = Callable[[Stack, Sequence[str]], RefreshResult]  # targets: () is the whole stack
PullFn = Callable[[Stack], str]


@dataclass(frozen=True)
class ScanOptions:
    mode: Mode = "api"
    strict: bool = False  # report cloud-created defaults as unmanaged too
    workers: int = 8  # concurrent state reads and cloud list calls
    refresh_workers: int = 2  # concurrent terraform refresh-only plans (terraform.parallelism)


@dataclass
class ScanIO:
    """The edges of a scan, injectable (tests and the benchmark pass their own)."""

    readers: Mapping[str, ReaderFactory] = field(default_factory=dict)  # provider -> factory
    refresh: RefreshFn | None = None
    pull: PullFn | None = None
    s3_get: Callable[..., bytes | None] | None = None
    progress: Callable[[str], None] = lambda message: None
    commit: Callable[[Path], str | None] = lambda root: head_commit(root)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


def _message(exc: OrchestratorError) -> str:
    return exc.one_line()


@dataclass
class _StackPlan:
    stack: Stack
    scanned: bool
    mode: Mode
    resolved: ResolvedTarget | None = None
    error: str | None = None
    state: StateSnapshot | None = None
    state_missing: bool = False
    reader: Reader | None = None
    uncovered: tuple[str, ...] = ()  # addresses api mode did not compare (--mode both refreshes these)


@dataclass
class _Scope:
    reader: Reader
    name: str  # the first target name reaching it (reported as "cloud")


_ReadKey = tuple[tuple[str, ...], str]  # (the reader's read id, resource type)


def _managed_keys(
    plans: Mapping[str, _StackPlan], readers: Sequence[Reader]
) -> tuple[dict[_ReadKey, set[str]], dict[str, set[str]], dict[str, list[str]]]:
    """What the stacks' states hold (pure): the keys of scanned stacks per scope they are read
    in, every other stack's keys and ids per type (for any scope of its provider), and the
    stacks whose state could not be read per provider (``*``: every provider)."""
    scoped: dict[_ReadKey, set[str]] = {}
    anywhere: dict[str, set[str]] = {}
    blind: dict[str, list[str]] = {}
    for plan in plans.values():
        if plan.state is None:
            if not plan.state_missing:
                provider = plan.resolved.provider if plan.resolved is not None else "*"
                blind.setdefault(provider, []).append(plan.stack.id)
            continue
        for res in plan.state.resources:
            if plan.scanned and plan.reader is not None and plan.reader.supports(res.type):
                routed = plan.reader.route(res)
                k = routed.state_key(res)
                if k is not None:
                    scoped.setdefault((routed.read_id(res.type), res.type), set()).add(k)
                continue
            keys = anywhere.setdefault(res.type, set())
            if res.id:
                keys.add(res.id)
            for reader in readers:
                if reader.supports(res.type):
                    k = reader.state_key(res)
                    if k:
                        keys.add(k)
                    break
    return scoped, anywhere, blind


class Scan:
    def __init__(self, ws: Workspace, stack_ids: Sequence[str], options: ScanOptions, io: ScanIO) -> None:
        self.ws = ws
        self.options = options
        self.io = io
        self.scanned = list(stack_ids)
        self.emulate: EmulateState | None = ws.emulate
        self.root_rules: IgnoreRules = load_driftignore(ws.root)
        self._progress_lock = threading.Lock()
        self.secrets: set[str] = set()
        self.failed_targets: dict[str, str] = {}  # cloud target -> why it could not be read at all
        self._s3_getters: dict[str | None, Callable[..., bytes | None]] = {}
        self.read_paths: set[tuple[str, str, str]] = set()  # (cloud target, type, API path)

    def progress(self, message: str) -> None:
        with self._progress_lock:
            self.io.progress(message)

    # -------------------------------------------------------------- 1. modes

    def _plan(self) -> dict[str, _StackPlan]:
        plans: dict[str, _StackPlan] = {}
        scanned = set(self.scanned)
        for sid, stack in self.ws.stacks.items():
            plan = _StackPlan(stack, sid in scanned, "refresh")
            if stack.cloud:
                try:
                    plan.resolved = resolve_target(self.ws.config, stack.cloud, self.emulate)
                except OrchestratorError as exc:
                    plan.error = _message(exc)
            api_capable = (
                plan.resolved is not None
                and plan.resolved.provider in SUPPORTED_PROVIDERS
                and plan.resolved.provider in self.io.readers
            )
            if self.options.mode == "refresh" or not api_capable:
                plan.mode = "refresh"
            else:
                plan.mode = self.options.mode
            plans[sid] = plan
        return plans

    # -------------------------------------------------------------- 2. states

    def _load_state(self, plan: _StackPlan) -> None:
        stack = plan.stack
        try:
            backend = effective_backend(stack, self.ws.config)
            location = locate(backend, stack.dir, self.ws.root, stack.workspace)
            pull = (lambda: self.io.pull(stack)) if self.io.pull is not None else None  # type: ignore[misc]
            plan.state = read_state(location, stack.id, s3_get=self._s3_get_for(plan), pull=pull)
            with self._progress_lock:
                self.secrets.update(plan.state.secrets)
        except StateNotFound as exc:
            plan.state_missing = True
            if plan.error is None:
                plan.error = _message(exc)
        except OrchestratorError as exc:
            plan.error = plan.error or _message(exc)

    def _s3_get_for(self, plan: _StackPlan) -> Callable[..., bytes | None] | None:
        if self.io.s3_get is not None:
            return self.io.s3_get
        from orchestrator.drift.aws import s3_state_getter

        endpoint = self._s3_endpoint(plan)
        with self._progress_lock:
            if endpoint not in self._s3_getters:
                env = self.emulate.env if self.emulate is not None else None
                self._s3_getters[endpoint] = s3_state_getter(fallback_endpoint=lambda: endpoint, env=env)
            return self._s3_getters[endpoint]

    def _s3_endpoint(self, plan: _StackPlan) -> str | None:
        """Where an S3 backend without its own endpoint is, as the engine tells terraform: the
        stack's AWS target endpoint, else any AWS target's, else the emulated AWS."""
        cloud = plan.resolved.name if plan.resolved is not None and plan.resolved.provider == "aws" else None
        return s3_state_endpoint(self.ws.config, cloud, self.emulate)

    # -------------------------------------------------------------- 3. scopes and reads

    def _scopes(self, plans: Mapping[str, _StackPlan]) -> dict[tuple[str, ...], _Scope]:
        """One reader per distinct scope the scanned api stacks reach."""
        scopes: dict[tuple[str, ...], _Scope] = {}
        by_target: dict[str, Reader | str] = {}
        for plan in plans.values():
            if not plan.scanned or plan.mode == "refresh" or plan.resolved is None:
                continue
            name = plan.resolved.name
            if name not in by_target:
                try:
                    reader = self.io.readers[plan.resolved.provider](plan.resolved)
                    scope_id = reader.scope_id()
                    if scope_id in scopes:
                        reader = scopes[scope_id].reader
                    else:
                        scopes[scope_id] = _Scope(reader, name)
                    by_target[name] = reader
                except OrchestratorError as exc:
                    by_target[name] = _message(exc)
                    self.progress(f"{name}: {exc.message}")
                    self.failed_targets[name] = _message(exc)
            got = by_target[name]
            if isinstance(got, str):
                plan.error = plan.error or got
            else:
                plan.reader = got
        return scopes

    def _read_one(
        self, reader: Reader, rtype: str, want: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, LiveResource] | CloudError:
        """One type read (in a worker thread); a cloud error is the result, not raised."""
        try:
            live = reader.read(rtype, want)
        except CloudError as exc:
            self.progress(f"{reader.where}: {rtype}: {exc.message}")
            return exc
        self.progress(f"{reader.where}: {rtype}: {len(live)} live, {len(want)} managed")
        return live

    def _read_all(
        self, scopes: Mapping[tuple[str, ...], _Scope], plans: Mapping[str, _StackPlan]
    ) -> dict[tuple[tuple[str, ...], str], dict[str, LiveResource] | CloudError]:
        """Every (read id, type) once; managed resources' state attributes passed as ``want``."""
        want: dict[tuple[tuple[str, ...], str], dict[str, Mapping[str, Any]]] = {}
        readers: dict[tuple[tuple[str, ...], str], Reader] = {}
        for scope in scopes.values():
            for rtype in scope.reader.listed_types():
                key = (scope.reader.read_id(rtype), rtype)
                readers.setdefault(key, scope.reader)
                want.setdefault(key, {})
        for plan in plans.values():
            if not plan.scanned or plan.reader is None or plan.state is None or plan.error:
                continue
            for res in plan.state.resources:
                if not plan.reader.supports(res.type):
                    continue
                reader = plan.reader.route(res)
                k = reader.state_key(res)
                if k is None:
                    continue
                key = (reader.read_id(res.type), res.type)
                readers.setdefault(key, reader)
                want.setdefault(key, {})[k] = res.attributes
        for key, reader in readers.items():
            prepare = getattr(reader, "prepare_tags", None)
            if prepare is not None and want[key]:
                prepare([key[1]])
        results: dict[tuple[tuple[str, ...], str], dict[str, LiveResource] | CloudError] = {}
        if readers:
            keys = sorted(readers)
            with ThreadPoolExecutor(max_workers=max(1, min(self.options.workers, len(readers)))) as pool:
                got = pool.map(lambda key: self._read_one(readers[key], key[1], want[key]), keys)
                results = dict(zip(keys, got, strict=True))
        # Which API read which managed type (asked after the reads: a reader may pick its path then).
        names = {id(scope.reader): scope.name for scope in scopes.values()}
        for key, reader in readers.items():
            path = getattr(reader, "read_path", None)
            if want[key] and path is not None:
                self.read_paths.add((names.get(id(reader), reader.where), key[1], path(key[1])))
        return results

    # -------------------------------------------------------------- 4. comparison

    def _ignore_rules(self, stack: Stack) -> IgnoreRules:
        entries = stack.config.drift.ignore
        return (
            self.root_rules.extended(stack_rules(entries, stack.config_file)) if entries else self.root_rules
        )

    def _compare_api(
        self,
        plan: _StackPlan,
        results: Mapping[tuple[tuple[str, ...], str], dict[str, LiveResource] | CloudError],
    ) -> StackDrift:
        stack = plan.stack
        if plan.error or plan.state is None or plan.reader is None:
            return StackDrift(stack.id, "api", error=plan.error or "the state could not be read")
        rules = self._ignore_rules(stack)
        changed: list[Changed] = []
        missing: list[Missing] = []
        unchecked: list[str] = []
        errors: list[str] = []
        covered: list[tuple[Via, str]] = []
        unread: list[str] = []  # addresses whose type could not be read
        checked = 0
        for res in plan.state.resources:
            if rules.ignores_resource(res):
                continue
            reader = plan.reader.route(res) if plan.reader.supports(res.type) else plan.reader
            key = reader.state_key(res) if reader.supports(res.type) else None
            if key is None:
                # A type the reader does not know, or an id it cannot address (an azurerm
                # data-plane id, say): listed as unchecked, never counted as clean.
                unchecked.append(res.address)
                covered.append(("none", res.type))
                continue
            got = results.get((reader.read_id(res.type), res.type))
            if isinstance(got, CloudError) or got is None:
                why = _message(got) if got is not None else "it was not read"
                errors.append(f"{res.type} could not be read: {why}")
                covered.append(("none", res.type))
                unread.append(res.address)
                continue
            checked += 1
            covered.append(("api", res.type))
            live = got.get(key)
            if live is None:
                missing.append(Missing(res.address, res.type, res.id))
                continue
            diffs = compare(
                res.type,
                res.attributes,
                live.attributes,
                sensitive=res.sensitive_paths,
                ignored=lambda path, r=res: rules.ignores_path(r, path),  # type: ignore[misc]
            )
            if diffs:
                changed.append(Changed(res.address, res.type, res.id, tuple(diffs)))
        plan.uncovered = (*unchecked, *unread)
        return StackDrift(
            stack.id,
            "api",
            error="; ".join(dict.fromkeys(errors)) or None,
            changed=tuple(changed),
            missing=tuple(missing),
            resources=checked,
            unchecked=tuple(unchecked),
            coverage=Coverage.of(covered),
        )

    def _refresh(self, plan: _StackPlan, targets: Sequence[str] = ()) -> StackDrift:
        stack = plan.stack
        if plan.mode == "refresh" and plan.error and not plan.state_missing:
            return StackDrift(stack.id, "refresh", error=plan.error)
        if self.io.refresh is None:
            return StackDrift(
                stack.id, "refresh", error="refresh mode needs terraform, which is not available"
            )
        if plan.state_missing and plan.error:
            return StackDrift(stack.id, "refresh", error=plan.error)
        try:
            result = self.io.refresh(stack, targets)
        except Interrupted:
            raise
        except OrchestratorError as exc:
            self.progress(f"{stack.id}: {exc.message}")
            return StackDrift(stack.id, "refresh", error=_message(exc))
        with self._progress_lock:
            self.secrets.update(result.secrets)
        self.progress(
            f"{stack.id}: refresh-only plan: {len(result.changed)} changed, {len(result.missing)} missing"
        )
        if not result.has_state:
            return StackDrift(
                stack.id, "refresh", error="no state: the stack has not been applied. Apply the stack first."
            )
        rules = self._ignore_rules(stack)
        changed = []
        for c in result.changed:
            res = resource_from_address(c.address, c.type, c.id)
            if rules.ignores_resource(res):
                continue
            diffs = tuple(d for d in c.diffs if not rules.ignores_path(res, d.path))
            if diffs:
                changed.append(Changed(c.address, c.type, c.id, diffs))
        missing = tuple(
            m
            for m in result.missing
            if not rules.ignores_resource(resource_from_address(m.address, m.type, m.id))
        )
        return StackDrift(
            stack.id,
            "refresh",
            changed=tuple(changed),
            missing=missing,
            resources=result.resources,
            coverage=Coverage(refresh=dict(result.types)),
        )

    # -------------------------------------------------------------- 5. unmanaged

    def _unmanaged(
        self,
        scopes: Mapping[tuple[str, ...], _Scope],
        plans: Mapping[str, _StackPlan],
        results: Mapping[tuple[tuple[str, ...], str], dict[str, LiveResource] | CloudError],
    ) -> tuple[list[Unmanaged], list[str]]:
        unmanaged: list[Unmanaged] = []
        incomplete: list[str] = []
        scoped, anywhere, blind = _managed_keys(plans, [scope.reader for scope in scopes.values()])
        for name, why in sorted(self.failed_targets.items()):
            incomplete.append(f"{name}: unmanaged resources not listed: {why}")
        seen_reads: set[tuple[tuple[str, ...], str]] = set()
        for scope_id, scope in sorted(scopes.items()):
            reader = scope.reader
            unknown = blind.get(reader.provider, []) + blind.get("*", [])
            if unknown:
                incomplete.append(
                    f"{scope.name}: unmanaged resources not listed: the state of "
                    f"{', '.join(sorted(unknown))} could not be read"
                )
                continue
            del scope_id
            failed: dict[str, list[str]] = {}  # why -> types
            for rtype in reader.listed_types():
                key = (reader.read_id(rtype), rtype)
                if key in seen_reads:
                    continue
                seen_reads.add(key)
                got = results.get(key)
                if isinstance(got, CloudError):
                    failed.setdefault(_message(got), []).append(rtype)
                    continue
                catch_all = rtype.endswith("*")  # every listed type the reader has no name for
                managed = (
                    set().union(*(keys for k, keys in scoped.items() if k[0] == key[0]))
                    if catch_all
                    else scoped.get(key, set())
                )
                for live in (got or {}).values():
                    if not live.in_scope or (live.cloud_default and not self.options.strict):
                        continue
                    elsewhere = set().union(*anywhere.values()) if catch_all else anywhere.get(rtype, set())
                    if live.key in managed or live.key in elsewhere or live.id in elsewhere:
                        continue
                    if self.root_rules.ignores_unmanaged(live.type, live.id):
                        continue
                    unmanaged.append(Unmanaged(live.type, live.id, scope.name))
            for why, types in failed.items():
                incomplete.append(f"{scope.name}: {', '.join(types)} could not be listed: {why}")
        return unmanaged, incomplete

    # -------------------------------------------------------------- the whole scan

    def run(self) -> DriftReport:
        started = self.io.now()
        plans = self._plan()
        scanned = [plans[s] for s in self.scanned]
        uses_api = any(p.mode != "refresh" for p in scanned)
        providers = {p.resolved.provider for p in scanned if p.mode != "refresh" and p.resolved is not None}
        # States are needed for api comparison, and (for unmanaged detection) of every stack
        # that may hold resources in the scanned scopes. Refresh alone reads state through terraform.
        to_load = [
            p
            for p in plans.values()
            if (p.scanned and p.mode != "refresh")
            or (uses_api and (p.resolved is None or p.resolved.provider in providers))
        ]
        if to_load:
            self.progress(f"reading the state of {len(to_load)} stack{'s' if len(to_load) != 1 else ''}")
            with ThreadPoolExecutor(max_workers=max(1, min(self.options.workers, len(to_load)))) as pool:
                list(pool.map(self._load_state, to_load))
        scopes = self._scopes(plans)
        results = self._read_all(scopes, plans)
        compared = {p.stack.id: self._compare_api(p, results) for p in scanned if p.mode != "refresh"}
        refreshed = self._refresh_all(scanned, compared)
        stacks: list[StackDrift] = []
        for plan in scanned:
            sid = plan.stack.id
            if plan.mode == "refresh":
                stacks.append(refreshed[sid])
            elif plan.mode == "api":
                stacks.append(compared[sid])
            elif sid in refreshed:
                stacks.append(merge(compared[sid], refreshed[sid]))
            else:  # --mode both with every resource compared by the api readers: nothing to refresh
                stacks.append(replace(compared[sid], mode="both"))
        unmanaged, incomplete = self._unmanaged(scopes, plans, results)
        return DriftReport(
            scanned_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            commit=self.io.commit(self.ws.root),
            stacks=tuple(stacks),
            unmanaged=tuple(unmanaged),
            incomplete=tuple(incomplete),
            read_paths=tuple(sorted(self.read_paths)),
        )

    def _refresh_all(
        self, scanned: list[_StackPlan], compared: Mapping[str, StackDrift]
    ) -> dict[str, StackDrift]:
        """Refresh-mode stacks whole; in --mode both only what the api readers did not compare
        (the whole stack when its state could not be read directly)."""
        jobs: list[tuple[_StackPlan, tuple[str, ...]]] = []
        for plan in scanned:
            if plan.mode == "refresh":
                jobs.append((plan, ()))
            elif plan.mode == "both":
                if plan.state is None or plan.reader is None or plan.error:
                    jobs.append((plan, ()))
                elif plan.uncovered:
                    jobs.append((plan, plan.uncovered))
        refreshed: dict[str, StackDrift] = {}
        if not jobs:
            return refreshed
        self.progress(f"terraform plan -refresh-only in {len(jobs)} stack{'s' if len(jobs) != 1 else ''}")
        workers = max(1, min(self.options.refresh_workers, len(jobs)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for (plan, _), result in zip(jobs, pool.map(lambda j: self._refresh(*j), jobs), strict=True):
                refreshed[plan.stack.id] = result
        return refreshed


def scan(
    ws: Workspace, stack_ids: Sequence[str], options: ScanOptions, io: ScanIO
) -> tuple[DriftReport, set[str]]:
    """Scan the stacks; returns the report and the sensitive values found in the states."""
    s = Scan(ws, stack_ids, options, io)
    report = s.run()
    return report, s.secrets


__all__ = ["RetryPolicy", "ScanIO", "ScanOptions", "StateError", "scan"]
