"""A stack's terraform working setup: its environment, backend override and ``init``.

Per stack, terraform's working data lives under ``.orchestrate/work/<slug>/`` (TF_DATA_DIR),
never in the stack directory. ``init`` is skipped when a fingerprint of what it depends on
(terraform version, backend settings, required providers, module sources, the dependency
lock file, the CLI configuration) equals the one recorded after the last successful init.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import gitauth
from orchestrator.backends import effective_backend, state_base, state_key
from orchestrator.clouds import EmulateState, s3_state_endpoint, stack_terraform_env
from orchestrator.config import RootConfig
from orchestrator.discovery import Stack
from orchestrator.errors import ConfigError, TerraformError
from orchestrator.fileio import write_if_changed
from orchestrator.jsontypes import JSONData
from orchestrator.layout import PLUGIN_CACHE, StackWork
from orchestrator.planset_crypto import IDENTITY_ENV
from orchestrator.progress import Progress
from orchestrator.terraform import runner as tf
from orchestrator.terraform.backend import BackendSetup, backend_setup, sync_override
from orchestrator.terraform.binary import TerraformBinary
from orchestrator.terraform.providercache import init_may_write_cache, needed_providers

LOCK_FILE_NAME = ".terraform.lock.hcl"
# Variables that would silently change what terraform does under orchestrate's feet.
_DROPPED_ENV_PREFIXES = ("TF_CLI_ARGS",)
# ORCHESTRATE_AGE_IDENTITY decrypts plan sets, and GITHUB_TOKEN / GH_TOKEN are orchestrate's own
# GitHub credential (comments, statuses, approvals): no provider, provisioner or external program
# terraform starts needs them, and the code of a pull request runs there. A GitHub provider gets
# its token through a variable of its own (docs/engine.md).
_DROPPED_ENV = {"TF_DATA_DIR", "TF_WORKSPACE_DIR", IDENTITY_ENV, *gitauth.TOKEN_ENVS}


def clean_base_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment every terraform run starts from: ``base`` without TF_CLI_ARGS*, data dirs,
    the age identity and orchestrate's GitHub token (also inside GIT_CONFIG_*)."""
    # A GIT_CONFIG_* entry carrying the token (an extraheader a workflow step exports) goes too:
    # terraform's git (module sources) and whatever a provider runs never need it.
    kept = gitauth.without_token(base)
    return {
        k: v for k, v in kept.items() if k not in _DROPPED_ENV and not k.startswith(_DROPPED_ENV_PREFIXES)
    }


def tf_var_value(value: JSONData) -> str:
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


def file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "-"


def init_fingerprint(
    binary: TerraformBinary, stack: Stack, setup: BackendSetup, env: Mapping[str, str]
) -> str:
    """What a successful init depends on; equal fingerprints mean init may be skipped."""
    providers: set[str] = set()
    modules: set[tuple[str, str]] = set()
    for info in [stack.tf, *(m.tf for m in stack.modules)]:
        providers.update(f"{k}={v}" for k, v in info.required_providers.items())
        providers.update(
            d.type.split("_", 1)[0] for d in info.declarations if d.kind in ("resource", "data") and d.type
        )
        modules.update((m.name, m.source or "") for m in info.modules)
    cli_config = env.get("TF_CLI_CONFIG_FILE", "")
    doc = {
        "binary": [binary.path, str(binary.version)],
        "backend": [setup.type, setup.config_text(), setup.override],
        "providers": sorted(providers),
        "modules": sorted(modules),
        "lock_file": file_digest(stack.dir / LOCK_FILE_NAME),
        "cli_config": [cli_config, file_digest(Path(cli_config)) if cli_config else "-"],
        "plugin_cache": env.get("TF_PLUGIN_CACHE_DIR", ""),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _is_local(source: str | None) -> bool:
    return source is not None and source.startswith(("./", "../"))


def init_writes_cache(stack: Stack, env: Mapping[str, str]) -> bool | None:
    """Whether the stack's ``init`` may write the shared plugin cache (then it holds the cache
    exclusively); None without a plugin cache."""
    cache = env.get("TF_PLUGIN_CACHE_DIR")
    if not cache:
        return None
    infos = [stack.tf, *(m.tf for m in stack.modules)]
    required: dict[str, str] = {}
    prefixes: set[str] = set()
    for info in infos:
        required.update(info.required_providers)
        prefixes.update(
            d.type.split("_", 1)[0] for d in info.declarations if d.kind in ("resource", "data") and d.type
        )
    return init_may_write_cache(
        stack.dir / LOCK_FILE_NAME,
        Path(cache),
        needed_providers(required, prefixes),
        remote_modules=any(not _is_local(m.source) for info in infos for m in info.modules),
    )


def _show_key(key: Sequence[JSONData]) -> str:
    return ":".join(str(p) for p in key)


@dataclass
class Workdir:
    """Per command: where each stack's terraform works, what environment it gets, and init."""

    root: Path
    config: RootConfig
    binary: TerraformBinary
    runner: tf.Runner
    progress: Progress
    emulate: EmulateState | None
    base_env: Mapping[str, str]  # already cleaned (clean_base_env)
    work_base: Path | None = None  # [.orchestrate/work]; a recovery's own under .orchestrate/recovery/
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def of(self, stack: Stack) -> StackWork:
        if self.work_base is not None:
            return StackWork(self.root / self.work_base / stack.slug)
        return StackWork.of(self.root, stack.slug)

    def env(self, stack: Stack, variables: Mapping[str, JSONData] | None = None) -> dict[str, str]:
        """A fresh environment for terraform in this stack (os.environ is never changed)."""
        layers: list[Mapping[str, str]] = [stack_terraform_env(self.config, stack.cloud, self.emulate)]
        own = {"TF_DATA_DIR": str(self.of(stack).data_dir)}
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
        return tf.compose_env(self.base_env, *layers)

    def effective_config(self, stack: Stack) -> dict[str, str]:
        """Digests of what decides where and how the stack applies (engine.effective)."""
        from orchestrator.engine.effective import effective_parts

        return effective_parts(self.config, stack, self.emulate, self.base_env)

    def backend(self, stack: Stack) -> BackendSetup:
        eb = effective_backend(stack, self.config)
        endpoint = s3_state_endpoint(self.config, stack.cloud, self.emulate) if eb.type == "s3" else None
        return backend_setup(
            eb,
            root=self.root,
            s3_endpoint=endpoint,
            new_style_s3=self.binary.s3_endpoints_block,
            declared_in_code=stack.tf.backend is not None,
        )

    def state_location(self, stack: Stack) -> list[str] | None:
        eb = effective_backend(stack, self.config)
        key = state_key(eb.type, eb.config, state_base(eb, self.root, stack.dir))
        return list(key) if key is not None else None

    def _lock(self, slug: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(slug, threading.Lock())

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
        work = self.of(stack)
        with self._lock(stack.slug):
            setup = self.backend(stack)
            sync_override(stack.dir, setup)
            work.dir.mkdir(parents=True, exist_ok=True)
            write_if_changed(work.backend_file, setup.config_text())
            record = read_json(work.init_record)
            location = self.state_location(stack)
            fingerprint = init_fingerprint(self.binary, stack, setup, env)
            if not force and record.get("fingerprint") == fingerprint and work.data_dir.is_dir():
                return False
            self._guard_state_move(stack, work, record.get("state"), location)
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
                cache_write=init_writes_cache(stack, env),
            )
            if stack.workspace and stack.workspace != "default":
                self._select_workspace(stack, stack.workspace, init_env, log)
            # The lock file may have been written by init: fingerprint what init left behind.
            record = {"fingerprint": init_fingerprint(self.binary, stack, setup, env), "state": location}
            write_if_changed(work.init_record, json.dumps(record, indent=2) + "\n")
            return True

    def _select_workspace(self, stack: Stack, name: str, env: Mapping[str, str], log: Path | None) -> None:
        """Select the stack's workspace, creating it when the backend has none of that name."""
        chdir = tf.chdir(stack.dir)
        try:
            self.runner.run([chdir, "workspace", "select", name], env=env, log=log, where=stack.id)
        except TerraformError:
            self.runner.run([chdir, "workspace", "new", name], env=env, log=log, where=stack.id)

    def _guard_state_move(
        self, stack: Stack, work: StackWork, previous: Sequence[JSONData] | None, location: list[str] | None
    ) -> None:
        if previous is None or location is None or previous == location:
            return
        raise ConfigError(
            f"the stack's state location changed since the last init ({_show_key(previous)} -> "
            f"{_show_key(location)}); orchestrate does not move state by itself",
            where=stack.id,
            hint=f"Move the state with `{self.command_hint(stack, 'init -migrate-state')}`, "
            f"or delete {work.init_record} if the new location is meant to start empty.",
        )

    def run(
        self,
        stack: Stack,
        args: list[str],
        env: Mapping[str, str],
        log: Path | None,
        report: bool = True,
        *,
        ok_codes: Iterable[int] = (0,),
        on_line: Callable[[str], None] | None = None,
        unlock_hint: str | None = None,
        log_stdout: bool = True,
        stdout_path: Path | None = None,
        output_file: Path | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> tf.Result:
        """Run a command after ensure_init; when terraform says init is needed, init once more and retry."""
        self.ensure_init(stack, env, log, report=report)

        def once() -> tf.Result:
            return self.runner.run(
                args,
                env=env,
                log=log,
                where=stack.id,
                ok_codes=ok_codes,
                on_line=on_line,
                unlock_hint=unlock_hint,
                log_stdout=log_stdout,
                stdout_path=stdout_path,
                output_file=output_file,
                on_start=on_start,
            )

        try:
            return once()
        except tf.InitRequired:
            self.ensure_init(stack, env, log, force=True, report=report)
            return once()

    def command_hint(self, stack: Stack, command: str) -> str:
        """The shell command a user runs to do ``command`` by hand in this stack's setup."""
        rel_data = os.path.relpath(self.of(stack).data_dir, self.root)
        rel_dir = os.path.relpath(stack.dir, self.root)
        return f"TF_DATA_DIR={rel_data} terraform -chdir={rel_dir} {command}"

    def unlock_hint(self, stack: Stack) -> str:
        return self.command_hint(stack, "force-unlock -force {id}")
