"""Which backend a stack uses, and a comparable key for "where its state lives" (pure).

Precedence: the stack's ``stack.yaml`` ``backend:``; else a ``backend`` block in the stack's
``*.tf`` (kept as written); else the root ``backend`` template rendered for the stack; else
local state under ``.orchestrate/state/<stack id>/terraform.tfstate``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from orchestrator.config import BackendConfig, RootConfig
from orchestrator.discovery import Stack
from orchestrator.errors import ConfigError
from orchestrator.hcl import Unresolved
from orchestrator.layout import local_state_path

BackendSource = Literal["stack.yaml", "terraform", "partial", "template", "default"]
# What addresses a state in each backend: a block in code missing one of these is partial
# configuration, completed with -backend-config (terraform's standard pattern).
_ADDRESS_KEYS = {
    "s3": ("bucket", "key"),
    "gcs": ("bucket",),
    "azurerm": ("storage_account_name", "container_name", "key"),
    "local": (),
}
StateKey = tuple[str, ...]


@dataclass(frozen=True)
class EffectiveBackend:
    type: str
    config: dict[str, Any]
    source: BackendSource
    code_keys: frozenset[str] = frozenset()  # "partial": settings the code's block already has


def render_template(value: Any, stack: Stack) -> Any:
    """Replace {stack}, {slug}, {environment} and {cloud} in every string of a backend config."""
    if isinstance(value, str):
        return (
            value.replace("{stack}", stack.id)
            .replace("{slug}", stack.slug)
            .replace("{environment}", stack.environment or "")
            .replace("{cloud}", stack.cloud or "")
        )
    if isinstance(value, dict):
        return {k: render_template(v, stack) for k, v in value.items()}
    if isinstance(value, list):
        return [render_template(v, stack) for v in value]
    return value


def default_local_state(stack: Stack) -> str:
    return local_state_path(stack.id)


def effective_backend(stack: Stack, root: RootConfig) -> EffectiveBackend:
    declared = stack.tf.backend
    override: BackendConfig | None = stack.config.backend
    if override is not None:
        if declared is not None and declared.type != override.type:
            raise ConfigError(
                f"stack.yaml sets backend '{override.type}' but the Terraform code declares "
                f"backend '{declared.type}' ({declared.file}:{declared.line})",
                where=stack.config_file,
                hint="Keep one of them.",
            )
        return EffectiveBackend(override.type, render_template(dict(override.config), stack), "stack.yaml")
    if declared is not None:
        template = root.backend
        missing = [k for k in _ADDRESS_KEYS.get(declared.type, ()) if k not in declared.config]
        if missing and template is not None and template.type == declared.type:
            merged = {**render_template(dict(template.config), stack), **declared.config}
            return EffectiveBackend(declared.type, merged, "partial", frozenset(declared.config))
        return EffectiveBackend(declared.type, dict(declared.config), "terraform")
    if root.backend is not None:
        return EffectiveBackend(
            root.backend.type, render_template(dict(root.backend.config), stack), "template"
        )
    return EffectiveBackend("local", {"path": default_local_state(stack)}, "default")


def _norm_local(path: str, base: Path | str) -> str:
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base, path))


def state_key(
    backend: str | None, config: dict[str, Any], base: Path | str, workspace: str | None = None
) -> StateKey | None:
    """A key equal for two configurations that address the same state; None when unknowable.

    ``base`` is the directory relative paths are resolved against (terraform's working dir).
    A workspace other than ``default`` is a different state of the same configuration.
    """
    key = _state_key(backend, config, base)
    if key is None or workspace in (None, "default"):
        return key
    return (*key, f"workspace={workspace}")


def _state_key(backend: str | None, config: dict[str, Any], base: Path | str) -> StateKey | None:
    if backend is None:
        return None

    def get(name: str, default: Any = None) -> Any:
        v = config.get(name, default)
        return None if isinstance(v, Unresolved) else v

    if backend == "local":
        path = get("path", "terraform.tfstate")
        return ("local", _norm_local(path, base)) if isinstance(path, str) else None
    if backend == "s3":
        bucket, key = get("bucket"), get("key")
        return ("s3", bucket, key) if isinstance(bucket, str) and isinstance(key, str) else None
    if backend == "gcs":
        bucket, prefix = get("bucket"), get("prefix", "")
        if isinstance(bucket, str) and isinstance(prefix, str):
            return ("gcs", bucket, prefix.strip("/"))
        return None
    if backend == "azurerm":
        parts = (get("storage_account_name"), get("container_name"), get("key"))
        if all(isinstance(p, str) for p in parts):
            return ("azurerm", *parts)
        return None
    return None


def state_base(eb: EffectiveBackend, root_dir: Path, stack_dir: Path) -> Path:
    """What a relative local state path is relative to: a template or default ``path`` is
    relative to the repository (orchestrate passes it absolute), anything else to the stack
    directory, terraform's working directory (so is terraform's own default, terraform.tfstate)."""
    if eb.source in ("template", "default", "partial") and "path" in eb.config and "path" not in eb.code_keys:
        return root_dir
    return stack_dir


def stack_state_key(stack: Stack, root_dir: Path, root: RootConfig) -> StateKey | None:
    eb = effective_backend(stack, root)
    return state_key(eb.type, eb.config, state_base(eb, root_dir, stack.dir), stack.workspace)
