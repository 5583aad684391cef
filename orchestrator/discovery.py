"""Find the stacks of a repository and read what their Terraform files declare.

A stack is a directory under ``stacks_dir`` holding a ``stack.yaml``. Its Terraform files
(``*.tf`` in that directory) and the local modules they call, recursively, are read for
the backend, ``terraform_remote_state`` sources and module sources. Parsed results are
cached by file content hash under ``.orchestrate/cache/`` so a warm run reads no HCL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.config import (
    ROOT_CONFIG_NAME,
    STACK_CONFIG_NAME,
    RootConfig,
    StackConfig,
    load_root_config,
    parse_stack_config,
)
from orchestrator.errors import ConfigError, DiscoveryError
from orchestrator.fileio import write_atomic
from orchestrator.hcl import TerraformInfo, parse_terraform

STATE_DIR = ".orchestrate"
CACHE_VERSION = 4
_SKIP_DIRS = {".terraform", ".git", ".orchestrate", "node_modules", "__pycache__"}


@dataclass(frozen=True)
class Module:
    """A local module directory (repo-relative posix path) and what it declares."""

    path: str
    tf: TerraformInfo


@dataclass(frozen=True)
class Stack:
    id: str
    path: str  # repo-relative posix path of the stack directory
    dir: Path  # absolute
    config: StackConfig
    config_file: str  # repo-relative posix path of stack.yaml
    tf: TerraformInfo  # the stack's own *.tf files
    tf_files: tuple[str, ...]  # repo-relative posix paths
    modules: tuple[Module, ...] = ()  # local modules used, recursively

    @property
    def slug(self) -> str:
        """A file-name-safe form of the id: aws/network -> aws-network."""
        return slugify(self.id)

    @property
    def module_paths(self) -> tuple[str, ...]:
        return tuple(m.path for m in self.modules)

    @property
    def cloud(self) -> str | None:
        return self.config.cloud

    @property
    def environment(self) -> str | None:
        return self.config.environment


def slugify(stack_id: str) -> str:
    out = []
    for ch in stack_id:
        out.append(ch if ch.isalnum() or ch in "-_." else "-")
    return "".join(out).strip("-") or "stack"


@dataclass
class Discovery:
    """The result of a scan: stacks by id plus warnings for validate."""

    root: Path
    config: RootConfig
    config_file: str | None
    stacks: dict[str, Stack]
    warnings: list[str] = field(default_factory=list)

    @property
    def stacks_dir(self) -> Path:
        return self.root / self.config.stacks_dir


# ---------------------------------------------------------------- cache


class _Cache:
    """Content-hash keyed cache of parsed HCL and YAML. Best effort: never fails a command."""

    def __init__(self, root: Path) -> None:
        self.file = root / STATE_DIR / "cache" / f"discovery-v{CACHE_VERSION}.json"
        self.hcl: dict[str, Any] = {}
        self.yaml: dict[str, Any] = {}
        self.used: set[str] = set()
        self.dirty = False
        try:
            data = json.loads(self.file.read_bytes())
            if isinstance(data, dict):
                self.hcl = data.get("hcl", {}) or {}
                self.yaml = data.get("yaml", {}) or {}
        except (OSError, ValueError):
            pass

    def save(self) -> None:
        if not self.dirty and len(self.used) == len(self.hcl) + len(self.yaml):
            return
        hcl = {k: v for k, v in self.hcl.items() if k in self.used}
        yml = {k: v for k, v in self.yaml.items() if k in self.used}
        with contextlib.suppress(OSError):
            write_atomic(self.file, json.dumps({"hcl": hcl, "yaml": yml}, separators=(",", ":")))


def _digest(content: bytes) -> str:
    return hashlib.blake2b(content, digest_size=16).hexdigest()


# ---------------------------------------------------------------- reading


def _read_bytes(path: str, shown: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise DiscoveryError(
            f"cannot read the file: {exc.strerror or exc}",
            where=shown,
            hint="Check that it exists and that you may read it.",
        ) from exc


class _Reader:
    """Reads stack directories. Paths are plain strings here: pathlib costs ~0.5 s per 5,000 stacks."""

    def __init__(self, root: Path, cache: _Cache) -> None:
        self.root = root
        self.root_s = str(root)
        self.cache = cache
        self.dir_cache: dict[str, tuple[TerraformInfo, tuple[str, ...]]] = {}
        self.isdir_cache: dict[str, bool] = {}

    def rel(self, path: str) -> str:
        """Repo-relative posix path of an absolute path string inside the repository."""
        if path == self.root_s:
            return ""
        return path[len(self.root_s) + 1 :].replace(os.sep, "/")

    def tf_dir(
        self, directory: str, tf_names: list[str] | None = None
    ) -> tuple[TerraformInfo, tuple[str, ...]]:
        """Merged TerraformInfo of a directory's *.tf files (not subdirectories)."""
        rel = self.rel(directory)
        if rel in self.dir_cache:
            return self.dir_cache[rel]
        if tf_names is None:
            try:
                tf_names = sorted(
                    e.name for e in os.scandir(directory) if e.name.endswith(".tf") and e.is_file()
                )
            except OSError as exc:
                raise DiscoveryError(
                    f"cannot list the directory: {exc.strerror or exc}", where=rel or "."
                ) from exc
        info = TerraformInfo()
        files = []
        for name in tf_names:
            shown = f"{rel}/{name}" if rel else name
            files.append(shown)
            content = _read_bytes(os.path.join(directory, name), shown)
            key = _digest(content) + ":" + shown
            cached = self.cache.hcl.get(key)
            if cached is not None:
                part = TerraformInfo.from_json(cached)
            else:
                part = parse_terraform(content, shown)
                self.cache.hcl[key] = part.to_json()
                self.cache.dirty = True
            self.cache.used.add(key)
            info.merge(part)
        result = (info, tuple(files))
        self.dir_cache[rel] = result
        return result

    def stack_config(self, path: str, shown: str) -> StackConfig:
        content = _read_bytes(path, shown)
        key = _digest(content)
        data = self.cache.yaml.get(key)
        if data is not None:
            self.cache.used.add(key)
            try:
                return StackConfig.model_validate(data)
            except ValueError:
                pass  # an older cache from another schema: fall through and parse again
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not valid UTF-8 text (byte {exc.start})", where=shown) from exc
        config = parse_stack_config(text, shown)
        self.cache.yaml[key] = config.model_dump(mode="json", exclude_defaults=True)
        self.cache.used.add(key)
        self.cache.dirty = True
        return config

    def _is_dir(self, path: str) -> bool:
        hit = self.isdir_cache.get(path)
        if hit is None:
            hit = self.isdir_cache[path] = os.path.isdir(path)
        return hit

    def modules(self, start_dir: str, tf: TerraformInfo) -> tuple[Module, ...]:
        """Local modules called from ``tf`` (declared in ``start_dir``), recursively."""
        found: dict[str, Module] = {}
        queue: list[tuple[str, TerraformInfo]] = [(start_dir, tf)]
        while queue:
            directory, info = queue.pop()
            for call in info.modules:
                if call.source is None or not call.source.startswith(("./", "../")):
                    continue  # registry, git or other remote module: not ours to watch
                target = os.path.normpath(os.path.join(directory, call.source))
                where = f"{call.file}:{call.line}"
                if not (target == self.root_s or target.startswith(self.root_s + os.sep)):
                    raise DiscoveryError(
                        f"module '{call.name}' source {call.source!r} points outside the repository",
                        where=where,
                        hint="Keep local modules inside the repository, or use a registry or git source.",
                    )
                if not self._is_dir(target):
                    raise DiscoveryError(
                        f"module '{call.name}' source {call.source!r} is not a directory",
                        where=where,
                        hint="Fix the source path (relative to the file that calls the module).",
                    )
                rel = self.rel(target)
                if rel in found:
                    continue
                minfo, _ = self.tf_dir(target)
                found[rel] = Module(rel, minfo)
                queue.append((target, minfo))
        return tuple(found[k] for k in sorted(found))


# ---------------------------------------------------------------- entry points


def find_repo_root(start: Path) -> Path:
    """The nearest directory upwards holding orchestrate.yaml, else the git root, else start."""
    start = start.resolve()
    git_root: Path | None = None
    for d in (start, *start.parents):
        if (d / ROOT_CONFIG_NAME).is_file():
            return d
        if git_root is None and (d / ".git").exists():
            git_root = d
    return git_root or start


def load_config(root: Path, config_file: Path | None = None) -> tuple[RootConfig, str | None]:
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(
                "the configuration file does not exist",
                where=str(config_file),
                hint="Check the --config path.",
            )
        return load_root_config(config_file, str(config_file)), str(config_file)
    default = root / ROOT_CONFIG_NAME
    if default.is_file():
        return load_root_config(default, ROOT_CONFIG_NAME), ROOT_CONFIG_NAME
    return RootConfig(), None


def discover(
    root: Path, config: RootConfig, config_file: str | None = None, *, use_cache: bool = True
) -> Discovery:
    """Scan ``root`` for stacks; raises DiscoveryError/ConfigError on bad input."""
    root = root.resolve()
    stacks_dir = root / config.stacks_dir
    if not stacks_dir.is_dir():
        where = config_file or ROOT_CONFIG_NAME
        raise DiscoveryError(
            f"the stacks directory '{config.stacks_dir}' does not exist in {root}",
            where=where if config_file else None,
            hint="Create it, set stacks_dir in orchestrate.yaml, or pass --repo with the repository path.",
        )
    cache = _Cache(root) if use_cache else _Cache.__new__(_Cache)
    if not use_cache:
        cache.hcl, cache.yaml, cache.used, cache.dirty = {}, {}, set(), False
    reader = _Reader(root, cache)

    stack_dirs: list[tuple[str, list[str]]] = []
    loose_tf_dirs: list[str] = []
    for dirpath, dirnames, filenames in os.walk(str(stacks_dir)):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        tf_names = sorted(f for f in filenames if f.endswith(".tf"))
        if STACK_CONFIG_NAME in filenames:
            stack_dirs.append((dirpath, tf_names))
        elif tf_names:
            loose_tf_dirs.append(dirpath)

    stacks_prefix = PurePosixPath(config.stacks_dir).as_posix().rstrip("/") + "/"
    stacks: dict[str, Stack] = {}
    for directory, tf_names in stack_dirs:
        rel = reader.rel(directory)
        config_file_rel = f"{rel}/{STACK_CONFIG_NAME}"
        sconf = reader.stack_config(os.path.join(directory, STACK_CONFIG_NAME), config_file_rel)
        default_id = rel[len(stacks_prefix) :] if rel.startswith(stacks_prefix) else posixpath.basename(rel)
        stack_id = sconf.name or default_id
        if stack_id in stacks:
            other = stacks[stack_id].config_file
            raise DiscoveryError(
                f"duplicate stack id '{stack_id}' (also declared by {other})",
                where=config_file_rel,
                hint="Give one of them another `name:`, or move it.",
            )
        tf, files = reader.tf_dir(directory, tf_names)
        modules = reader.modules(directory, tf)
        stacks[stack_id] = Stack(
            id=stack_id,
            path=rel,
            dir=Path(directory),
            config=sconf,
            config_file=config_file_rel,
            tf=tf,
            tf_files=files,
            modules=modules,
        )

    warnings: list[str] = []
    used_modules = {m for s in stacks.values() for m in s.module_paths}
    for d in loose_tf_dirs:
        rel = reader.rel(d)
        if rel in used_modules:
            continue
        warnings.append(
            f"{rel}: has *.tf files but no {STACK_CONFIG_NAME}, so it is not a stack "
            f"(add a {STACK_CONFIG_NAME} to make it one)"
        )
    if use_cache:
        cache.save()
    return Discovery(root=root, config=config, config_file=config_file, stacks=stacks, warnings=warnings)
