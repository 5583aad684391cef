"""Fixtures for engine tests: small repositories planned and applied with real terraform."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrator.planset import read_manifest
from tests.conftest import TerraformBinary, git

NULL_STACK = """
resource "null_resource" "r" {
  triggers = { v = "1" }
}
output "id" { value = null_resource.r.id }
output "name" { value = "net-name" }
"""


@dataclass
class Repo:
    root: Path
    env: dict[str, str]
    run: Callable[..., Result]
    terraform: TerraformBinary

    def orchestrate(self, *args: str) -> Result:
        return self.run("--repo", str(self.root), *args, env=self.env)

    def plan_sets(self) -> list[Path]:
        base = self.root / ".orchestrate" / "plans"
        found = (
            [d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")] if base.is_dir() else []
        )
        return sorted(found, key=lambda d: (d / "manifest.json").stat().st_mtime_ns)

    def latest(self) -> Path:
        return self.plan_sets()[-1]

    def statuses(self, plan_set: Path | None = None) -> dict[str, str]:
        m = read_manifest(plan_set or self.latest())
        return {s.stack: s.status for s in m.stacks}

    def state(self, stack: str) -> dict[str, Any] | None:
        path = self.root / ".orchestrate" / "state" / stack / "terraform.tfstate"
        return json.loads(path.read_text()) if path.is_file() else None

    def commit(self, message: str = "change") -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)


def root_config(tb: TerraformBinary, extra: str = "") -> str:
    return f"terraform:\n  binary: {tb.path}\n  parallelism: 2\n" + extra


@pytest.fixture
def tf_repo(
    make_repo: Callable[..., Path],
    terraform_binary: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., Result],
) -> Callable[..., Repo]:
    """tf_repo(files, config_extra="") -> a committed repo run with real terraform (every version)."""

    def _make(files: dict[str, str], config_extra: str = "", *, commit: bool = True) -> Repo:
        all_files = {
            "orchestrate.yaml": root_config(terraform_binary, config_extra),
            ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n",
            **files,
        }
        root = make_repo(all_files, commit=commit)
        env = {**tf_home, "USER": "tester"}
        return Repo(root, env, cli, terraform_binary)

    return _make


@pytest.fixture
def newest_repo(
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., Result],
) -> Callable[..., Repo]:
    """Like tf_repo, with the newest terraform only (for tests that need one version)."""

    def _make(files: dict[str, str], config_extra: str = "", *, commit: bool = True) -> Repo:
        all_files = {
            "orchestrate.yaml": root_config(newest_terraform, config_extra),
            ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n",
            **files,
        }
        root = make_repo(all_files, commit=commit)
        return Repo(root, {**tf_home, "USER": "tester"}, cli, newest_terraform)

    return _make
