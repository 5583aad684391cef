"""`orchestrate revert`: rollback through Git, reviewed like any change.

- ``revert COMMIT``: ``git revert`` of the commit on the base (in a throw-away work tree), on
  the branch ``orchestrate/revert/<sha12>``. A conflict with later changes is refused with the
  files named: undoing part of a change silently is worse than not undoing it.
- ``revert --to-deployment ID``: the files of the stacks of a recorded apply (the record id
  ``d-...`` from ``orchestrate history``, or its GitHub deployment id) as they were at the
  applied commit: the stack directories and their local modules, files added since removed.

The pull request's plan (the usual PR workflow) shows what undoing it changes in the clouds;
applying that plan is the rollback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.envs.gitops import Repo
from orchestrator.envs.records import Record
from orchestrator.errors import GitError, OrchestratorError
from orchestrator.workspace import Workspace

BRANCH_PREFIX = "orchestrate/revert/"


@dataclass
class RevertPlan:
    branch: str
    base: str
    sha: str | None  # None: nothing to undo on this base
    title: str
    body: str
    stacks: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "base": self.base,
            "commit": self.sha,
            "title": self.title,
            "stacks": self.stacks,
            "files": self.files,
        }


def stacks_touching(ws: Workspace, repo: Repo, files: Sequence[str]) -> list[str]:
    """Stacks whose directory or local modules hold one of ``files`` (repository paths)."""
    out = []
    for sid, stack in ws.stacks.items():
        dirs = []
        for rel in (stack.path, *stack.module_paths):
            try:
                dirs.append(repo.path(rel).rstrip("/") + "/")
            except ValueError:
                continue
        if any(f.startswith(d) for f in files for d in dirs):
            out.append(sid)
    return sorted(out)


def _footer(stacks: Sequence[str]) -> str:
    listed = "\n".join(f"- `{s}`" for s in stacks) or "- (no stack: files outside the stacks)"
    return (
        f"\n\nStacks affected:\n{listed}\n\nThe plan of this pull request shows what undoing it changes; "
        "approving and applying it is the rollback. Opened by `orchestrate revert`.\n"
    )


def revert_commit(ws: Workspace, repo: Repo, ref: str, base_sha: str) -> RevertPlan:
    commit = repo.must_rev(ref)
    subject = repo.subject(commit)
    branch = f"{BRANCH_PREFIX}{commit[:12]}"
    title = f'Revert "{subject}"'
    sha, conflicts = repo.revert_onto(base_sha, commit)
    if conflicts:
        raise GitError(
            f"reverting {commit[:12]} ({subject}) conflicts with later changes in: {', '.join(conflicts)}",
            hint="Undo it by hand on a branch (git revert, resolve, push), or revert the later commits "
            "that touch these files first.",
        )
    if sha is None:
        return RevertPlan(branch, base_sha, None, title, "")
    files = repo.changed_files(sha)
    stacks = stacks_touching(ws, repo, files)
    body = f"Reverts {commit} ({subject}) with `git revert`." + _footer(stacks)
    return RevertPlan(branch, base_sha, sha, title, body, stacks, files)


def find_record(records: Sequence[Record], ident: str) -> Record:
    for rec in records:
        if rec.id == ident or (ident.isdigit() and int(ident) in rec.deployments.values()):
            return rec
    raise OrchestratorError(
        f"no apply on record with id '{ident}'",
        hint="`orchestrate history` lists the records (the RECORD column), with their GitHub deployment ids.",
    )


def revert_to_record(ws: Workspace, repo: Repo, record: Record, base_sha: str) -> RevertPlan:
    if repo.rev(record.commit) is None:
        raise GitError(
            f"the commit {record.commit[:12]} of record {record.id} is not in this clone",
            hint=(
                f"Fetch it: git fetch origin refs/pull/{record.pr}/head (a squash-merged PR's head is "
                "not on any branch)."
                if record.pr
                else "Fetch the full history (actions/checkout with fetch-depth: 0)."
            ),
        )
    paths: set[str] = set()
    for s in record.stacks:
        rels = list(s.paths)
        if not rels and s.stack in ws.stacks:
            stack = ws.stacks[s.stack]
            rels = [stack.path, *stack.module_paths]
        for rel in rels:
            try:
                paths.add(repo.path(rel))
            except ValueError:
                continue
    if not paths:
        raise OrchestratorError(f"record {record.id} names no stack files to restore")
    stacks = sorted(s.stack for s in record.stacks)
    branch = f"{BRANCH_PREFIX}{record.id}"
    title = f"Roll back {', '.join(stacks)} to {record.commit[:12]} (record {record.id})"
    message = f"{title}\n\nThe files of {', '.join(stacks)} as applied by {record.who} at {record.time}."
    sha = repo.restore_paths(base_sha, record.commit, sorted(paths), message)
    if repo.tree_of(sha) == repo.tree_of(base_sha):
        return RevertPlan(branch, base_sha, None, title, "")
    files = repo.run(["diff", "--name-only", base_sha, sha]).out.split()
    body = (
        f"Returns the files of {', '.join(f'`{s}`' for s in stacks)} to commit {record.commit}, as applied "
        f"by {record.who} at {record.time} (record `{record.id}`, plan set `{record.plan_set}`)."
        + _footer(stacks_touching(ws, repo, files))
    )
    return RevertPlan(branch, base_sha, sha, title, body, stacks_touching(ws, repo, files), files)
