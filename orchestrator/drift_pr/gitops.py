"""The drift branches in Git: fetch, build the one drift commit, push it (through orchestrator.git).

The commit is built from objects only (a blob, a tree from the base commit's tree plus the
record, a commit whose single parent is the base), so the user's work tree, index and HEAD
are never touched. A push carries a lease on the branch sha it expects, so a branch someone
else moved since it was read is never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from orchestrator.errors import GitError
from orchestrator.git import Repo, last_message, push_reason

_WORKING_NAMES = {".terraform.lock.hcl", "_orchestrate_override.tf.json"}
_WORKING_SUFFIXES = (".tfstate", ".tfstate.backup", ".tfplan")


class DriftGit:
    """One repository and its remote (``origin``)."""

    def __init__(self, root: Path, remote: str = "origin") -> None:
        self.repo = Repo.open(
            root, remote=remote, hint="Drift pull requests push a branch: run in a clone of your repository."
        )
        if not self.repo.has_remote():
            raise GitError(
                f"the repository has no remote '{remote}' to push drift branches to",
                where=str(root),
                hint=f"Add it: git remote add {remote} <url> (actions/checkout sets it up).",
            )
        self.remote = remote
        self.top = self.repo.top
        self.root = self.repo.root

    # ------------------------------------------------------------ paths

    def path(self, rel: str) -> str:
        """A path relative to the orchestrate root, as a path in the git repository."""
        return self.repo.path(rel)

    def paths(self, rels: Sequence[str]) -> list[str]:
        return self.repo.paths(rels)

    # ------------------------------------------------------------ reading

    def fetch(self, base: str, prefix: str) -> str:
        """Fetch ``base`` and every branch under ``prefix``; returns the base's sha."""
        refspecs = [
            f"+refs/heads/{base}:refs/remotes/{self.remote}/{base}",
            f"+refs/heads/{prefix}*:refs/remotes/{self.remote}/{prefix}*",
        ]
        res = self.repo.fetch(refspecs, prune=True)
        if res.code != 0:
            raise GitError(
                f"cannot fetch '{base}' from {self.remote}: {last_message(res.err)}",
                hint=f"Check that the branch '{base}' exists (drift.base_branch) and that the remote is reachable.",
            )
        return self.rev(f"refs/remotes/{self.remote}/{base}")

    def remote_branches(self, prefix: str) -> dict[str, str]:
        """branch -> sha of the remote's branches under ``prefix``, as last fetched."""
        return self.repo.remote_branches(prefix)

    def rev(self, ref: str) -> str:
        return self.repo.must_rev(ref)

    def head(self) -> str | None:
        return self.repo.head()

    def parents(self, sha: str) -> list[str]:
        return self.repo.parents(sha)

    def changed_paths(self, a: str, b: str) -> list[str]:
        """Paths that differ between commits ``a`` and ``b``."""
        return self.repo.changed_paths(a, b)

    def same_content(self, a: str, b: str, paths: Sequence[str]) -> bool:
        """Commits ``a`` and ``b`` hold the same files under ``paths``."""
        return self.repo.same_content(a, b, paths)

    def dirty(self, paths: Sequence[str]) -> list[str]:
        """Uncommitted changes under ``paths`` in the work tree (terraform's working files aside)."""
        found = []
        for name in self.repo.uncommitted(paths):
            parts = Path(name).parts
            base = parts[-1] if parts else name
            if ".terraform" in parts or base in _WORKING_NAMES or base.endswith(_WORKING_SUFFIXES):
                continue
            found.append(name)
        return found

    def read_file(self, sha: str, path: str) -> str | None:
        """A file's text at a commit; None when it is not there."""
        return self.repo.show(sha, path)

    # ------------------------------------------------------------ writing

    def make_commit(self, parent: str, path: str, text: str, message: str) -> str:
        """A commit on ``parent`` that adds or replaces the file ``path``; nothing else changes."""
        try:
            return self.repo.commit_files(parent, {path: text}, message)
        except GitError as exc:
            raise GitError(f"cannot create the drift commit: {exc.message}") from exc

    def push(self, sha: str, branch: str, expected: str | None) -> None:
        """Point the remote's ``branch`` at ``sha`` if it is still at ``expected`` (None: absent)."""
        res = self.repo.push_leased(sha, branch, expected)
        if res.code != 0:
            raise GitError(
                f"the push of {branch} was rejected: {push_reason(res)}",
                hint="Someone else moved the branch, or branch protection refuses the push (allow "
                "orchestrate/drift/* for the workflow token); the next scan tries again.",
            )
