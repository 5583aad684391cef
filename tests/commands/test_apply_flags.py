"""apply's flag checks and plan set choice, tested directly (no workspace, no terraform)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import pytest

from orchestrator.commands.apply import check_flags, local_plan_set_dir
from orchestrator.errors import PlanSetError


def flags(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pr_number": None,
        "approved_by": None,
        "reason": None,
        "skip_promotion": False,
        "merge": False,
        "merged": False,
        "merged_sha": None,
        "target_clouds": (),
    }
    base.update(overrides)
    return base


def refusal(**overrides: Any) -> str:
    with pytest.raises(click.UsageError) as info:
        check_flags(**flags(**overrides))
    return info.value.message


def test_no_flags_is_fine_and_has_no_skip_reason() -> None:
    assert check_flags(**flags()) is None
    assert check_flags(**flags(approved_by="alice", reason="hotfix")) is None  # reason alone is not a skip


def test_skip_promotion_returns_the_stripped_reason() -> None:
    assert check_flags(**flags(skip_promotion=True, reason="  incident 42 ")) == "incident 42"
    # --pr may take --reason only as the --skip-promotion reason
    assert check_flags(**flags(pr_number=7, skip_promotion=True, reason="why")) == "why"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pr_number": 7, "approved_by": "alice"}, "--pr takes the approval from GitHub"),
        ({"pr_number": 7, "reason": "because"}, "--pr takes the approval from GitHub"),
        ({"skip_promotion": True}, "--skip-promotion needs --reason TEXT"),
        ({"skip_promotion": True, "reason": "   "}, "--skip-promotion needs --reason TEXT"),
        ({"merge": True}, "--merge needs --pr N"),
        ({"merged_sha": "abc123"}, "--commit needs --merged"),
        ({"target_clouds": ("aws-dr",), "pr_number": 7}, "--target-cloud applies a recovery plan set"),
        ({"target_clouds": ("aws-dr",), "merged": True}, "--target-cloud applies a recovery plan set"),
        ({"merged": True, "approved_by": "alice"}, "--merged takes the approval of the merged PR"),
        ({"merged": True, "pr_number": 7}, "--merged takes the approval of the merged PR"),
        ({"merged": True, "pr_number": 7, "merge": True}, "--merged takes the approval of the merged PR"),
    ],
)
def test_each_refused_combination(overrides: dict[str, Any], message: str) -> None:
    assert refusal(**overrides).startswith(message)


def test_refusals_come_in_their_order() -> None:
    # Several wrong at once: the first check in the documented order is the one reported.
    assert refusal(pr_number=7, approved_by="a", skip_promotion=True).startswith("--pr takes")
    assert refusal(skip_promotion=True, merge=True).startswith("--skip-promotion needs")
    assert refusal(merge=True, merged_sha="abc").startswith("--merge needs --pr N")
    assert refusal(merged_sha="abc", target_clouds=("x",), merged=False, pr_number=None, merge=False) == (
        "--commit needs --merged"
    )
    assert refusal(target_clouds=("x",), merged=True, approved_by="a").startswith("--target-cloud")


def write_plan_set(where: Path, name: str, kind: str, mtime: int) -> Path:
    d = where / name
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(json.dumps({"kind": kind}))
    os.utime(d / "manifest.json", ns=(mtime, mtime))
    return d


def test_a_named_plan_set_is_resolved_whatever_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert local_plan_set_dir(tmp_path, Path("mine"), ()) == tmp_path / "mine"
    assert local_plan_set_dir(tmp_path, Path("mine"), ("aws-dr",)) == tmp_path / "mine"


def test_latest_plan_set_or_latest_recovery_plan_set(tmp_path: Path) -> None:
    plans = tmp_path / ".orchestrate" / "plans"
    write_plan_set(plans, "old", "plan", 1_000_000_000)
    newest = write_plan_set(plans, "new", "plan", 2_000_000_000)
    write_plan_set(plans, "gone", "destroy", 3_000_000_000)  # never the default
    assert local_plan_set_dir(tmp_path, None, ()) == newest
    # With --target-cloud only the recovery plan sets count: none yet.
    with pytest.raises(PlanSetError) as info:
        local_plan_set_dir(tmp_path, None, ("aws-dr",))
    assert "recovery/aws-dr/plans" in info.value.message
    recovery = write_plan_set(
        tmp_path / ".orchestrate" / "recovery" / "aws-dr" / "plans", "r1", "plan", 1_500_000_000
    )
    assert local_plan_set_dir(tmp_path, None, ("aws-dr",)) == recovery
    assert local_plan_set_dir(tmp_path, None, ()) == newest
