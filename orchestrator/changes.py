"""Which stacks a change touches (SPEC §4 "Changed stacks").

The pure core maps changed file paths to stacks: a file in the stack's directory, in a
local module it uses (recursively), or matching one of its ``watch`` globs. Git is read only at
the edge (orchestrator.git), to list changed files against a base ref, uncommitted ones included.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from orchestrator.config import STACK_CONFIG_NAME, RootConfig, parse_root_config
from orchestrator.discovery import Stack
from orchestrator.errors import ConfigError, GitError
from orchestrator.git import Change, Repo
from orchestrator.workspace import Workspace


@dataclass(frozen=True)
class FileChange:
    path: str  # repo-relative posix path (the new path for renames)
    status: str  # A, M, D, R, T, ? (untracked)
    old_path: str | None = None


@dataclass
class ChangedStacks:
    reasons: dict[str, list[str]] = field(default_factory=dict)  # stack id -> why it is included
    deleted: list[str] = field(default_factory=list)  # stacks whose stack.yaml was removed
    base: str | None = None
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A repo-relative glob with ** (any depth), * and ? (within one segment)."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def watch_patterns(stack: Stack) -> list[str]:
    """The stack's watch globs made repo-relative."""
    out = []
    for pat in stack.config.watch:
        joined = posixpath.normpath(posixpath.join(stack.path, pat)) if not pat.startswith("/") else pat[1:]
        out.append(joined)
    return out


def var_file_paths(stack: Stack) -> list[tuple[str, str]]:
    """(repo-relative path, as written) of the stack's var_files that lie outside its directory."""
    out = []
    for vf in stack.config.var_files:
        joined = posixpath.normpath(posixpath.join(stack.path, vf))
        if not _under(joined, stack.path):
            out.append((joined, vf))
    return out


def _under(path: str, directory: str) -> bool:
    if directory in ("", "."):
        return True  # the repository root holds every file
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _in_module(path: str, module: str) -> bool:
    """A module is its directory; a module at the repository root is the root's own files
    (its subdirectories are other modules and stacks, which count on their own)."""
    if module in ("", "."):
        return "/" not in path
    return _under(path, module)


def _add_reason(reasons: dict[str, list[str]], sid: str, why: str) -> None:
    """Record ``why`` for stack ``sid`` once, in first-seen order."""
    bucket = reasons.setdefault(sid, [])
    if why not in bucket:
        bucket.append(why)


def stacks_for_files(stacks: Mapping[str, Stack], files: Iterable[str]) -> dict[str, list[str]]:
    """Stacks touched by changed ``files`` (repo-relative posix), with the reasons. Pure."""
    files = sorted(set(files))
    # A file belongs to the deepest stack directory that contains it (nested stacks).
    by_dir = sorted(((s.path, sid) for sid, s in stacks.items()), key=lambda x: -len(x[0]))
    reasons: dict[str, list[str]] = {}
    for f in files:
        for d, sid in by_dir:
            if _under(f, d):
                _add_reason(reasons, sid, f"changed file {f}")
                break
    for sid, stack in stacks.items():
        for module in stack.module_paths:
            hits = [f for f in files if _in_module(f, module)]
            if hits:
                _add_reason(
                    reasons, sid, f"module {module} ({hits[0]}{' and more' if len(hits) > 1 else ''})"
                )
        for pattern, shown in zip(watch_patterns(stack), stack.config.watch, strict=True):
            rx = _glob_regex(pattern)
            hits = [f for f in files if rx.match(f) or fnmatch.fnmatchcase(f, pattern)]
            if hits:
                _add_reason(reasons, sid, f"watch {shown} ({hits[0]})")
        for path, shown in var_file_paths(stack):
            if path in files:
                _add_reason(reasons, sid, f"var file {shown} ({path})")
    return reasons


def _root_config_diff(old: RootConfig, new: RootConfig, stacks: Mapping[str, Stack]) -> dict[str, list[str]]:
    """Stacks whose behaviour a change of orchestrate.yaml can alter."""
    reasons: dict[str, list[str]] = {}
    everything = (
        old.stacks_dir != new.stacks_dir
        or old.backend != new.backend
        or old.terraform.binary != new.terraform.binary
        or old.terraform.version != new.terraform.version
    )
    for sid, stack in stacks.items():
        if everything:
            reasons[sid] = ["orchestrate.yaml: terraform or backend settings changed"]
        elif stack.cloud is not None and old.clouds.get(stack.cloud) != new.clouds.get(stack.cloud):
            reasons[sid] = [f"orchestrate.yaml: cloud target '{stack.cloud}' changed"]
    return reasons


# ---------------------------------------------------------------- git edge

_NOT_A_REPO_HINT = "--changed compares git commits: run it in a clone of your repository."


def _base_candidates(env: Mapping[str, str]) -> list[str]:
    refs = []
    # In a pull_request workflow GitHub names the branch the PR targets.
    if env.get("GITHUB_BASE_REF"):
        refs.append(f"origin/{env['GITHUB_BASE_REF']}")
    refs += ["origin/main", "origin/HEAD", "origin/master"]
    return list(dict.fromkeys(refs))


def default_base(repo: Repo, env: Mapping[str, str] | None = None) -> str | None:
    """The merge-base with the PR's target branch (GITHUB_BASE_REF), origin/main, the remote's
    default branch or origin/master; else HEAD~1; else None (a single commit)."""
    for remote_ref in _base_candidates(os.environ if env is None else env):
        if repo.rev(remote_ref) is None:
            continue
        base = repo.merge_base("HEAD", remote_ref)
        if base is not None:
            return base
    parent = repo.rev("HEAD~1")
    # In a shallow clone HEAD names its parent but the parent's objects are not there.
    return parent if parent is not None and repo.has_commit(parent) else None


def _resolve_base(repo: Repo, base: str) -> str:
    """The commit to compare with for ``--base``: where the branch left it (like a PR's diff)."""
    base_sha = repo.rev(base)
    if base_sha is None:
        raise GitError(
            f"unknown git ref '{base}'",
            hint="Pass a branch, tag or commit that exists locally (fetch it first in CI).",
        )
    if not repo.has_commit(base_sha):
        raise GitError(
            f"git ref '{base}' names a commit this shallow clone does not have",
            hint="Fetch more history (actions/checkout with fetch-depth: 0).",
        )
    # Like a pull request's diff on GitHub (base...HEAD): what the branch changed since it left
    # the base, not what the base changed since (those stacks must not be re-planned with the
    # branch's older code).
    return repo.merge_base("HEAD", base_sha) or base_sha


def changed_files(root: Path, base: str | None) -> tuple[list[FileChange], str | None, Repo]:
    """Files changed between ``base`` and the work tree (commits, staged, unstaged, untracked)."""
    repo = Repo.open(root, hint=_NOT_A_REPO_HINT)
    if repo.head() is None:
        raise GitError("the repository has no commits yet", hint="Commit your stacks first.")
    base_sha = _resolve_base(repo, base) if base is not None else default_base(repo)
    if base_sha is None:
        # A single commit: everything in it is new.
        found = [Change("A", path) for path in repo.tracked_files()]
    else:
        found = repo.diff_to_worktree(base_sha)
    changes = {c.path: c for c in found}
    for path in repo.untracked_files():
        if not _is_working_file(path):
            changes.setdefault(path, Change("?", path))
    prefix = repo.root_prefix()
    result = []
    for c in changes.values():
        if prefix and not _under(c.path, prefix):
            continue
        rel = c.path[len(prefix) + 1 :] if prefix else c.path
        old = c.old_path[len(prefix) + 1 :] if (prefix and c.old_path) else c.old_path
        result.append(FileChange(rel, c.status, old))
    return sorted(result, key=lambda c: c.path), base_sha, repo


# Directories terraform and orchestrate create inside a checkout; untracked files there are
# working files, not changes (many repositories do not gitignore them).
_WORKING_DIRS = {".terraform", ".orchestrate"}


def _is_working_file(path: str) -> bool:
    parts = path.split("/")
    return any(p in _WORKING_DIRS for p in parts[:-1]) or parts[-1].endswith(
        (".tfstate", ".tfstate.backup", ".tfplan", ".terraform.tfstate.lock.info")
    )


def _deleted_stacks(ws: Workspace, changes: list[FileChange], repo: Repo, base_sha: str | None) -> list[str]:
    stacks_dir = ws.config.stacks_dir.rstrip("/")
    deleted = []
    for c in changes:
        if c.status != "D" or posixpath.basename(c.path) != STACK_CONFIG_NAME:
            continue
        directory = posixpath.dirname(c.path)
        if (ws.root / directory / STACK_CONFIG_NAME).exists():
            continue
        sid = posixpath.relpath(directory, stacks_dir) if _under(directory, stacks_dir) else directory
        if base_sha is not None:
            name = _stack_name(repo.show(base_sha, repo.path(c.path)))
            if name is not None:
                sid = name
        if sid not in ws.stacks:
            deleted.append(sid)
    return sorted(set(deleted))


def _stack_name(text: str | None) -> str | None:
    """The ``name:`` of a stack.yaml's text; None when absent or unreadable."""
    if text is None:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _old_root_config(repo: Repo, base_sha: str) -> RootConfig | None:
    text = repo.show(base_sha, repo.path("orchestrate.yaml"))
    if text is None:
        return None
    try:
        return parse_root_config(text, "orchestrate.yaml@base")
    except ConfigError:
        return None  # an invalid old config: treat it as different


def changed_stacks(
    ws: Workspace, *, base: str | None = None, include_dependents: bool = True
) -> ChangedStacks:
    """Stacks changed against ``base`` (and, unless told not to, everything downstream)."""
    changes, base_sha, repo = changed_files(ws.root, base)
    warnings = []
    if base_sha is None and repo.is_shallow():
        warnings.append(
            "this clone is shallow, so there is no earlier commit to compare with: every stack counts "
            "as changed (fetch the history, e.g. actions/checkout with fetch-depth: 0, or pass --base)"
        )
    for message in warnings:
        from orchestrator.ui import warn

        warn(message)
    files = [c.path for c in changes] + [c.old_path for c in changes if c.old_path]
    reasons = stacks_for_files(ws.stacks, files)
    if "orchestrate.yaml" in files and base_sha is not None:
        old = _old_root_config(repo, base_sha)
        if old is None:
            extra = {sid: ["orchestrate.yaml changed"] for sid in ws.stacks}
        else:
            extra = _root_config_diff(old, ws.config, ws.stacks)
        for sid, why in extra.items():
            reasons.setdefault(sid, []).extend(w for w in why if w not in reasons.get(sid, []))
    if include_dependents:
        graph = ws.graph
        for sid in graph.ordered(graph.downstream_of(list(reasons))):
            ups = sorted(u for u in graph.upstream_of([sid]) if u in reasons and u != sid)
            direct = [u for u in graph.dependencies(sid) if u in reasons] or ups
            reasons.setdefault(sid, []).append("dependent of " + ", ".join(direct))
    return ChangedStacks(
        reasons={k: reasons[k] for k in ws.graph.ordered(reasons)},
        deleted=_deleted_stacks(ws, changes, repo, base_sha),
        base=base_sha,
        files=sorted(set(files)),
        warnings=warnings,
    )
