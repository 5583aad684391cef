"""apply --merged's first check, directly against a real git repository: the work tree must be
at the merged commit, and that commit must have a parent (the default branch before the merge)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.controller.merged import at_merged_commit
from orchestrator.errors import GitError
from orchestrator.git import Repo
from tests.conftest import git


def commit(root: Path, name: str) -> str:
    (root / name).write_text(name)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", name)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Repo:
    return Repo.open(make_repo({"README.md": "x\n"}), hint="test")


def test_head_and_its_first_parent(repo: Repo) -> None:
    first = repo.head()
    second = commit(repo.root, "a.txt")
    assert at_merged_commit(repo, None) == (second, first)
    assert at_merged_commit(repo, second[:10]) == (second, first)  # a short sha names it too


def test_a_work_tree_at_another_commit_is_refused(repo: Repo) -> None:
    first = repo.head()
    assert first is not None
    second = commit(repo.root, "a.txt")
    with pytest.raises(GitError) as info:
        at_merged_commit(repo, first)
    assert info.value.message == f"the work tree is at {second[:12]}, not at the merged commit {first[:12]}"
    assert "Nothing was applied." in (info.value.hint or "")


def test_an_unknown_commit_is_refused(repo: Repo) -> None:
    with pytest.raises(GitError) as info:
        at_merged_commit(repo, "f" * 40)
    assert info.value.message == f"unknown git revision '{'f' * 40}'"


def test_a_root_commit_cannot_be_a_merge(repo: Repo) -> None:
    head = repo.head()
    assert head is not None
    with pytest.raises(GitError) as info:
        at_merged_commit(repo, None)
    assert info.value.message == f"commit {head[:12]} has no parent: it cannot be a merge"


def test_a_repository_without_commits_is_at_no_commit(make_repo: Callable[..., Path]) -> None:
    empty = Repo.open(make_repo({"README.md": "x\n"}, commit=False), hint="test")
    with pytest.raises(GitError) as info:
        at_merged_commit(empty, None)
    assert info.value.message == "the work tree is at no commit, not at the merged commit ?"
