"""The one place orchestrate runs git (like pre-commit's ``git.py``).

Every repository read and write goes through :class:`Repo`: changed files (``changes.py``), the
commit a plan was made from (``engine/source.py``), the sticky comment's key and merge-commit check
(``pr/publish.py``), drift branches (``drift_pr/gitops.py``) and environment records
(``envs/gitops.py``). Each call runs the ``git`` binary with no prompt (GIT_TERMINAL_PROMPT=0),
a fixed locale and a timeout; any failure is one :class:`~orchestrator.errors.GitError` naming
what failed. Callers get plain values (shas, paths, texts), never a library's objects.

Commits are built from objects with a temporary index, so the user's work tree, index and HEAD
are never touched.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator import gitauth
from orchestrator.errors import GitError

GIT_TIMEOUT = 120  # seconds for a local command
NETWORK_TIMEOUT = 300  # seconds for one fetch or push
DEFAULT_IDENTITY = ("orchestrate", "orchestrate@users.noreply.github.com")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Change:
    """One entry of ``git diff --name-status``: A, M, D, R, C, T (or ? for untracked)."""

    status: str
    path: str  # the new path for renames and copies
    old_path: str | None = None


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password in CI
    env["LC_ALL"] = "C"  # messages we parse are English
    env.update(extra or {})
    return env


def last_message(text: str) -> str:
    """The last few meaningful lines of git's output, for an error message."""
    lines = [
        ln.strip().removeprefix("error:").removeprefix("fatal:").strip()
        for ln in text.splitlines()
        if ln.strip() and not ln.strip().startswith("hint:")
    ]
    return "; ".join(lines[-3:])[:400] or "no message"


def run(
    args: Sequence[str],
    *,
    cwd: Path,
    check: bool = True,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT,
    what: str | None = None,
) -> Result:
    """Run ``git args`` in ``cwd``. ``check``: a non-zero exit is a GitError."""
    label = what or "git " + " ".join(args[:2])
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=_env(env),
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed (or not on PATH)", hint="Install git.") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"{label} failed: {exc}") from exc
    res = Result(proc.returncode, proc.stdout, proc.stderr)
    if check and res.code != 0:
        raise GitError(f"{label} failed: {last_message(res.err or res.out)}")
    return res


def _ref(ref: str) -> str:
    """A revision argument; one starting with '-' would be read as an option."""
    if not ref or ref.startswith("-"):
        raise GitError(f"invalid git revision '{ref}'", hint="Give a commit sha or a branch name.")
    return ref


def _split_z(out: str) -> list[str]:
    return [p for p in out.split("\0") if p]


def parse_name_status(out: str) -> list[Change]:
    """``git diff --name-status -z`` output as changes (renames also list the old path as D)."""
    parts = out.split("\0")
    changes: dict[str, Change] = {}
    i = 0
    while i < len(parts) - 1:
        status = parts[i]
        if not status:
            i += 1
            continue
        if status[0] in "RC":
            old, new = parts[i + 1], parts[i + 2]
            changes[new] = Change(status[0], new, old)
            if status[0] == "R":
                changes.setdefault(old, Change("D", old))
            i += 3
        else:
            changes[parts[i + 1]] = Change(status[0], parts[i + 1])
            i += 2
    return list(changes.values())


def parse_status(out: str) -> list[str]:
    """Paths in ``git status --porcelain -z`` output (both sides of a rename)."""
    parts = out.split("\0")
    paths: list[str] = []
    i = 0
    while i < len(parts):
        entry = parts[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # the original path follows as its own field
            if i < len(parts) and parts[i]:
                paths.append(parts[i])
            i += 1
    return paths


def push_reason(res: Result) -> str:
    """Why a push failed: the ref's status from ``--porcelain`` output, and what the remote said."""
    reasons = []
    for line in res.out.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] == "!":
            reasons.append(fields[2].strip())
    for line in res.err.splitlines():
        line = line.strip()
        if line.startswith("remote:") and line != "remote:":
            reasons.append(line.removeprefix("remote:").strip())
    return "; ".join(reasons)[:400] if reasons else last_message(res.err or res.out)


def _locate(root: Path) -> tuple[Path, Path, Path] | None:
    """(root, work-tree top, common git dir) of the clone containing ``root``; None outside one."""
    root = root.resolve()
    if not root.is_dir():
        return None
    res = run(["rev-parse", "--show-toplevel", "--git-common-dir"], cwd=root, check=False)
    lines = res.out.splitlines()
    if res.code != 0 or len(lines) < 2:
        return None
    common = Path(lines[1]) if os.path.isabs(lines[1]) else (root / lines[1]).resolve()
    return root, Path(lines[0]).resolve(), common


class Repo:
    """One clone with a work tree: ``root`` (where orchestrate runs) inside ``top``.

    ``Repo(root)`` outside a clone is a GitError carrying ``hint`` (subclasses set their own).
    """

    hint = "Run orchestrate in a clone of your repository."

    def __init__(self, root: Path, remote: str = "origin", *, hint: str | None = None) -> None:
        located = _locate(root)
        if located is None:
            if root.is_dir():
                bare = run(["rev-parse", "--is-bare-repository"], cwd=root.resolve(), check=False)
                if bare.code == 0 and bare.out.strip() == "true":
                    raise GitError(f"{root} is a bare repository", hint="Run in a clone with a work tree.")
            raise GitError(f"{root} is not inside a git repository", hint=hint or self.hint)
        self.root, self.top, self.common = located  # common: the git directory all work trees share
        self.remote = remote

    @classmethod
    def find(cls, root: Path, remote: str = "origin") -> Repo | None:
        """The clone containing ``root``; None outside git (or in a bare repository)."""
        if _locate(root) is None:
            return None
        return cls(root, remote)

    @classmethod
    def open(cls, root: Path, *, hint: str, remote: str = "origin") -> Repo:
        """``Repo(root)``, with the ``hint`` for "not a clone" said at the call."""
        return cls(root, remote, hint=hint)

    def run(
        self,
        args: Sequence[str],
        *,
        check: bool = True,
        cwd: Path | None = None,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = GIT_TIMEOUT,
        what: str | None = None,
    ) -> Result:
        return run(args, cwd=cwd or self.top, check=check, stdin=stdin, env=env, timeout=timeout, what=what)

    # ------------------------------------------------------------ paths

    def path(self, root_rel: str) -> str:
        """A path relative to the orchestrate root, as a path in the repository (ValueError outside)."""
        return (self.root / root_rel).resolve().relative_to(self.top).as_posix()

    def paths(self, root_rels: Sequence[str]) -> list[str]:
        """:meth:`path` of each, leaving out those outside the repository."""
        out = []
        for rel in root_rels:
            try:
                out.append(self.path(rel))
            except ValueError:
                continue
        return sorted(set(out))

    def root_prefix(self) -> str:
        """The orchestrate root relative to the repository's top ("" at the top)."""
        return "" if self.root == self.top else self.root.relative_to(self.top).as_posix()

    def has_remote(self) -> bool:
        return self.remote in self.run(["remote"], check=False).out.split()

    # ------------------------------------------------------------ commits and refs

    def rev(self, ref: str) -> str | None:
        """The commit ``ref`` names, or None."""
        res = self.run(["rev-parse", "--verify", "--quiet", f"{_ref(ref)}^{{commit}}"], check=False)
        return res.out.strip() if res.code == 0 and res.out.strip() else None

    def must_rev(self, ref: str, hint: str = "Give a commit sha or a branch name.") -> str:
        sha = self.rev(ref)
        if sha is None:
            raise GitError(f"unknown git revision '{ref}'", hint=hint)
        return sha

    def head(self) -> str | None:
        """HEAD's sha; None in a repository without commits."""
        return self.rev("HEAD")

    def has_commit(self, sha: str) -> bool:
        """The commit's objects are here (a shallow clone names parents it does not have)."""
        return self.run(["cat-file", "-e", f"{_ref(sha)}^{{commit}}"], check=False).code == 0

    def merge_base(self, a: str, b: str) -> str | None:
        res = self.run(["merge-base", _ref(a), _ref(b)], check=False)
        return (res.out.strip() or None) if res.code == 0 else None

    def parents(self, sha: str) -> list[str]:
        """The parents of commit ``sha`` (GitError when it is not here)."""
        return self.run(["rev-list", "--parents", "-n", "1", _ref(sha), "--"]).out.split()[1:]

    def is_shallow(self) -> bool:
        return self.run(["rev-parse", "--is-shallow-repository"], check=False).out.strip() == "true"

    def remote_branches(self, prefix: str) -> dict[str, str]:
        """branch -> sha of the remote's branches under ``prefix``, as last fetched."""
        start = f"refs/remotes/{self.remote}/"
        res = self.run(["for-each-ref", "--format=%(objectname) %(refname)", start])
        out = {}
        for line in res.out.splitlines():
            sha, _, ref = line.partition(" ")
            if ref.startswith(start + prefix):
                out[ref[len(start) :]] = sha
        return out

    def subject(self, commit: str) -> str:
        return self.run(["log", "-1", "--format=%s", _ref(commit), "--"]).out.strip()

    # ------------------------------------------------------------ files

    def show(self, commit: str, path: str) -> str | None:
        """A file's text at a commit; None when it is not there."""
        res = self.run(["show", f"{_ref(commit)}:{path}"], check=False)
        return res.out if res.code == 0 else None

    def diff_to_worktree(self, base: str) -> list[Change]:
        """Files that differ between commit ``base`` and the work tree (staged or not), renames found."""
        return parse_name_status(self.run(["diff", "--name-status", "-M", "-z", _ref(base), "--"]).out)

    def changed_paths(self, a: str, b: str) -> list[str]:
        """Paths that differ between commits ``a`` and ``b``."""
        out = self.run(
            ["diff", "--name-only", "--no-renames", "-z", _ref(a), _ref(b), "--"],
            what=f"git diff {a[:12]} {b[:12]}",
        )
        return _split_z(out.out)

    def same_content(self, a: str, b: str, paths: Sequence[str]) -> bool:
        """Commits ``a`` and ``b`` hold the same files under ``paths``."""
        if a == b:
            return True
        res = self.run(["diff", "--quiet", "--no-renames", _ref(a), _ref(b), "--", *paths], check=False)
        if res.code > 1:
            raise GitError(f"git diff {a[:12]} {b[:12]} failed: {last_message(res.err)}")
        return res.code == 0

    def changed_in(self, commit: str) -> list[str]:
        """Files a commit changed (against each parent for a merge; everything for a root commit)."""
        res = self.run(
            ["diff-tree", "--no-commit-id", "--name-only", "-z", "-r", "-m", "--root", _ref(commit)]
        )
        return sorted(set(_split_z(res.out)))

    def tracked_files(self) -> list[str]:
        return _split_z(self.run(["ls-files", "-z"]).out)

    def untracked_files(self) -> list[str]:
        return _split_z(self.run(["ls-files", "-z", "--others", "--exclude-standard"]).out)

    def files_under(self, commit: str, paths: Sequence[str]) -> list[str]:
        return _split_z(self.run(["ls-tree", "-r", "-z", "--name-only", _ref(commit), "--", *paths]).out)

    def uncommitted(self, paths: Sequence[str]) -> list[str]:
        """Repository paths under ``paths`` with uncommitted changes, untracked files included."""
        res = self.run(["status", "--porcelain", "-z", "--untracked-files=all", "--", *paths])
        return parse_status(res.out)

    # ------------------------------------------------------------ fetch and push

    def remote_url(self) -> str | None:
        res = self.run(["remote", "get-url", self.remote], check=False)
        return (res.out.strip() or None) if res.code == 0 else None

    def auth_env(self) -> dict[str, str]:
        """The workflow token for one git command that talks to the remote (orchestrator/gitauth.py),
        unless the clone has credentials of its own for it (a checkout that kept them, or a token
        the user configured: theirs is used, never a second Authorization header)."""
        if not os.environ.get(gitauth.TOKEN_ENV):
            return {}  # no token: no extra git calls
        url = self.remote_url()
        extra = gitauth.auth_env(os.environ, url) if url else {}
        if not extra or url is None:
            return {}
        own = self.run(["config", "--get-urlmatch", "http.extraheader", url], check=False)
        return {} if own.code == 0 and own.out.strip() else extra

    def network(self, args: Sequence[str], env: Mapping[str, str] | None = None) -> Result:
        """``git args`` against the remote (fetch, push): authenticated by :meth:`auth_env`, the
        network timeout, never checked (the caller judges), the token kept out of its output."""
        res = self.run(args, check=False, timeout=NETWORK_TIMEOUT, env={**(env or {}), **self.auth_env()})
        return Result(res.code, gitauth.redact(res.out, os.environ), gitauth.redact(res.err, os.environ))

    def fetch(self, refspecs: Sequence[str], *, prune: bool = False) -> Result:
        """Fetch ``refspecs`` from the remote (no tags); the result, for the caller to judge."""
        return self.network(["fetch", "--no-tags", *(["--prune"] if prune else []), self.remote, *refspecs])

    def fetch_branch(self, branch: str) -> str | None:
        """Fetch the remote's ``branch`` into refs/remotes/<remote>/<branch>; its sha or None."""
        ref = f"refs/remotes/{self.remote}/{branch}"
        res = self.fetch([f"+refs/heads/{branch}:{ref}"])
        if res.code != 0:
            if "couldn't find remote ref" in res.err:
                return None
            raise GitError(f"cannot fetch '{branch}' from {self.remote}: {last_message(res.err)}")
        return self.rev(ref)

    def push_leased(self, sha: str, branch: str, expected: str | None) -> Result:
        """Point the remote's ``branch`` at ``sha`` if it is still at ``expected`` (None: absent).
        The result, for the caller to judge (see :func:`push_reason`)."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        return self.network(["push", "--porcelain", lease, self.remote, f"{sha}:refs/heads/{branch}"])

    # ------------------------------------------------------------ commits from objects

    def identity(self) -> dict[str, str]:
        """Author and committer for commits orchestrate makes: GIT_AUTHOR_* from the environment,
        else the clone's user.*, else orchestrate's own (CI runners configure none). The committer
        is the author unless GIT_COMMITTER_* say otherwise."""
        env: dict[str, str] = {}
        for part, key, default in (
            ("NAME", "user.name", DEFAULT_IDENTITY[0]),
            ("EMAIL", "user.email", DEFAULT_IDENTITY[1]),
        ):
            value = os.environ.get(f"GIT_AUTHOR_{part}") or self._config(key) or default
            env[f"GIT_AUTHOR_{part}"] = value
            env[f"GIT_COMMITTER_{part}"] = os.environ.get(f"GIT_COMMITTER_{part}") or value
        return env

    def _config(self, key: str) -> str:
        return self.run(["config", key], check=False).out.strip()

    def hash_blob(self, text: str) -> str:
        return self.run(["hash-object", "-w", "--stdin"], stdin=text).out.strip()

    def commit_files(self, parent: str, changes: Mapping[str, str | None], message: str) -> str:
        """A commit on ``parent`` with ``changes`` (repo path -> new text, None deletes); HEAD,
        the index and the work tree are not touched."""
        with tempfile.TemporaryDirectory(prefix="orchestrate-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **self.identity()}
            self.run(["read-tree", _ref(parent)], env=env)
            for path, text in changes.items():
                if text is None:
                    self.run(["update-index", "--force-remove", "--", path], env=env)
                    continue
                blob = self.hash_blob(text)
                self.run(["update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"], env=env)
            tree = self.run(["write-tree"], env=env).out.strip()
            return self.run(["commit-tree", tree, "-p", parent, "-m", message], env=env).out.strip()
