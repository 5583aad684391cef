"""The open pull requests touching each stack (for `orchestrate status`).

A PR's changed files are computed from git, not from the PR's own file list: its head is fetched
(refs/pull/N/head, which GitHub keeps for forks too) into FETCH_HEAD only, no ref is written.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.changes import stacks_for_files
from orchestrator.discovery import Stack
from orchestrator.errors import OrchestratorError
from orchestrator.git import Repo
from orchestrator.github import GitHub, PullRequest


def _head_here(repo: Repo, pr: PullRequest) -> bool:
    if pr.head_sha and repo.has_commit(pr.head_sha):
        return True
    for refspec in (f"refs/pull/{pr.number}/head", f"refs/heads/{pr.head_ref}"):
        if refspec.endswith("/") or refspec.startswith("refs/heads/-"):
            continue
        repo.fetch([refspec])
        if pr.head_sha and repo.has_commit(pr.head_sha):
            return True
    return False


def pulls_by_stack(
    gh: GitHub, repo: Repo, head: str, branch: str, stacks: Mapping[str, Stack], warnings: list[str]
) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    prefix = repo.root_prefix()
    for pr in gh.find_pulls(base=branch):
        try:
            if not _head_here(repo, pr):
                warnings.append(f"pull request #{pr.number}: its head {pr.head_sha[:12]} cannot be fetched")
                continue
            base = repo.merge_base(head, pr.head_sha) or head
            changed = repo.changed_paths(base, pr.head_sha)
        except OrchestratorError as exc:
            warnings.append(f"pull request #{pr.number}: {exc.message}")
            continue
        rel = [c[len(prefix) + 1 :] if prefix and c.startswith(prefix + "/") else c for c in changed]
        for sid in stacks_for_files(stacks, rel):
            out.setdefault(sid, []).append(pr.number)
    return out
