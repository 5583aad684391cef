"""Fixtures for the pull-request tests: the fake GitHub API and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.github import GitHub, GitHubSettings
from orchestrator.redact import Redactor
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
