"""Fixtures for the drift tests: an AWS estate in moto with a repository holding its states."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.conftest import MotoServer, git
from tests.drift.estate import Estate, build_estate
from tests.drift.faults import FaultProxy


@dataclass
class AwsRepo:
    root: Path
    estate: Estate
    moto: MotoServer
    run_cli: Callable[..., Result]

    @property
    def ids(self) -> dict[str, str]:
        return self.estate.ids

    def drift(self, *args: str) -> Result:
        return self.run_cli("--repo", str(self.root), "drift", *args)

    def drift_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.drift("--format", "json", *args)
        assert result.stdout.strip(), result.stderr
        return result.exit_code, json.loads(result.stdout)

    def point_at(self, endpoint: str) -> None:
        """Aim the cloud target at another endpoint (a fault proxy), as a user would."""
        path = self.root / "orchestrate.yaml"
        path.write_text(path.read_text().replace(self.estate.endpoint, endpoint))


@pytest.fixture
def aws_credentials(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    return moto


@pytest.fixture
def aws_repo(
    aws_credentials: MotoServer, make_repo: Callable[..., Path], cli: Callable[..., Result]
) -> Callable[..., AwsRepo]:
    """aws_repo(extra_files={...}, redact=...) -> the estate built in moto, states written."""

    def _make(**kwargs: Any) -> AwsRepo:
        estate = build_estate(aws_credentials.endpoint, **kwargs)
        root = make_repo(estate.files)
        estate.write(root)
        return AwsRepo(root, estate, aws_credentials, cli)

    return _make


@pytest.fixture
def fault_proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto.endpoint).start()
    yield proxy
    proxy.stop()


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD")
