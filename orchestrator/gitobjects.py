"""Reading commits straight from git's object store (never the work tree).

The rules that judge a pull request come from its base commit, which is not checked out:
its files are read with ``git show <commit>:<path>`` and ``git ls-tree``. Paths here are
relative to the top of the git repository. Every failure is a GitError.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from orchestrator.errors import GitError

_TIMEOUT = 60


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} failed: {exc}") from exc
    if check and out.returncode != 0:
        raise GitError(f"git {' '.join(args[:2])} failed: {out.stderr.strip() or out.returncode}")
    return out


def top_level(root: Path) -> Path:
    out = _git(root, "rev-parse", "--show-toplevel", check=False)
    if out.returncode != 0:
        raise GitError(f"{root} is not inside a git repository", hint="Run it in a clone of your repository.")
    return Path(out.stdout.strip()).resolve()


def has_commit(root: Path, sha: str) -> bool:
    return _git(root, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def resolve(root: Path, ref: str) -> str | None:
    """The commit ``ref`` names here, or None."""
    out = _git(root, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
    return out.stdout.strip() or None if out.returncode == 0 else None


def merge_base(root: Path, a: str, b: str) -> str | None:
    out = _git(root, "merge-base", a, b, check=False)
    return out.stdout.strip() or None if out.returncode == 0 else None


def show(root: Path, commit: str, path: str) -> bytes | None:
    """The bytes of ``path`` (from the top of the repository) at ``commit``; None when absent."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "cat-file", "blob", f"{commit}:{path}"],
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git cat-file failed: {exc}") from exc
    return out.stdout if out.returncode == 0 else None


def files_under(root: Path, commit: str, directory: str) -> list[str]:
    """Every file (blob) below ``directory`` at ``commit``, as paths from the top."""
    directory = directory.strip("/")
    args = ["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit]
    if directory and directory != ".":
        args += ["--", directory + "/"]
    out = _git(root, *args)
    return sorted(p for p in out.stdout.split("\0") if p)


def changed_between(root: Path, old: str, new: str) -> list[str]:
    """Paths (from the top) that differ between two commits, renames as both paths."""
    out = _git(root, "diff", "--name-only", "-z", "--no-renames", old, new, "--")
    return sorted({p for p in out.stdout.split("\0") if p})
