"""The environment model: which environment a stack is in, which family it belongs to, and the
content hash that says two stacks of one family run the same code.

Rules (docs/environments.md):
- A stack's environment is ``environment:`` in its stack.yaml; when that is absent and
  ``environments:`` is set in orchestrate.yaml, the one segment of its id that names a
  configured environment (``aws/dev/storage`` -> ``dev``).
- Its family is ``family:`` in its stack.yaml, else its id without the environment segment
  (``aws/dev/storage`` and ``aws/prod/storage`` -> ``aws/storage``). A family has at most one
  stack per environment.
- The content hash covers what should be identical across a family: the stack directory's
  files by their path inside the stack (so dev and prod compare equal), minus stack.yaml and
  variable-value files (``*.tfvars``, ``*.tfvars.json``, the stack's ``var_files``), plus its
  local modules' files by repository path.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from orchestrator.config import STACK_CONFIG_NAME, RootConfig
from orchestrator.discovery import Stack
from orchestrator.errors import ConfigError

_NOT_SOURCE_NAMES = {".terraform.lock.hcl", "_orchestrate_override.tf.json", STACK_CONFIG_NAME}
_NOT_SOURCE_SUFFIXES = (".tfstate", ".tfstate.backup", ".tfplan")
VALUE_SUFFIXES = (".tfvars", ".tfvars.json")
_SKIP_DIRS = {".terraform", ".git", ".orchestrate", "__pycache__", "node_modules"}


def environment_of(stack: Stack, environments: Sequence[str]) -> str | None:
    """The stack's environment: declared, else the id segment naming a configured environment."""
    if stack.config.environment:
        return stack.config.environment
    found = [seg for seg in stack.id.split("/") if seg in environments]
    return found[0] if len(found) == 1 else None


def family_of(stack: Stack, environments: Sequence[str]) -> str:
    """The family: declared, else the id without its environment segment."""
    if stack.config.family:
        return stack.config.family
    env = environment_of(stack, environments)
    parts = stack.id.split("/")
    if env is not None and env in parts:
        rest = [p for p in parts if p != env]
        if rest:
            return "/".join(rest)
    return stack.id


@dataclass(frozen=True)
class EnvModel:
    """The promotion path and the families of one repository."""

    environments: tuple[str, ...]
    env_of: Mapping[str, str | None]  # stack id -> environment
    family: Mapping[str, str]  # stack id -> family
    members: Mapping[str, Mapping[str, str]]  # family -> environment -> stack id

    def previous(self, env: str | None) -> str | None:
        """The environment before ``env`` on the promotion path."""
        if env is None or env not in self.environments:
            return None
        i = self.environments.index(env)
        return self.environments[i - 1] if i > 0 else None

    def upstream_stack(self, stack_id: str) -> tuple[str, str] | None:
        """(environment, stack id) of the family's stack that ``stack_id`` is promoted from: the
        nearest earlier environment on the path that has one; None when there is none."""
        env = self.env_of.get(stack_id)
        fam = self.members.get(self.family.get(stack_id, ""), {})
        while True:
            env = self.previous(env)
            if env is None:
                return None
            if env in fam:
                return env, fam[env]

    def check_env(self, env: str) -> None:
        if self.environments and env not in self.environments:
            raise ConfigError(
                f"unknown environment '{env}'",
                where="orchestrate.yaml",
                hint=f"The environments are: {', '.join(self.environments)}.",
            )


def env_model(config: RootConfig, stacks: Mapping[str, Stack]) -> EnvModel:
    envs = tuple(config.environments)
    env_of: dict[str, str | None] = {}
    family: dict[str, str] = {}
    members: dict[str, dict[str, str]] = {}
    for sid in sorted(stacks):
        stack = stacks[sid]
        env = environment_of(stack, envs)
        fam = family_of(stack, envs)
        env_of[sid] = env
        family[sid] = fam
        if env is None:
            continue
        other = members.setdefault(fam, {}).get(env)
        if other is not None:
            raise ConfigError(
                f"stacks '{other}' and '{sid}' are both the '{env}' stack of family '{fam}'",
                where=stack.config_file,
                hint="Give one of them another family: in its stack.yaml.",
            )
        members[fam][env] = sid
    return EnvModel(envs, env_of, family, members)


def _walk(base: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for f in sorted(filenames):
            yield Path(dirpath) / f


def is_value_file(name: str, var_files: Sequence[str] = ()) -> bool:
    return name.endswith(VALUE_SUFFIXES) or name in {PurePosixPath(v).name for v in var_files}


def content_files(root: Path, stack: Stack) -> list[tuple[str, Path]]:
    """(name in the hash, file) of the stack's content: see the module docstring."""
    out: list[tuple[str, Path]] = []
    for path in _walk(stack.dir):
        name = path.name
        if name in _NOT_SOURCE_NAMES or name.endswith(_NOT_SOURCE_SUFFIXES):
            continue
        if is_value_file(name, stack.config.var_files):
            continue
        out.append(("stack/" + path.relative_to(stack.dir).as_posix(), path))
    for rel in stack.module_paths:
        for path in _walk(root / rel):
            if path.name in _NOT_SOURCE_NAMES or path.name.endswith(_NOT_SOURCE_SUFFIXES):
                continue
            out.append((path.relative_to(root).as_posix(), path))
    return sorted(out)


def content_hash(root: Path, stack: Stack) -> str:
    """sha256 over the stack's environment-neutral content (see the module docstring)."""
    h = hashlib.sha256()
    for name, path in content_files(root, stack):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()
