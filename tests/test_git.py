"""orchestrator.git, directly: real repositories in temp dirs and a bare remote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from orchestrator.errors import GitError
from orchestrator.git import DEFAULT_IDENTITY, Repo, parse_name_status, parse_status, push_reason, run

HINT = "run it in a clone"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    commit(seed, {"infra/stacks/a/main.tf": "# a\n", "infra/orchestrate.yaml": "version: 1\n"}, "first")
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(tmp_path / "origin.git"))
    return tmp_path / "origin.git"


@pytest.fixture
def clone(origin: Path, tmp_path: Path) -> Path:
    git(tmp_path, "clone", "-q", str(origin), str(tmp_path / "clone"))
    return tmp_path / "clone"


def test_find_and_open(clone: Path, origin: Path, tmp_path: Path) -> None:
    repo = Repo.find(clone / "infra")
    assert repo is not None
    assert repo.top == clone.resolve() and repo.root == (clone / "infra").resolve()
    assert repo.root_prefix() == "infra" and repo.path("stacks/a") == "infra/stacks/a"
    assert repo.paths(["stacks/a", "../../elsewhere", "stacks/a"]) == ["infra/stacks/a"]
    assert repo.common == (clone / ".git").resolve()
    outside = tmp_path / "plain"
    outside.mkdir()
    assert Repo.find(outside) is None and Repo.find(tmp_path / "missing") is None
    with pytest.raises(GitError, match="not inside a git repository") as err:
        Repo.open(outside, hint=HINT)
    assert err.value.hint == HINT
    with pytest.raises(GitError, match="bare repository"):
        Repo.open(origin, hint=HINT)


def test_revisions_and_history(clone: Path) -> None:
    repo = Repo.open(clone, hint=HINT)
    first = git(clone, "rev-parse", "HEAD")
    second = commit(clone, {"infra/stacks/b/main.tf": "# b\n"})
    assert repo.head() == second and repo.rev("HEAD~1") == first
    assert repo.rev("no-such-branch") is None and repo.rev("origin/main") == first
    assert repo.parents(second) == [first] and repo.parents(first) == []
    assert repo.has_commit(first) and not repo.has_commit("0" * 40)
    assert repo.merge_base("HEAD", "origin/main") == first
    assert repo.subject(second) == "change"
    assert not repo.is_shallow()
    with pytest.raises(GitError, match="unknown git revision 'nope'"):
        repo.must_rev("nope")
    with pytest.raises(GitError, match="rev-list"):
        repo.parents("0" * 40)
    # A revision that looks like an option never reaches git as one.
    for hostile in ("--output=/tmp/x", "-h"):
        with pytest.raises(GitError, match="invalid git revision"):
            repo.rev(hostile)
        with pytest.raises(GitError, match="invalid git revision"):
            repo.show(hostile, "x")


def test_a_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    repo = Repo.open(tmp_path, hint=HINT)
    assert repo.head() is None
    assert repo.tracked_files() == []


def test_files_diffs_and_status(clone: Path) -> None:
    repo = Repo.open(clone, hint=HINT)
    base = repo.must_rev("HEAD")
    git(clone, "mv", "infra/stacks/a/main.tf", "infra/stacks/a/moved.tf")
    (clone / "infra/orchestrate.yaml").write_text("version: 2\n")
    (clone / "new file.tf").write_text("# untracked, with a space\n")
    (clone / ".gitignore").write_text("*.log\n")
    (clone / "ignored.log").write_text("x\n")
    changes = {c.path: c for c in repo.diff_to_worktree(base)}
    assert changes["infra/stacks/a/moved.tf"].status == "R"
    assert changes["infra/stacks/a/moved.tf"].old_path == "infra/stacks/a/main.tf"
    assert changes["infra/stacks/a/main.tf"].status == "D"
    assert changes["infra/orchestrate.yaml"].status == "M"
    assert sorted(repo.untracked_files()) == [".gitignore", "new file.tf"]
    assert sorted(repo.uncommitted(["infra"])) == [
        "infra/orchestrate.yaml",
        "infra/stacks/a/main.tf",
        "infra/stacks/a/moved.tf",
    ]
    assert repo.uncommitted(["new file.tf"]) == ["new file.tf"]
    assert repo.show(base, "infra/orchestrate.yaml") == "version: 1\n"
    assert repo.show(base, "infra/missing.yaml") is None
    assert repo.files_under(base, ["infra/stacks"]) == ["infra/stacks/a/main.tf"]
    assert sorted(repo.tracked_files()) == ["infra/orchestrate.yaml", "infra/stacks/a/moved.tf"]
    head = commit(clone, {})
    assert repo.changed_in(head) == [
        ".gitignore",
        "infra/orchestrate.yaml",
        "infra/stacks/a/main.tf",
        "infra/stacks/a/moved.tf",
        "new file.tf",
    ]
    assert repo.changed_paths(base, head) == repo.changed_in(head)
    assert repo.same_content(base, head, ["infra/stacks/b"]) is True
    assert repo.same_content(base, head, ["infra"]) is False
    with pytest.raises(GitError, match="git diff"):
        repo.same_content("0" * 40, head, ["infra"])


def test_commit_from_objects_leaves_the_work_tree_alone(
    clone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no global identity: orchestrate's own is used
    for key in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "XDG_CONFIG_HOME",
    ):
        monkeypatch.delenv(key, raising=False)
    repo = Repo.open(clone, hint=HINT)
    base = repo.must_rev("HEAD")
    (clone / "wip.tf").write_text("# uncommitted\n")
    sha = repo.commit_files(base, {"records/x.json": "{}\n", "infra/orchestrate.yaml": None}, "record\n")
    assert repo.parents(sha) == [base]
    assert sorted(repo.changed_paths(base, sha)) == ["infra/orchestrate.yaml", "records/x.json"]
    assert repo.head() == base and git(clone, "status", "--porcelain") == "?? wip.tf"
    who = git(clone, "show", "-s", "--format=%an <%ae> / %cn <%ce>", sha)
    assert (
        who
        == f"{DEFAULT_IDENTITY[0]} <{DEFAULT_IDENTITY[1]}> / {DEFAULT_IDENTITY[0]} <{DEFAULT_IDENTITY[1]}>"
    )
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Bot")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "bot@example.com")
    other = repo.commit_files(base, {"records/x.json": "1\n"}, "m")
    assert git(clone, "show", "-s", "--format=%an <%ae> / %cn", other) == "Bot <bot@example.com> / Bot"


def test_fetch_and_leased_push_against_a_bare_remote(clone: Path, origin: Path, tmp_path: Path) -> None:
    repo = Repo.open(clone, hint=HINT)
    base = repo.must_rev("HEAD")
    first = repo.commit_files(base, {"r.json": "1\n"}, "m")
    assert repo.push_leased(first, "orchestrate/x", None).code == 0
    assert git(origin, "rev-parse", "orchestrate/x") == first
    second = repo.commit_files(base, {"r.json": "2\n"}, "m")
    refused = repo.push_leased(second, "orchestrate/x", None)  # a create must not overwrite
    assert refused.code != 0 and "stale info" in push_reason(refused)
    assert repo.fetch_branch("orchestrate/x") == first
    assert repo.remote_branches("orchestrate/") == {"orchestrate/x": first}
    assert repo.fetch_branch("no-such-branch") is None
    assert repo.push_leased(second, "orchestrate/x", first).code == 0
    assert git(origin, "rev-parse", "orchestrate/x") == second
    broken = Repo(clone, remote="nowhere")
    with pytest.raises(GitError, match="cannot fetch 'main' from nowhere"):
        broken.fetch_branch("main")


def test_parsers_of_git_output() -> None:
    out = "R100\0old.tf\0new.tf\0M\0a b.tf\0A\0c.tf\0"
    changes = {c.path: (c.status, c.old_path) for c in parse_name_status(out)}
    assert changes == {
        "new.tf": ("R", "old.tf"),
        "old.tf": ("D", None),
        "a b.tf": ("M", None),
        "c.tf": ("A", None),
    }
    assert parse_status("R  new.tf\0old.tf\0?? x y.tf\0 M z\0") == ["new.tf", "old.tf", "x y.tf", "z"]


def test_git_failures_are_git_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GitError, match="git status failed"):
        run(["status"], cwd=tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no git binary at all
    with pytest.raises(GitError, match="git is not installed"):
        run(["status"], cwd=tmp_path)
