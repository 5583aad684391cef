"""Fixtures for the pull-request tests: the fake GitHub API and a client pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from orchestrator.github import GitHub, GitHubSettings
from orchestrator.redact import Redactor
from tests.conftest import TerraformBinary
from tests.engine.conftest import Repo, root_config
from tests.fakes.github import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a client asked for (recorded instead of slept)."""
    return []


@pytest.fixture
def gh(fake_github: FakeGitHub, sleeps: list[float]) -> GitHub:
    settings = GitHubSettings.from_env(env=fake_github.env())
    return GitHub(settings, redactor=Redactor(['(?i)secret[^\\s"]*']), sleep=sleeps.append, timeout=5)


@pytest.fixture
def pr_repo(
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., Result],
    fake_github: FakeGitHub,
) -> Callable[..., Repo]:
    """pr_repo(files, config_extra="") -> a committed repo run with real terraform, its
    environment pointing GitHub at the fake (GITHUB_* variables), and no job summary."""

    def _make(files: dict[str, str], config_extra: str = "") -> Repo:
        all_files = {
            "orchestrate.yaml": root_config(newest_terraform, config_extra),
            ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n",
            **files,
        }
        root = make_repo(all_files)
        env = {
            **tf_home,
            "USER": "tester",
            **fake_github.env(),
            "GITHUB_EVENT_PATH": "",
            "GITHUB_STEP_SUMMARY": "",
        }
        return Repo(root, env, cli, newest_terraform)

    return _make
