"""Fixtures for environment tests: a repository with a bare remote, run with real terraform."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import TerraformBinary, git
from tests.engine.conftest import NULL_STACK, Repo, root_config

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
