"""Say what is wrong (issue 12 item 9): a corrupt state, an unwritable --out and a moved stack
directory each get a clear message and the way to recover, never an internal error."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration

FILES = {"stacks/net/stack.yaml": "", "stacks/net/main.tf": NULL_STACK}


def applied(newest_repo: Callable[..., Repo]) -> Repo:
    repo = newest_repo(FILES)
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.orchestrate("apply", "--approved-by", "alice", "--reason", "t").exit_code == 0
    return repo


def test_a_corrupt_state_is_called_corrupt_not_locked(newest_repo: Callable[..., Repo]) -> None:
    repo = applied(newest_repo)
    state = repo.root / ".orchestrate/state/net/terraform.tfstate"
    state.write_text('{"version": 4, "resources": [')
    res = repo.orchestrate("plan")
    assert res.exit_code == 1, res.output
    assert "state is corrupt" in res.output and "locked" not in res.output
    assert "backup" in res.output


def test_an_unwritable_out_directory_is_one_clear_error(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo(FILES)
    (repo.root / "afile").write_text("")
    res = repo.orchestrate("plan", "--out", str(repo.root / "afile" / "plans"))
    assert res.exit_code == 1, res.output
    assert "cannot write the plan set" in res.output and "internal error" not in res.output


def test_a_moved_stack_is_detected_and_the_plan_says_how_to_move_its_state(
    newest_repo: Callable[..., Repo],
) -> None:
    repo = applied(newest_repo)
    shutil.move(repo.root / "stacks/net", repo.root / "stacks/core-net")
    repo.commit("move net")
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    assert "state of 'net'" in res.output and "was the stack moved?" in res.output
    assert (
        "mv .orchestrate/state/net/terraform.tfstate .orchestrate/state/core-net/terraform.tfstate"
        in res.output
    )
