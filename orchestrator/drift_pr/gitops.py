"""The drift branches in Git (GitPython): fetch, build the one drift commit, push it.

The commit is built from objects only (a blob, a tree from the base commit's tree plus the
record, a commit whose single parent is the base), so the user's work tree, index and HEAD
are never touched. A push carries a lease on the branch sha it expects, so a branch someone
else moved since it was read is never overwritten.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator.errors import GitError

GIT_TIMEOUT = 300  # seconds for one fetch or push
DEFAULT_AUTHOR = ("orchestrate", "orchestrate@users.noreply.github.com")
_WORKING_NAMES = {".terraform.lock.hcl", "_orchestrate_override.tf.json"}
_WORKING_SUFFIXES = (".tfstate", ".tfstate.backup", ".tfplan")


def _last_line(exc: Any) -> str:
    text = (getattr(exc, "stderr", "") or str(exc)).strip()
    lines = [
        ln.strip().removeprefix("stderr:").strip().strip("'").strip()
        for ln in text.splitlines()
        if ln.strip() and not ln.strip().startswith("hint:")
    ]
    return "; ".join(lines[-3:])[:400] if lines else "no message"


def _push_reason(exc: Any) -> str:
    """Why a push failed: the ref's status from ``--porcelain`` output, and what the remote said."""
    reasons = []
    for line in str(getattr(exc, "stdout", "") or "").splitlines():
        parts = line.strip("'").split("\t")
        if len(parts) >= 3 and parts[0] == "!":
            reasons.append(parts[2].strip())
    for line in str(getattr(exc, "stderr", "") or "").splitlines():
        line = line.strip().removeprefix("stderr:").strip().strip("'").strip()
        if line.startswith("remote:") and line != "remote:":
            reasons.append(line.removeprefix("remote:").strip())
    return "; ".join(reasons)[:400] if reasons else _last_line(exc)


class DriftGit:
    """One repository and its remote (``origin``)."""

    def __init__(self, root: Path, remote: str = "origin") -> None:
        import git

        try:
            self.repo = git.Repo(root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise GitError(
                f"{root} is not inside a git repository",
                hint="Drift pull requests push a branch: run in a clone of your repository.",
            ) from exc
        if self.repo.bare or self.repo.working_tree_dir is None:
            raise GitError(f"{root} is a bare repository", hint="Run in a clone with a work tree.")
        self.remote = remote
        if remote not in [r.name for r in self.repo.remotes]:
            raise GitError(
                f"the repository has no remote '{remote}' to push drift branches to",
                where=str(root),
                hint=f"Add it: git remote add {remote} <url> (actions/checkout sets it up).",
            )
        self.top = Path(self.repo.working_tree_dir).resolve()
        self.root = root.resolve()

    # ------------------------------------------------------------ paths

    def path(self, rel: str) -> str:
        """A path relative to the orchestrate root, as a path in the git repository."""
        return (self.root / rel).resolve().relative_to(self.top).as_posix()

    def paths(self, rels: Sequence[str]) -> list[str]:
        out = []
        for rel in rels:
            try:
                out.append(self.path(rel))
            except ValueError:  # outside the repository (an absolute --config elsewhere)
                continue
        return sorted(set(out))

    # ------------------------------------------------------------ reading

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        # Never wait for a password prompt in CI; GitHub Actions configures the credential.
        with self.repo.git.custom_environment(GIT_TERMINAL_PROMPT="0"):
            yield

    def fetch(self, base: str, prefix: str) -> str:
        """Fetch ``base`` and every branch under ``prefix``; returns the base's sha."""
        import git

        refspecs = [
            f"+refs/heads/{base}:refs/remotes/{self.remote}/{base}",
            f"+refs/heads/{prefix}*:refs/remotes/{self.remote}/{prefix}*",
        ]
        try:
            with self._quiet():
                self.repo.git.fetch(
                    "--no-tags", "--prune", self.remote, *refspecs, kill_after_timeout=GIT_TIMEOUT
                )
        except git.GitCommandError as exc:
            raise GitError(
                f"cannot fetch '{base}' from {self.remote}: {_last_line(exc)}",
                hint=f"Check that the branch '{base}' exists (drift.base_branch) and that the remote is reachable.",
            ) from exc
        return self.rev(f"refs/remotes/{self.remote}/{base}")

    def remote_branches(self, prefix: str) -> dict[str, str]:
        """branch -> sha of the remote's branches under ``prefix``, as last fetched."""
        out: dict[str, str] = {}
        start = f"refs/remotes/{self.remote}/"
        for ref in self.repo.refs:
            path = str(ref.path)
            if path.startswith(start + prefix):
                out[path[len(start) :]] = ref.commit.hexsha
        return out

    def rev(self, ref: str) -> str:
        import git

        try:
            return str(self.repo.commit(ref).hexsha)
        except (git.BadName, ValueError) as exc:
            raise GitError(f"unknown git revision '{ref}'") from exc

    def head(self) -> str | None:
        try:
            return str(self.repo.head.commit.hexsha)
        except ValueError:
            return None

    def parents(self, sha: str) -> list[str]:
        return [p.hexsha for p in self.repo.commit(sha).parents]

    def changed_paths(self, a: str, b: str) -> list[str]:
        """Paths that differ between commits ``a`` and ``b``."""
        import git

        try:
            out = self.repo.git.diff("--name-only", "--no-renames", a, b)
        except git.GitCommandError as exc:
            raise GitError(f"git diff {a[:12]} {b[:12]} failed: {_last_line(exc)}") from exc
        return [ln for ln in out.splitlines() if ln]

    def same_content(self, a: str, b: str, paths: Sequence[str]) -> bool:
        """Commits ``a`` and ``b`` hold the same files under ``paths``."""
        import git

        if a == b:
            return True
        try:
            self.repo.git.diff("--quiet", "--no-renames", a, b, "--", *paths)
        except git.GitCommandError as exc:
            if exc.status == 1:
                return False
            raise GitError(f"git diff {a[:12]} {b[:12]} failed: {_last_line(exc)}") from exc
        return True

    def dirty(self, paths: Sequence[str]) -> list[str]:
        """Uncommitted changes under ``paths`` in the work tree (terraform's working files aside)."""
        import git

        try:
            out = self.repo.git.status("--porcelain", "--untracked-files=all", "--", *paths)
        except git.GitCommandError as exc:
            raise GitError(f"git status failed: {_last_line(exc)}") from exc
        found = []
        for line in out.splitlines():
            name = line[3:].strip().strip('"')
            if not name:
                continue
            parts = Path(name).parts
            base = parts[-1] if parts else name
            if ".terraform" in parts or base in _WORKING_NAMES or base.endswith(_WORKING_SUFFIXES):
                continue
            found.append(name)
        return found

    def read_file(self, sha: str, path: str) -> str | None:
        """A file's text at a commit; None when it is not there."""
        try:
            blob = self.repo.commit(sha).tree / path
            data: bytes = blob.data_stream.read()
        except (KeyError, ValueError, TypeError):
            return None
        return data.decode("utf-8", "replace")

    # ------------------------------------------------------------ writing

    def _actor(self) -> Any:
        import git

        reader = self.repo.config_reader()
        name = os.environ.get("GIT_AUTHOR_NAME") or reader.get_value("user", "name", "")
        email = os.environ.get("GIT_AUTHOR_EMAIL") or reader.get_value("user", "email", "")
        if name and email:
            return git.Actor(str(name), str(email))
        return git.Actor(*DEFAULT_AUTHOR)

    def make_commit(self, parent: str, path: str, text: str, message: str) -> str:
        """A commit on ``parent`` that adds or replaces the file ``path``; nothing else changes."""
        import git
        from git.index.typ import BaseIndexEntry
        from gitdb import IStream  # type: ignore[import-untyped]

        try:
            base = self.repo.commit(parent)
            index = git.IndexFile.from_tree(self.repo, base)
            data = text.encode("utf-8")
            stored = self.repo.odb.store(IStream("blob", len(data), io.BytesIO(data)))
            index.add([BaseIndexEntry((0o100644, stored.binsha, 0, path))], write=False)
            tree = index.write_tree()
            actor = self._actor()
            commit = git.Commit.create_from_tree(
                self.repo, tree, message, parent_commits=[base], head=False, author=actor, committer=actor
            )
        except (git.GitCommandError, ValueError, OSError) as exc:
            raise GitError(f"cannot create the drift commit: {_last_line(exc)}") from exc
        return str(commit.hexsha)

    def push(self, sha: str, branch: str, expected: str | None) -> None:
        """Point the remote's ``branch`` at ``sha`` if it is still at ``expected`` (None: absent)."""
        import git

        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        try:
            with self._quiet():
                self.repo.git.push(
                    "--porcelain",
                    lease,
                    self.remote,
                    f"{sha}:refs/heads/{branch}",
                    kill_after_timeout=GIT_TIMEOUT,
                )
        except git.GitCommandError as exc:
            raise GitError(
                f"the push of {branch} was rejected: {_push_reason(exc)}",
                hint="Someone else moved the branch, or branch protection refuses the push (allow "
                "orchestrate/drift/* for the workflow token); the next scan tries again.",
            ) from exc
