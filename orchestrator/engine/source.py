"""What a plan was made from: the commit (orchestrator.git), whether the work tree was dirty, and a
digest of each stack's source files, so apply can prove it applies what was planned."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.discovery import Stack
from orchestrator.git import Repo

# Files terraform or orchestrate write into a stack directory; they are not the stack's source.
_NOT_SOURCE_NAMES = {".terraform.lock.hcl", "_orchestrate_override.tf.json"}
_NOT_SOURCE_SUFFIXES = (".tfstate", ".tfstate.backup", ".tfplan")
_SKIP_DIRS = {".terraform", ".git", ".orchestrate", "__pycache__", "node_modules"}


@dataclass(frozen=True)
class CommitInfo:
    sha: str | None  # None outside a git repository
    dirty: bool  # uncommitted changes in the given paths


def _is_source(name: str) -> bool:
    return name not in _NOT_SOURCE_NAMES and not name.endswith(_NOT_SOURCE_SUFFIXES)


def source_paths(stack: Stack) -> list[str]:
    """Repo-relative directories whose files make up a stack: its own and its local modules."""
    return [stack.path, *stack.module_paths]


def source_digest(root: Path, stack: Stack) -> str:
    """sha256 over the stack's files (recursively) and its local modules' files."""
    h = hashlib.sha256()
    for rel_dir in source_paths(stack):
        base = root / rel_dir
        files: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            files += [Path(dirpath) / f for f in filenames if _is_source(f)]
        for path in sorted(files):
            rel = path.relative_to(root).as_posix()
            try:
                content = path.read_bytes()
            except OSError:
                continue
            h.update(rel.encode() + b"\0" + hashlib.sha256(content).digest())
    return h.hexdigest()


def commit_info(root: Path, paths: Iterable[str]) -> CommitInfo:
    """HEAD's sha and whether ``paths`` have uncommitted changes; (None, False) outside git."""
    repo = Repo.find(root)
    if repo is None:
        return CommitInfo(None, False)
    sha = repo.head()
    if sha is None:
        return CommitInfo(None, True)  # a repository without commits: everything is uncommitted
    rel = [os.path.relpath(repo.root / p, repo.top) for p in paths]
    dirty = bool(rel) and any(_is_source(Path(path).name) for path in repo.uncommitted(rel))
    return CommitInfo(sha, dirty)


def uncommitted_changes(root: Path, *, ignore: Path | None = None) -> list[str]:
    """Repository paths with uncommitted changes (untracked included) outside .orchestrate/ and
    ``ignore``, leaving out what terraform and orchestrate write themselves; [] outside git."""
    repo = Repo.find(root)
    if repo is None:
        return []
    skip = ignore.resolve() if ignore is not None else None
    found = []
    for path in repo.uncommitted([]):
        parts = Path(path).parts
        if ".orchestrate" in parts or ".terraform" in parts or not _is_source(Path(path).name):
            continue
        if skip is not None and (repo.top / path).resolve().is_relative_to(skip):
            continue
        found.append(path)
    return sorted(found)


def head_commit(root: Path) -> str | None:
    return commit_info(root, []).sha
