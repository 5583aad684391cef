"""Workspaces (issue 14 Build 3): two stacks share a directory, each plans and applies its workspace."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.engine.conftest import Repo

pytestmark = pytest.mark.integration

CONFIG = """\
stacks:
  projects:
    - {dir: app, workspace: staging}
    - {dir: app, workspace: prod, name: app-prod}
"""


def test_two_workspaces_of_one_directory_plan_apply_and_keep_their_own_state(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = newest_repo({"app/main.tf": 'output "w" {\n  value = terraform.workspace\n}\n'}, CONFIG)
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    plan_set = repo.latest()
    assert set(repo.statuses()) == {"app/staging", "app-prod"}
    res = repo.orchestrate("apply", "--plan-set", str(plan_set), "--approved-by", "tester", "--reason", "t")
    assert res.exit_code == 0, res.output
    for ws in ("staging", "prod"):
        state = json.loads((repo.root / f"app/terraform.tfstate.d/{ws}/terraform.tfstate").read_text())
        assert state["outputs"]["w"]["value"] == ws
