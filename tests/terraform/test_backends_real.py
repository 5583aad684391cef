"""Backends with real terraform: the generated override file, init skipping, state moves refused."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrator.terraform.backend import OVERRIDE_FILE
from tests.engine.conftest import Repo

pytestmark = pytest.mark.integration

FILES = {"stacks/a/stack.yaml": "", "stacks/a/main.tf": 'output "x" { value = "one" }\n'}


def test_default_state_lives_under_orchestrate_and_a_moved_location_is_refused(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo(FILES)
    assert repo.orchestrate("plan").exit_code == 2
    assert (repo.root / "stacks/a" / OVERRIDE_FILE).is_file()
    assert not (repo.root / "stacks/a/.terraform").exists()
    assert repo.orchestrate("apply", "--approved-by", "a", "--reason", "r").exit_code == 0
    assert repo.state("a") is not None

    text = (repo.root / "orchestrate.yaml").read_text()
    (repo.root / "orchestrate.yaml").write_text(
        text + "backend:\n  type: local\n  config:\n    path: other/{stack}.tfstate\n"
    )
    res = repo.orchestrate("plan")
    assert res.exit_code == 1
    error = json.loads((repo.latest() / "manifest.json").read_text())["stacks"][0]["error"]
    assert "state location changed" in error and "init -migrate-state" in error


def test_a_stack_that_declares_its_backend_keeps_it_and_loses_the_generated_override(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo(FILES)
    assert repo.orchestrate("plan").exit_code == 2
    assert (repo.root / "stacks/a" / OVERRIDE_FILE).is_file()
    (repo.root / "stacks/a/backend.tf").write_text(
        'terraform {\n  backend "local" {\n    path = "own.tfstate"\n  }\n}\n'
    )
    (repo.root / ".orchestrate/work/a/init.json").unlink()  # a deliberate move to the stack's own state
    repo.commit("own backend")
    assert repo.orchestrate("plan").exit_code == 2
    assert not (repo.root / "stacks/a" / OVERRIDE_FILE).exists()
    assert repo.orchestrate("apply", "--approved-by", "a", "--reason", "r").exit_code == 0
    assert (repo.root / "stacks/a/own.tfstate").is_file()
