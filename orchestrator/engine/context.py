"""What one command shares across stacks: the binary, the runner, locks, progress, and the
per-stack environment, backend and ``init``.

Per stack, terraform's working data lives under ``.orchestrate/work/<slug>/`` (TF_DATA_DIR),
never in the stack directory. ``init`` is skipped when a fingerprint of what it depends on
(terraform version, backend settings, required providers, module sources, the dependency
lock file, the CLI configuration) equals the one recorded after the last successful init.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.backends import effective_backend, state_base, state_key
from orchestrator.clouds import EmulateState, read_emulate_state, resolve_target, stack_terraform_env
from orchestrator.config import AwsTarget
from orchestrator.discovery import STATE_DIR, Stack
from orchestrator.errors import ConfigError, TerraformError
from orchestrator.fileio import write_if_changed
from orchestrator.locks import StackLocks
from orchestrator.progress import Progress, QuietProgress
from orchestrator.redact import Redactor
from orchestrator.terraform import runner as tf
from orchestrator.terraform.backend import BackendSetup, backend_setup, sync_override
from orchestrator.terraform.binary import TerraformBinary, locate
from orchestrator.terraform.cachelock import PluginCacheLock
from orchestrator.terraform.plan import PlannedOutput, outputs_from_output_json
from orchestrator.workspace import Workspace

WORK_DIR = Path(STATE_DIR) / "work"
PLUGIN_CACHE = Path(STATE_DIR) / "plugin-cache"
LOCK_FILE_NAME = ".terraform.lock.hcl"
# Variables that would silently change what terraform does under orchestrate's feet.
_DROPPED_ENV_PREFIXES = ("TF_CLI_ARGS",)
_DROPPED_ENV = {"TF_DATA_DIR", "TF_WORKSPACE_DIR"}


@dataclass
class StackWork:
    """Paths under .orchestrate/work/<slug>/ for one stack."""

    dir: Path

    @property
    def data_dir(self) -> Path:
        return self.dir / ".terraform"

    @property
    def backend_file(self) -> Path:
        return self.dir / "backend.hcl"

    @property
    def init_record(self) -> Path:
        return self.dir / "init.json"

    @property
    def timings(self) -> Path:
        return self.dir / "timings.json"


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "-"


@dataclass
class Engine:
    ws: Workspace
    binary: TerraformBinary
    progress: Progress = field(default_factory=QuietProgress)
    cancel: tf.CancelToken = field(default_factory=tf.CancelToken)
    owner: str | None = None
    base_env: Mapping[str, str] | None = None  # defaults to os.environ at construction

    def __post_init__(self) -> None:
        self.root = self.ws.root
        self.config = self.ws.config
        self.emulate: EmulateState | None = read_emulate_state(self.root)
        self.redactor = Redactor(self.config.redact)
        self.cache_lock: PluginCacheLock | None = None
        if self.config.terraform.plugin_cache:
            self.cache_lock = PluginCacheLock(self.root / PLUGIN_CACHE / ".lock")
        self.runner = tf.Runner(
            self.binary,
            self.redactor,
            self.cancel,
            timeout=self.config.terraform.timeout_seconds,
            guard=self.cache_lock.for_command if self.cache_lock is not None else None,
        )
        self.locks = StackLocks(self.root, owner=self.owner)
        self._init_locks: dict[str, threading.Lock] = {}
        self._read_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._outputs_cache: dict[str, dict[str, PlannedOutput] | None] = {}
        env = dict(os.environ if self.base_env is None else self.base_env)
        for k in list(env):
            if k in _DROPPED_ENV or k.startswith(_DROPPED_ENV_PREFIXES):
                del env[k]
        self._base = env

    @classmethod
    def create(
        cls, ws: Workspace, *, progress: Progress | None = None, base_env: Mapping[str, str] | None = None
    ) -> Engine:
        t = ws.config.terraform
        binary = locate(t.binary, t.version)
        return cls(ws, binary, progress or QuietProgress(), base_env=base_env)

    @property
    def parallelism(self) -> int:
        return self.config.terraform.effective_parallelism

    def pool_limits(self) -> dict[str, int]:
        return {name: t.max_parallel for name, t in self.config.clouds.items() if t.max_parallel}

    def stack(self, sid: str) -> Stack:
        return self.ws.stacks[sid]

    def work(self, stack: Stack) -> StackWork:
        return StackWork(self.root / WORK_DIR / stack.slug)

    # ------------------------------------------------------------ environment

    def stack_env(self, stack: Stack, variables: Mapping[str, Any] | None = None) -> dict[str, str]:
        """A fresh environment for terraform in this stack (os.environ is never changed)."""
        layers: list[Mapping[str, str]] = [stack_terraform_env(self.config, stack.cloud, self.emulate)]
        own = {"TF_DATA_DIR": str(self.work(stack).data_dir)}
        if stack.workspace:
            # every terraform command of the stack (init, plan, apply, state pull) uses its workspace
            own["TF_WORKSPACE"] = stack.workspace
        if self.config.terraform.plugin_cache:
            cache = self.root / PLUGIN_CACHE
            cache.mkdir(parents=True, exist_ok=True)
            own["TF_PLUGIN_CACHE_DIR"] = str(cache)
        for name, value in (variables or {}).items():
            own[f"TF_VAR_{name}"] = tf_var_value(value)
        layers.append(own)
        return tf.compose_env(self._base, *layers)

    def effective_config(self, stack: Stack) -> dict[str, str]:
        """Digests of what decides where and how the stack applies (engine.effective)."""
        from orchestrator.engine.effective import effective_parts

        return effective_parts(self.config, stack, self.emulate, self._base)

    # ------------------------------------------------------------ backend and init

    def backend(self, stack: Stack) -> BackendSetup:
        eb = effective_backend(stack, self.config)
        endpoint: str | None = None
        if eb.type == "s3":
            endpoint = self._s3_endpoint(stack)
        return backend_setup(
            eb,
            root=self.root,
            s3_endpoint=endpoint,
            new_style_s3=self.binary.s3_endpoints_block,
            declared_in_code=stack.tf.backend is not None,
        )

    def _s3_endpoint(self, stack: Stack) -> str | None:
        """The endpoint of the stack's AWS target; else of any AWS target (the state bucket
        serves every stack); else the emulated AWS endpoint while emulation is up."""
        names = [stack.cloud] if stack.cloud else []
        names += sorted(n for n, t in self.config.clouds.items() if isinstance(t, AwsTarget))
        for name in names:
            target = self.config.clouds.get(name)
            if isinstance(target, AwsTarget):
                resolved = resolve_target(self.config, name, self.emulate)
                if resolved.endpoint:
                    return resolved.endpoint
        if self.emulate is not None:
            return self.emulate.endpoints.get("aws")
        return None

    def state_location(self, stack: Stack) -> list[Any] | None:
        eb = effective_backend(stack, self.config)
        key = state_key(eb.type, eb.config, state_base(eb, self.root, stack.dir))
        return list(key) if key is not None else None

    def _init_lock(self, slug: str) -> threading.Lock:
        with self._guard:
            return self._init_locks.setdefault(slug, threading.Lock())

    def init_fingerprint(self, stack: Stack, setup: BackendSetup, env: Mapping[str, str]) -> str:
        """What a successful init depends on; equal fingerprints mean init may be skipped."""
        infos = [stack.tf, *(m.tf for m in stack.modules)]
        providers: set[str] = set()
        modules: set[tuple[str, str]] = set()
        for info in infos:
            providers.update(f"{k}={v}" for k, v in info.required_providers.items())
            providers.update(
                d.type.split("_", 1)[0]
                for d in info.declarations
                if d.kind in ("resource", "data") and d.type
            )
            modules.update((m.name, m.source or "") for m in info.modules)
        cli_config = env.get("TF_CLI_CONFIG_FILE", "")
        doc = {
            "binary": [self.binary.path, str(self.binary.version)],
            "backend": [setup.type, setup.config_text(), setup.override],
            "providers": sorted(providers),
            "modules": sorted(modules),
            "lock_file": _file_digest(stack.dir / LOCK_FILE_NAME),
            "cli_config": [cli_config, _file_digest(Path(cli_config)) if cli_config else "-"],
            "plugin_cache": env.get("TF_PLUGIN_CACHE_DIR", ""),
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def ensure_init(
        self,
        stack: Stack,
        env: Mapping[str, str],
        log: Path | None,
        *,
        force: bool = False,
        report: bool = True,
    ) -> bool:
        """Run ``terraform init`` unless nothing it depends on changed. Returns True when it ran."""
        work = self.work(stack)
        with self._init_lock(stack.slug):
            setup = self.backend(stack)
            sync_override(stack.dir, setup)
            work.dir.mkdir(parents=True, exist_ok=True)
            write_if_changed(work.backend_file, setup.config_text())
            fingerprint = self.init_fingerprint(stack, setup, env)
            record = read_json(work.init_record)
            location = self.state_location(stack)
            if not force and record.get("fingerprint") == fingerprint and work.data_dir.is_dir():
                return False
            previous = record.get("state")
            if previous is not None and location is not None and previous != location:
                raise ConfigError(
                    f"the stack's state location changed since the last init ({_show_key(previous)} -> "
                    f"{_show_key(location)}); orchestrate does not move state by itself",
                    where=stack.id,
                    hint=f"Move the state with `{self.command_hint(stack, 'init -migrate-state')}`, "
                    f"or delete {work.init_record} if the new location is meant to start empty.",
                )
            if report:
                self.progress.phase(stack.id, "init")
            # A failed or interrupted init leaves the data dir half-done: drop the fingerprint
            # first (keeping the state location, which guards against silent state moves).
            write_if_changed(work.init_record, json.dumps({"state": location}, indent=2) + "\n")
            # -reconfigure: backend settings such as an emulated endpoint's port may change
            # between runs; the state location itself is guarded above.
            # init runs in the default workspace: terraform refuses to init into a workspace
            # the backend does not have yet; the stack's own is created or selected after.
            init_env = {k: v for k, v in env.items() if k != "TF_WORKSPACE"}
            self.runner.run(
                tf.init_args(stack.dir, backend_config=work.backend_file, reconfigure=True),
                env=init_env,
                log=log,
                where=stack.id,
                on_line=lambda line: self.progress.line(stack.id, line),
            )
            if stack.workspace and stack.workspace != "default":
                self._select_workspace(stack, stack.workspace, init_env, log)
            # The lock file may have been written by init: fingerprint what init left behind.
            record = {"fingerprint": self.init_fingerprint(stack, setup, env), "state": location}
            write_if_changed(work.init_record, json.dumps(record, indent=2) + "\n")
            return True

    def _select_workspace(self, stack: Stack, name: str, env: Mapping[str, str], log: Path | None) -> None:
        """Select the stack's workspace, creating it when the backend has none of that name."""
        chdir = tf.chdir(stack.dir)
        try:
            self.runner.run([chdir, "workspace", "select", name], env=env, log=log, where=stack.id)
        except TerraformError:
            self.runner.run([chdir, "workspace", "new", name], env=env, log=log, where=stack.id)

    def run_initialised(
        self,
        stack: Stack,
        args_for: Callable[[], list[str]],
        env: Mapping[str, str],
        log: Path | None,
        report: bool = True,
        **kwargs: Any,
    ) -> tf.Result:
        """Run a command after ensure_init; when terraform says init is needed, init once more and retry."""
        self.ensure_init(stack, env, log, report=report)
        try:
            return self.runner.run(args_for(), env=env, log=log, where=stack.id, **kwargs)
        except tf.InitRequired:
            self.ensure_init(stack, env, log, force=True, report=report)
            return self.runner.run(args_for(), env=env, log=log, where=stack.id, **kwargs)

    def command_hint(self, stack: Stack, command: str) -> str:
        """The shell command a user runs to do ``command`` by hand in this stack's setup."""
        work = self.work(stack)
        rel_data = os.path.relpath(work.data_dir, self.root)
        rel_dir = os.path.relpath(stack.dir, self.root)
        return f"TF_DATA_DIR={rel_data} terraform -chdir={rel_dir} {command}"

    def unlock_hint(self, stack: Stack) -> str:
        return self.command_hint(stack, "force-unlock -force {id}")

    # ------------------------------------------------------------ reading state

    def read_outputs(self, sid: str) -> dict[str, PlannedOutput] | None:
        """Outputs of a stack's current state (`terraform output -json`); None when it has none."""
        with self._guard:
            read_lock = self._read_locks.setdefault(sid, threading.Lock())
        with read_lock:
            return self._read_outputs(sid)

    def _read_outputs(self, sid: str) -> dict[str, PlannedOutput] | None:
        with self._guard:
            if sid in self._outputs_cache:
                return self._outputs_cache[sid]
        stack = self.stack(sid)
        env = self.stack_env(stack)
        log = self.work(stack).dir / "outputs.log"
        self.work(stack).dir.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        result = self.run_initialised(
            stack, lambda: tf.output_json_args(stack.dir), env, log, log_stdout=False, report=False
        )
        try:
            data = json.loads(result.stdout or "{}")
        except ValueError as exc:
            raise TerraformError(f"`terraform output -json` printed invalid JSON: {exc}", where=sid) from exc
        outputs = outputs_from_output_json(data) if isinstance(data, dict) and data else None
        if outputs:
            self.add_secrets(str(o.value) for o in outputs.values() if o.sensitive and o.value)
        with self._guard:
            self._outputs_cache[sid] = outputs
        return outputs

    def add_secrets(self, values: Iterable[str]) -> None:
        """Mask these values in every log from now on (the Redactor is shared by worker threads)."""
        with self._guard:
            self.redactor.add_secrets(list(values))

    def forget_outputs(self, sid: str) -> None:
        with self._guard:
            self._outputs_cache.pop(sid, None)

    def pull_state(self, sid: str) -> dict[str, Any] | None:
        """A stack's current state (`terraform state pull`); None when it has none."""
        stack = self.stack(sid)
        env = self.stack_env(stack)
        log = self.work(stack).dir / "state.log"
        self.work(stack).dir.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        result = self.run_initialised(
            stack, lambda: tf.state_pull_args(stack.dir), env, log, log_stdout=False, report=False
        )
        if not result.stdout.strip():
            return None
        try:
            state = json.loads(result.stdout)
        except ValueError as exc:
            raise TerraformError(
                f"the state of '{sid}' is not valid JSON",
                where=sid,
                hint="Inspect it with `terraform state pull`.",
            ) from exc
        return state if isinstance(state, dict) else None

    def state_identity(self, sid: str) -> tuple[str | None, int | None]:
        state = self.pull_state(sid)
        if not state or not state.get("lineage"):
            return None, None
        serial = state.get("serial")
        return str(state["lineage"]), int(serial) if isinstance(serial, int) else None

    def state_resource_count(self, sid: str) -> int | None:
        """Managed resource instances in a stack's state; None when it has no state."""
        state = self.pull_state(sid)
        if state is None:
            return None
        resources = [r for r in state.get("resources") or [] if r.get("mode") == "managed"]
        return sum(len(r.get("instances") or []) for r in resources)

    # ------------------------------------------------------------ timings

    def estimated_seconds(self, stack: Stack, op: str) -> float:
        data = read_json(self.work(stack).timings)
        value = data.get(op)
        return float(value) if isinstance(value, int | float) and value > 0 else 1.0

    def record_seconds(self, stack: Stack, op: str, seconds: float) -> None:
        path = self.work(stack).timings
        data = read_json(path)
        old = data.get(op)
        # A moving average: one slow run (a cold plugin cache) does not dominate.
        data[op] = round(seconds if not isinstance(old, int | float) else 0.5 * old + 0.5 * seconds, 3)
        with contextlib.suppress(OSError):
            write_if_changed(path, json.dumps(data) + "\n")


def tf_var_value(value: Any) -> str:
    """A TF_VAR_ value: strings as they are, anything else as JSON (which HCL reads)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _show_key(key: list[Any]) -> str:
    return ":".join(str(p) for p in key)
