"""Fixtures for environment tests: a repository with a bare remote, run with real terraform."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import TerraformBinary, git
from tests.engine.conftest import NULL_STACK, Repo, root_config
from tests.fakes.github import FakeGitHub

FAMILY_TF = NULL_STACK


def two_envs(promotion: bool = True, envs: str = "[dev, prod]") -> str:
    return f"environments: {envs}\napproval:\n  promotion: {'true' if promotion else 'false'}\n"


FAMILY = {
    "stacks/dev/app/stack.yaml": "environment: dev\n",
    "stacks/dev/app/main.tf": FAMILY_TF,
    "stacks/prod/app/stack.yaml": "environment: prod\n",
    "stacks/prod/app/main.tf": FAMILY_TF,
}


class RemoteRepo(Repo):
    bare: Path

    def push(self) -> None:
        git(self.root, "push", "-q", "origin", "HEAD:main")


@pytest.fixture
def remote_repo(
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., Result],
    tmp_path: Path,
) -> Callable[..., RemoteRepo]:
    """remote_repo(files, config_extra) -> a committed clone whose origin is a local bare repo."""

    def _make(files: dict[str, str], config_extra: str = "") -> RemoteRepo:
        root = make_repo(
            {
                "orchestrate.yaml": root_config(newest_terraform, config_extra),
                ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n.terraform*\n",
                **files,
            }
        )
        bare = tmp_path / f"{root.name}-remote.git"
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
        git(root, "remote", "add", "origin", str(bare))
        git(root, "push", "-q", "origin", "main")
        repo = RemoteRepo(root, {**tf_home, "USER": "tester"}, cli, newest_terraform)
        repo.bare = bare
        return repo

    return _make


class GitHubRepo:
    """A clone with a bare remote and the fake GitHub API attached to it (no terraform)."""

    def __init__(self, root: Path, bare: Path, gh: FakeGitHub, cli: Callable[..., Result]) -> None:
        self.root, self.bare, self.gh, self._cli = root, bare, gh, cli

    def run(self, *args: str) -> Result:
        return self._cli("--repo", str(self.root), *args, env=self.gh.env())

    def show(self, ref: str, path: str) -> str:
        """A file of the remote at ``ref``."""
        return git(self.bare, "show", f"{ref}:{path}")

    def change(self, path: str, text: str, message: str) -> str:
        """Commit ``text`` to ``path`` on main and push it; the new sha."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", message)
        git(self.root, "push", "-q", "origin", "main")
        return git(self.root, "rev-parse", "HEAD")


@pytest.fixture
def github_repo(
    make_repo: Callable[..., Path], tmp_path: Path, cli: Callable[..., Result]
) -> Iterator[Callable[[dict[str, str]], GitHubRepo]]:
    """github_repo(files) -> a GitHubRepo whose main is pushed to the bare remote."""
    with contextlib.ExitStack() as stack:

        def _make(files: dict[str, str]) -> GitHubRepo:
            root = make_repo({".gitignore": ".orchestrate/\n", **files})
            bare = tmp_path / f"{root.name}-remote.git"
            git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
            git(root, "remote", "add", "origin", str(bare))
            git(root, "push", "-q", "origin", "main")
            gh = stack.enter_context(FakeGitHub(git_dir=bare))
            return GitHubRepo(root, bare, gh, cli)

        yield _make
