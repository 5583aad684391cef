"""Find the stacks of a repository and read what their Terraform files declare.

Two ways to find stacks. Without ``stacks:`` in orchestrate.yaml (SPEC 1), a stack is a
directory under ``stacks_dir`` holding a ``stack.yaml``; its id is its path under
``stacks_dir``. With ``stacks:`` rules, a stack is a root module under the repository root
(a directory with a backend or provider block that no other directory uses as a module, or
one listed under ``projects:``); its id is its repository-relative path, targets come from
path patterns, and a ``stack.yaml`` beside it overrides. Its Terraform files (``*.tf`` and
``*.tf.json``) and the local modules they call, recursively, are read for the backend,
``terraform_remote_state`` sources and module sources. Parsed results are cached by file
content hash under ``.orchestrate/cache/`` so a warm run reads no HCL.

A problem that concerns one stack (a bad module source, a file that does not parse, a
directory with no Terraform code) is kept on that stack and raised only when a command
works on it; problems between stacks (duplicate ids or slugs) fail discovery.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.config import (
    ROOT_CONFIG_NAME,
    STACK_CONFIG_NAME,
    RootConfig,
    StackConfig,
    StacksRules,
    load_root_config,
    parse_stack_config,
    stack_id_problem,
)
from orchestrator.errors import ConfigError, DiscoveryError, OrchestratorError
from orchestrator.fileio import write_atomic
from orchestrator.hcl import TerraformInfo, Unresolved, parse_terraform, parse_terraform_json, parse_tfvars
from orchestrator.layout import CACHE_DIR, STATE_DIR
from orchestrator.stackrules import included, target_settings

CACHE_VERSION = 5
_SKIP_DIRS = {".terraform", ".git", STATE_DIR, "node_modules", "__pycache__"}
# orchestrate's own backend override file is not the user's configuration
_GENERATED_TF = "_orchestrate_override.tf.json"
ROOT_ID = "."


def is_tf_file(name: str) -> bool:
    return name.endswith((".tf", ".tf.json")) and name != _GENERATED_TF


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
    error: OrchestratorError | None = None  # why this stack cannot be run (raised when selected)
    found_by: str = STACK_CONFIG_NAME  # what made it a stack, for `init` and `list -v`
    # variable values from terraform.tfvars, *.auto.tfvars and var_files, in terraform's order;
    # read only when a remote-state config needs them
    tfvars: dict[str, Any] = field(default_factory=dict)

    @property
    def workspace(self) -> str | None:
        return self.config.workspace

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


_PLAIN_ID = re.compile(r"^[A-Za-z0-9_.\-/]+$")


def slugify(stack_id: str) -> str:
    if _PLAIN_ID.match(stack_id):
        slug = stack_id.replace("/", "-").strip("-")
        return "root" if slug.strip(".") == "" else slug
    out = []
    for ch in stack_id:
        out.append(ch if (ch.isascii() and ch.isalnum()) or ch in "-_." else "-")
    slug = "".join(out).strip("-")
    # never "." or ".." (the slug names directories): the root stack "." is "root"
    return "root" if slug.strip(".") == "" else slug


@dataclass
class Discovery:
    """The result of a scan: stacks by id plus warnings for validate."""

    root: Path
    config: RootConfig
    config_file: str | None
    stacks: dict[str, Stack]
    warnings: list[str] = field(default_factory=list)

    @property
    def broken(self) -> dict[str, OrchestratorError]:
        return {sid: s.error for sid, s in self.stacks.items() if s.error is not None}

    @property
    def stacks_dir(self) -> Path:
        return self.root / self.config.stacks_dir


# ---------------------------------------------------------------- cache


class _Cache:
    """Content-hash keyed cache of parsed HCL and YAML. Best effort: never fails a command."""

    def __init__(self, root: Path) -> None:
        self.file = root / CACHE_DIR / f"discovery-v{CACHE_VERSION}.json"
        self.hcl: dict[str, Any] = {}
        self.yaml: dict[str, Any] = {}
        self.used: set[str] = set()
        self.dirty = False
        try:
            data = json.loads(self.file.read_bytes())
        except (OSError, ValueError):
            return
        # Anything of another shape (an older version, a damaged file) is simply not used.
        if isinstance(data, dict):
            hcl, yml = data.get("hcl"), data.get("yaml")
            self.hcl = {k: v for k, v in hcl.items() if isinstance(v, dict)} if isinstance(hcl, dict) else {}
            self.yaml = {k: v for k, v in yml.items() if isinstance(v, dict)} if isinstance(yml, dict) else {}

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


# Parsing HCL costs about 150 times the file's size in memory: a hostile 16 MB .tf file
# would take 2.4 GB. Real files, even generated ones, stay far below this.
MAX_FILE_BYTES = 4 << 20


def _read_bytes(path: str, shown: str, limit: int = MAX_FILE_BYTES) -> bytes:
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise DiscoveryError(
                    f"the file is {size / (1 << 20):.1f} MiB; orchestrate reads files of at most "
                    f"{limit >> 20} MiB",
                    where=shown,
                    hint="Split the file, or keep generated data out of the stack directory.",
                )
            return fh.read(limit + 1)
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
        self.real_root = os.path.realpath(self.root_s)
        self.real_cache: dict[str, str] = {}

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
                tf_names = sorted(e.name for e in os.scandir(directory) if is_tf_file(e.name) and e.is_file())
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
            part = None
            if cached is not None:
                try:
                    part = TerraformInfo.from_json(cached)
                except (KeyError, TypeError, ValueError, AttributeError):
                    part = None  # a damaged cache entry: parse the file again
            if part is None:
                parse = parse_terraform_json if name.endswith(".json") else parse_terraform
                part = parse(content, shown)
                self.cache.hcl[key] = part.to_json()
                self.cache.dirty = True
            self.cache.used.add(key)
            info.merge(part)
        result = (info, tuple(files))
        self.dir_cache[rel] = result
        return result

    def tfvars(self, directory: str, names: list[str]) -> dict[str, Any]:
        """Merged variable values of the given files (relative to ``directory``), in order."""
        out: dict[str, Any] = {}
        for name in names:
            path = os.path.normpath(os.path.join(directory, name))
            shown = self.rel(path)
            if not os.path.isfile(path):
                continue  # validate reports missing var files
            content = _read_bytes(path, shown)
            key = _digest(content) + ":tfvars:" + shown
            cached = self.cache.hcl.get(key)
            if cached is None:
                cached = {"values": TerraformInfo(variable_defaults=parse_tfvars(content, shown)).to_json()}
                self.cache.hcl[key] = cached
                self.cache.dirty = True
            self.cache.used.add(key)
            out.update(TerraformInfo.from_json(cached["values"]).variable_defaults)
        return out

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
                real = self.real_cache.get(target)
                if real is None:
                    real = self.real_cache[target] = os.path.realpath(target)
                if not (real == self.real_root or real.startswith(self.real_root + os.sep)):
                    raise DiscoveryError(
                        f"module '{call.name}' source {call.source!r} is a symbolic link to outside the repository",
                        where=where,
                        hint="Keep local modules inside the repository.",
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


@dataclass
class _Dir:
    """One directory seen by the walk."""

    path: str  # absolute
    rel: str  # repo-relative posix, "" for the root
    tf_names: list[str]
    has_stack_yaml: bool
    other: list[str]  # notable files when there is no Terraform code (terragrunt.hcl, ...)
    auto_tfvars: list[str] = field(default_factory=list)  # what terraform loads by itself, in order


@dataclass
class _Entry:
    """A stack to be: where it is, its settings before stack.yaml, and why it is one."""

    d: _Dir
    default_id: str
    settings: dict[str, Any]
    found_by: str
    config_file: str


_NOTABLE = ("terragrunt.hcl", "terramate.tm.hcl", "stack.tm.hcl")


def _check_name(name: str, parent_rel: str) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise DiscoveryError(
            f"the name {shown!r} is not valid UTF-8",
            where=parent_rel or ".",
            hint="Rename it: orchestrate needs UTF-8 file and directory names (ids and paths are text).",
        ) from None


def _walk(reader: _Reader, top: str) -> list[_Dir]:
    out: list[_Dir] = []
    for dirpath, dirnames, filenames in os.walk(top):
        rel = reader.rel(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        try:
            "\0".join([rel, *dirnames, *filenames]).encode("utf-8")
        except UnicodeEncodeError:
            for name in (*dirnames, *filenames):
                _check_name(name, rel)
        tf_names = sorted(f for f in filenames if is_tf_file(f))
        other = [] if tf_names else [f for f in _NOTABLE if f in filenames]
        auto: list[str] = [f for f in ("terraform.tfvars", "terraform.tfvars.json") if f in filenames]
        auto += sorted(f for f in filenames if f.endswith((".auto.tfvars", ".auto.tfvars.json")))
        out.append(_Dir(dirpath, rel, tf_names, STACK_CONFIG_NAME in filenames, other, auto))
    return out


def _check_inside(root: Path, rel: str, where: str | None) -> Path:
    path = root / rel
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        raise DiscoveryError(
            f"the stacks directory '{rel}' is a symbolic link to outside the repository ({real})",
            where=where,
            hint="Keep stacks inside the repository; orchestrate reads no file outside it.",
        )
    return path


def _classic_entries(dirs: list[_Dir], stacks_dir: str) -> list[_Entry]:
    prefix = PurePosixPath(stacks_dir).as_posix().strip("/")
    prefix = "" if prefix == "." else prefix
    out = []
    for d in dirs:
        if not d.has_stack_yaml:
            continue
        under = d.rel if not prefix else (d.rel[len(prefix) + 1 :] if d.rel != prefix else "")
        out.append(_Entry(d, under or ROOT_ID, {}, STACK_CONFIG_NAME, _yaml_path(d.rel)))
    return out


def _yaml_path(rel: str) -> str:
    return f"{rel}/{STACK_CONFIG_NAME}" if rel else STACK_CONFIG_NAME


def _project_id(dir_: str, workspace: str | None) -> str:
    base = dir_ if dir_ not in ("", ".") else ROOT_ID
    if workspace and workspace != "default":
        return workspace if base == ROOT_ID else f"{base}/{workspace}"
    return base


def _rule_entries(reader: _Reader, dirs: list[_Dir], rules: StacksRules, config_file: str) -> list[_Entry]:
    """Stacks found by rule: listed projects, then root modules, then stack.yaml directories."""
    by_rel = {d.rel: d for d in dirs}
    listed: dict[str, list[_Entry]] = {}
    for i, p in enumerate(rules.projects):
        rel = "" if p.dir == "." else p.dir
        d = by_rel.get(rel)
        if d is None:
            raise DiscoveryError(
                f"projects[{i}]: the directory '{p.dir}' does not exist (or is excluded from the walk)",
                where=config_file,
                hint="Fix the dir, or remove the entry.",
            )
        settings, _ = target_settings(rules.targets, rel)
        settings.update(p.model_dump(exclude_unset=True, exclude={"dir", "name"}))
        sid = p.name or _project_id(rel, p.workspace)
        listed.setdefault(rel, []).append(
            _Entry(d, sid, settings, f"{config_file} projects[{i}]", config_file)
        )
    candidates = [d for d in dirs if d.rel not in listed and (d.tf_names or d.has_stack_yaml)]
    candidates = [d for d in candidates if d.has_stack_yaml or included(rules, d.rel or ".")]
    used_as_module: set[str] = set()
    infos: dict[str, TerraformInfo] = {}
    for d in candidates:
        if not d.tf_names:
            continue
        try:
            info, _ = reader.tf_dir(d.path, d.tf_names)
        except OrchestratorError:
            continue  # kept for the stack's own error below, if it is one
        infos[d.rel] = info
        for call in info.modules:
            if call.source and call.source.startswith(("./", "../")):
                used_as_module.add(reader.rel(os.path.normpath(os.path.join(d.path, call.source))))
    out = [e for rel in sorted(listed) for e in listed[rel]]
    for d in candidates:
        why = _root_reason(d, infos.get(d.rel), used_as_module, rules.root_modules)
        if why is None:
            continue
        settings, matched = target_settings(rules.targets, d.rel)
        if matched:
            why += f"; targets from {', '.join(matched)}"
        out.append(
            _Entry(d, d.rel or ROOT_ID, settings, why, _yaml_path(d.rel) if d.has_stack_yaml else config_file)
        )
    return out


def _root_reason(d: _Dir, info: TerraformInfo | None, used: set[str], mode: str) -> str | None:
    """Why the directory is a root module (a stack), or None when it is not one."""
    if d.has_stack_yaml:
        return STACK_CONFIG_NAME
    if mode == "listed" or info is None:
        return None
    if info.backend is not None:
        return f"backend block ({info.backend.file}:{info.backend.line})"
    if info.providers and d.rel not in used:
        return "provider block, and no directory uses it as a module"
    return None


def discover(
    root: Path, config: RootConfig, config_file: str | None = None, *, use_cache: bool = True
) -> Discovery:
    """Scan ``root`` for stacks; raises DiscoveryError/ConfigError on bad input between stacks."""
    root = root.resolve()
    shown_config = config_file or ROOT_CONFIG_NAME
    scan_rel = "" if config.stacks is not None else config.stacks_dir
    stacks_dir = root / scan_rel
    if not stacks_dir.is_dir():
        raise DiscoveryError(
            f"the stacks directory '{config.stacks_dir}' does not exist in {root}",
            where=config_file,
            hint="Create it, set stacks_dir in orchestrate.yaml, or pass --repo with the repository path.",
        )
    _check_inside(root, scan_rel, config_file)
    cache = _Cache(root) if use_cache else _Cache.__new__(_Cache)
    if not use_cache:
        cache.hcl, cache.yaml, cache.used, cache.dirty = {}, {}, set(), False
    reader = _Reader(root, cache)
    dirs = _walk(reader, str(stacks_dir))
    if config.stacks is None:
        entries = _classic_entries(dirs, config.stacks_dir)
    else:
        entries = _rule_entries(reader, dirs, config.stacks, shown_config)

    stacks: dict[str, Stack] = {}
    for entry in entries:
        stack = _build_stack(reader, entry)
        _add_unique(stacks, stack)
    _check_slugs(stacks)

    warnings = _loose_warnings(reader, dirs, stacks, config.stacks is not None)
    if use_cache:
        cache.save()
    return Discovery(root=root, config=config, config_file=config_file, stacks=stacks, warnings=warnings)


def _stack_config(reader: _Reader, entry: _Entry) -> StackConfig:
    settings = dict(entry.settings)
    if entry.d.has_stack_yaml:
        shown = _yaml_path(entry.d.rel)
        own = reader.stack_config(os.path.join(entry.d.path, STACK_CONFIG_NAME), shown)
        if not settings:
            return own
        settings.update(own.model_dump(exclude_unset=True))
    try:
        return StackConfig.model_validate(settings)
    except ValueError as exc:
        raise ConfigError(
            f"the settings for this stack are invalid: {exc}", where=entry.config_file
        ) from None


def _build_stack(reader: _Reader, entry: _Entry) -> Stack:
    d = entry.d
    sconf = _stack_config(reader, entry)
    stack_id = sconf.name or entry.default_id
    problem = stack_id_problem(stack_id)
    if problem:
        raise DiscoveryError(
            f"'{stack_id}' cannot be a stack id: {problem}",
            where=entry.config_file
            if entry.d.has_stack_yaml or entry.config_file != _yaml_path(d.rel)
            else d.rel,
            hint="Rename the directory, or set `name:` to an id of letters, digits and / . _ -.",
        )
    stack_dir = Path(d.path)
    tf = TerraformInfo()
    files: tuple[str, ...] = ()
    modules: tuple[Module, ...] = ()
    tfvars: dict[str, Any] = {}
    error: OrchestratorError | None = None
    try:
        if not d.tf_names:
            raise _no_terraform(d)
        check_lanes(reader.real_root, d.rel, sconf, entry.config_file)
        tf, files = reader.tf_dir(d.path, d.tf_names)
        modules = reader.modules(d.path, tf)
        if _needs_values(tf, modules):
            tfvars = reader.tfvars(d.path, [*d.auto_tfvars, *sconf.var_files])
    except OrchestratorError as exc:
        error = exc
        tf, files, modules, tfvars = TerraformInfo(), (), (), {}
    return Stack(
        id=stack_id,
        path=d.rel,
        dir=stack_dir,
        config=sconf,
        config_file=entry.config_file,
        tf=tf,
        tf_files=files,
        modules=modules,
        error=error,
        found_by=entry.found_by,
        tfvars=tfvars,
    )


def _needs_values(tf: TerraformInfo, modules: tuple[Module, ...]) -> bool:
    """Whether some remote-state config is an expression (so variable values may resolve it)."""
    for info in (tf, *(m.tf for m in modules)):
        for rs in info.remote_states:
            if rs.for_each is not None or any(isinstance(v, Unresolved) for v in rs.config.values()):
                return True
    return False


class NoTerraformError(DiscoveryError):
    """A stack directory without Terraform code: running it would plan to destroy its state."""


def _no_terraform(d: _Dir) -> DiscoveryError:
    found = ""
    if "terragrunt.hcl" in d.other:
        found = "; found terragrunt.hcl: Terragrunt stacks are not run by orchestrate"
    elif d.other:
        found = f"; found {', '.join(d.other)}"
    return NoTerraformError(
        f"the stack has no Terraform configuration (no *.tf or *.tf.json files){found}",
        where=d.rel or ".",
        hint="Add the stack's Terraform files, or remove the stack; to remove its resources, "
        "run `orchestrate destroy` before deleting its code.",
    )


def check_lanes(real_root: str, path: str, config: StackConfig, config_file: str) -> None:
    """var_files and watch stay inside the repository (SPEC 11: no file outside it is read)."""
    if not config.var_files and not config.watch:
        return
    for key, values in (("var_files", config.var_files), ("watch", config.watch)):
        for value in values:
            if key == "watch" and value.startswith("/"):
                joined = posixpath.normpath(value.lstrip("/"))
            elif os.path.isabs(value):
                joined = "../" + value
            else:
                joined = posixpath.normpath(posixpath.join(path or ".", value))
            outside = joined == ".." or joined.startswith("../")
            if not outside and key == "var_files":
                real = os.path.realpath(os.path.join(real_root, joined))
                outside = not (real == real_root or real.startswith(real_root + os.sep))
            if outside:
                raise DiscoveryError(
                    f"{key} entry {value!r} points outside the repository",
                    where=config_file,
                    hint=f"Keep {key} inside the repository; orchestrate reads no file outside it.",
                )


def _add_unique(stacks: dict[str, Stack], stack: Stack) -> None:
    other = stacks.get(stack.id)
    if other is not None:
        raise DiscoveryError(
            f"duplicate stack id '{stack.id}' (also {_origin(other)})",
            where=stack.config_file if stack.config_file != other.config_file else stack.path or ".",
            hint="Give one of them another `name:`, or move it.",
        )
    stacks[stack.id] = stack


def _origin(stack: Stack) -> str:
    return f"declared by {stack.config_file}" + (
        f" for {stack.path or '.'}" if not stack.config_file.endswith(STACK_CONFIG_NAME) else ""
    )


def _check_slugs(stacks: dict[str, Stack]) -> None:
    """Two ids with one slug would share a lock, a work directory and a plan directory."""
    seen: dict[str, str] = {}
    for sid in sorted(stacks):
        slug = stacks[sid].slug
        if slug in seen:
            raise DiscoveryError(
                f"stacks '{seen[slug]}' and '{sid}' have the same file-name form '{slug}', "
                "so they would share locks, work and plan directories",
                where=stacks[sid].config_file,
                hint="Rename one of them (`name:`).",
            )
        seen[slug] = sid


def _loose_warnings(reader: _Reader, dirs: list[_Dir], stacks: dict[str, Stack], by_rule: bool) -> list[str]:
    used = {m for s in stacks.values() for m in s.module_paths}
    stack_dirs = {s.path for s in stacks.values()}
    warnings: list[str] = []
    for d in dirs:
        if d.rel in used or d.rel in stack_dirs:
            continue
        if d.tf_names and not by_rule:
            warnings.append(
                f"{d.rel or '.'}: has *.tf files but no {STACK_CONFIG_NAME}, so it is not a stack "
                f"(add a {STACK_CONFIG_NAME} to make it one)"
            )
        elif "terragrunt.hcl" in d.other:
            warnings.append(f"{d.rel or '.'}/terragrunt.hcl: Terragrunt stacks are not run by orchestrate")
    return warnings
