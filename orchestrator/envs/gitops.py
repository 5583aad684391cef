"""The git operations of environments: notes under refs/notes/orchestrate, restores and reverts.

Built on :class:`orchestrator.git.Repo` (which runs every git command: no prompt, a timeout, one
GitError). The user's work tree, index and HEAD are never touched: commits are built with a
temporary index, reverts run in a temporary ``git worktree``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from orchestrator import git
from orchestrator.errors import GitError


class Repo(git.Repo):
    """A clone for environment records: notes, restores and reverts on top of orchestrator.git."""

    @classmethod
    def of(cls, root: Path, remote: str = "origin") -> Repo:
        found = cls.open(
            root, remote=remote, hint="Records, set-var and revert work in a clone of your repository."
        )
        assert isinstance(found, Repo)
        return found

    def changed_files(self, commit: str) -> list[str]:
        return self.changed_in(commit)

    def push_branch(self, sha: str, branch: str, expected: str | None) -> None:
        """Point the remote's ``branch`` at ``sha`` if it is still at ``expected`` (None: absent)."""
        res = self.push_leased(sha, branch, expected)
        if res.code != 0:
            raise GitError(
                f"the push of {branch} was rejected: {git.push_reason(res)}",
                hint="Someone else moved the branch, or branch protection refuses it; run again.",
            )

    # ------------------------------------------------------------ commits from objects

    def tree_of(self, commit: str) -> str:
        return self.run(["rev-parse", f"{commit}^{{tree}}"]).out.strip()

    def create_branch(self, branch: str, sha: str) -> None:
        """A local branch at ``sha``; refused when it exists elsewhere."""
        current = self.rev(f"refs/heads/{branch}")
        if current == sha:
            return
        if current is not None:
            raise GitError(
                f"the branch '{branch}' already exists at {current[:12]}",
                hint=f"Delete it (git branch -D {branch}) or use --open-pr.",
            )
        self.run(["branch", branch, sha])

    def restore_paths(self, parent: str, source: str, paths: Sequence[str], message: str) -> str:
        """A commit on ``parent`` whose files under ``paths`` are those of ``source``."""
        with tempfile.TemporaryDirectory(prefix="orchestrate-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **self.identity()}
            self.run(["read-tree", parent], env=env)
            present = self.files_under(parent, paths)
            if present:
                self.run(
                    ["update-index", "--force-remove", "--stdin"], env=env, stdin="\n".join(present) + "\n"
                )
            listing = self.run(["ls-tree", "-r", "-z", source, "--", *paths]).out
            lines = [entry for entry in listing.split("\0") if entry]
            if lines:
                self.run(["update-index", "--index-info"], env=env, stdin="\n".join(lines) + "\n")
            tree = self.run(["write-tree"], env=env).out.strip()
            return self.run(["commit-tree", tree, "-p", parent, "-m", message], env=env).out.strip()

    def revert_onto(self, base: str, commit: str) -> tuple[str | None, list[str]]:
        """``git revert commit`` on ``base`` in a temporary work tree: (new sha, []), (None, the
        conflicting files), or (None, []) when ``base`` already has it undone."""
        with tempfile.TemporaryDirectory(prefix="orchestrate-revert-") as tmp:
            wt = Path(tmp) / "wt"
            self.run(["worktree", "add", "--detach", "--quiet", str(wt), base], what="git worktree add")
            try:
                args = ["revert", "--no-edit"]
                if len(self.run(["rev-list", "--parents", "-n", "1", commit]).out.split()) > 2:
                    args += ["-m", "1"]  # a merge commit: undo what it brought into its first parent
                res = self.run([*args, commit], check=False, cwd=wt, env=self.identity())
                if res.code == 0:
                    return self.run(["rev-parse", "HEAD"], cwd=wt).out.strip(), []
                conflicts = self.run(["diff", "--name-only", "--diff-filter=U"], cwd=wt, check=False)
                files = sorted(ln for ln in conflicts.out.splitlines() if ln)
                self.run(["revert", "--abort"], cwd=wt, check=False)
                said = res.out + res.err
                if not files and ("nothing to commit" in said or "nothing added to commit" in said):
                    return None, []
                if not files:
                    raise GitError(f"git revert {commit[:12]} failed: {git.last_message(res.err or res.out)}")
                return None, files
            finally:
                self.run(["worktree", "remove", "--force", str(wt)], check=False)
                self.run(["worktree", "prune"], check=False)

    # ------------------------------------------------------------ notes

    def batch_env(self) -> dict[str, str]:
        """No ssh passphrase or host-key prompt either: a record's push happens after every apply,
        also on a laptop whose origin is an ssh URL it cannot write to; it must fail, not wait.
        A user's own ssh command (GIT_SSH_COMMAND, GIT_SSH, core.sshCommand) is left alone."""
        if os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH"):
            return {}
        if self.run(["config", "core.sshCommand"], check=False).out.strip():
            return {}
        return {"GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}

    @contextlib.contextmanager
    def notes_lock(self) -> Iterator[None]:
        """Serialise read-modify-write of the notes ref between processes of this clone."""
        path = self.common / "orchestrate-notes.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def note(self, ref: str, commit: str) -> str | None:
        res = self.run(["notes", f"--ref={ref}", "show", commit], check=False)
        return res.out if res.code == 0 else None

    def set_note(self, ref: str, commit: str, text: str) -> None:
        blob = self.run(["hash-object", "-w", "--stdin"], stdin=text).out.strip()
        self.run(["notes", f"--ref={ref}", "add", "-f", "-C", blob, commit], env=self.identity())

    def all_notes(self, ref: str) -> dict[str, str]:
        """commit -> note text of every note under ``ref``."""
        res = self.run(["notes", f"--ref={ref}", "list"], check=False)
        if res.code != 0:
            return {}
        pairs = [ln.split() for ln in res.out.splitlines() if ln.strip()]
        if not pairs:
            return {}
        batch = self.run(["cat-file", "--batch"], stdin="".join(f"{blob}\n" for blob, _ in pairs))
        texts = _parse_batch(batch.out)
        return {commit: texts.get(blob, "") for blob, commit in pairs}

    def fetch_notes(self, ref: str) -> bool:
        """Merge the remote's notes into ours (union of lines); False when the remote has none."""
        scratch = f"{ref}-remote"
        res = self.network(["fetch", "--no-tags", self.remote, f"+{ref}:{scratch}"], env=self.batch_env())
        if res.code != 0:
            if "couldn't find remote ref" in res.err:
                return False
            raise GitError(f"cannot fetch {ref} from {self.remote}: {git.last_message(res.err)}")
        theirs = self.rev(scratch)
        ours = self.rev(ref)
        if theirs is None:
            return False
        if ours is None:
            self.run(["update-ref", ref, theirs])
        elif ours != theirs:
            short = ref.removeprefix("refs/notes/")
            self.run(
                ["notes", f"--ref={short}", "merge", "-q", "-s", "cat_sort_uniq", scratch],
                env=self.identity(),
                what="git notes merge",
            )
        return True

    def push_notes(self, ref: str) -> bool:
        """Push ``ref``; False when the remote moved (fetch, merge and try again)."""
        res = self.network(["push", "--porcelain", self.remote, f"{ref}:{ref}"], env=self.batch_env())
        if res.code == 0:
            return True
        text = res.out + res.err
        if "rejected" in text or "non-fast-forward" in text or "fetch first" in text or "stale" in text:
            return False
        if "cannot lock ref" in text or "failed to update ref" in text:
            return False
        raise GitError(f"cannot push {ref} to {self.remote}: {git.last_message(res.err or res.out)}")


def _parse_batch(out: str) -> dict[str, str]:
    """Blob texts from ``git cat-file --batch`` output (sizes are bytes: decode carefully)."""
    data = out.encode()
    texts: dict[str, str] = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        header = data[i:nl].decode().split()
        i = nl + 1
        if len(header) < 3 or header[1] == "missing":
            continue
        size = int(header[2])
        texts[header[0]] = data[i : i + size].decode("utf-8", "replace")
        i += size + 1
    return texts
