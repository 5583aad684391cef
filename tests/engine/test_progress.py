"""Progress output: plain timestamped lines off a terminal, ::group:: sections in GitHub Actions,
and the machine result on stdout with --json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from tests.engine.conftest import Repo

pytestmark = pytest.mark.integration

FILES = {
    "stacks/a/stack.yaml": "",
    "stacks/a/main.tf": 'output "x" { value = "one" }\n',
    "stacks/b/stack.yaml": "inputs:\n  x: a.x\n",
    "stacks/b/main.tf": 'variable "x" { type = string }\noutput "y" { value = var.x }\n',
}


def test_plain_lines_are_timestamped_and_json_goes_to_stdout(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    res = repo.orchestrate("--json", "plan")
    assert res.exit_code == 2
    data = json.loads(res.stdout)
    assert data["plan_set"] == data["id"] and data["exit_code"] == 2
    assert [s["stack"] for s in data["stacks"]] == ["a", "b"]
    assert data["stacks"][1]["status"] == "provisional" and data["stacks"][1]["inputs"] == {"x": "one"}
    assert re.search(r"^\d\d:\d\d:\d\d a: changes in \d+\.\ds", res.stderr, re.M)
    assert "plan set ps-" in res.stderr


def test_github_actions_get_one_group_per_stack_with_its_log(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    repo.env["GITHUB_ACTIONS"] = "true"
    res = repo.orchestrate("plan")
    assert res.exit_code == 2
    groups = re.findall(r"^::group::(\S+): (\S+)", res.stderr, re.M)
    assert groups == [("a", "changes"), ("b", "provisional")]
    assert res.stderr.count("::endgroup::") == 2
    assert "$ terraform -chdir=" in res.stderr


def test_a_relative_out_dir_is_taken_from_the_working_directory(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    res = repo.run("plan", "a", "--out", "review/set1", cwd=repo.root, env=repo.env)
    assert res.exit_code == 2, res.output
    assert (repo.root / "review/set1/a/plan.tfplan").is_file()
    assert "--plan-set review/set1" in res.stderr
    res = repo.run("plan", "a", "--out", "review/set1", cwd=repo.root, env=repo.env)
    assert res.exit_code == 1 and "already exists" in res.stderr
    res = repo.run(
        "apply",
        "--plan-set",
        "review/set1",
        "--approved-by",
        "a",
        "--reason",
        "r",
        cwd=repo.root,
        env=repo.env,
    )
    assert res.exit_code == 0, res.output
