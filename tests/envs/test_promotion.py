"""Applies are recorded in git notes on the remote; the promotion gate reads them: prod before
dev is refused, prod after dev's apply of the same content applies, an override is recorded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.envs.store import NOTES_REF
from tests.conftest import git
from tests.envs.conftest import FAMILY, RemoteRepo, two_envs

pytestmark = pytest.mark.integration
APPROVAL = ("--approved-by", "alice", "--reason", "race")


def apply(repo: RemoteRepo, *extra: str) -> tuple[int, str]:
    res = repo.orchestrate("apply", "--approved-by", "alice", "--reason", "test", *extra)
    return res.exit_code, res.output


def history(repo: RemoteRepo, *args: str) -> list[dict[str, object]]:
    res = repo.orchestrate("history", "--format", "json", *args)
    assert res.exit_code == 0, res.output
    rows: list[dict[str, object]] = json.loads(res.stdout)["records"]
    return rows


def test_prod_waits_for_dev_and_records_survive_a_fresh_clone(
    remote_repo: Callable[..., RemoteRepo], tmp_path: Path
) -> None:
    repo = remote_repo(FAMILY, two_envs())
    assert repo.orchestrate("plan", "--env", "prod").exit_code == 2
    code, out = apply(repo)
    assert code == 1, out
    assert "promotion gate" in out and "not yet applied to dev (dev/app)" in out
    assert repo.state("prod/app") is None  # nothing applied

    assert repo.orchestrate("plan", "--env", "dev").exit_code == 2
    code, out = apply(repo)
    assert code == 0, out
    assert git(repo.bare, "rev-parse", NOTES_REF)  # pushed

    shutil.rmtree(repo.root / ".orchestrate")  # the local audit log is gone; the records are not
    assert repo.orchestrate("plan", "--env", "prod").exit_code == 2
    code, out = apply(repo)
    assert code == 0, out
    assert repo.state("prod/app") is not None

    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(repo.bare), str(fresh))
    res = repo.run("--repo", str(fresh), "history", "--format", "json", env=repo.env)
    rows = json.loads(res.stdout)["records"]
    assert [(r["stack"], r["environment"], r["status"]) for r in rows] == [
        ("prod/app", "prod", "applied"),
        ("dev/app", "dev", "applied"),
    ]
    assert rows[0]["content_hash"] == rows[1]["content_hash"]
    from orchestrator.envs.store import RecordStore

    [prod_rec] = [r for r in RecordStore(fresh).read().records if r.stacks[0].stack == "prod/app"]
    assert prod_rec.plan_set and prod_rec.stacks[0].plan_sha256 and prod_rec.stacks[0].source_sha256
    assert prod_rec.stacks[0].paths == ("stacks/prod/app",)
    assert rows[0]["who"] == "alice" and rows[0]["approval"] == "manual"
    assert [r["stack"] for r in history(repo, "--env", "dev")] == ["dev/app"]
    assert [r["stack"] for r in history(repo, "app")] == ["prod/app", "dev/app"]  # the family


def test_changed_content_is_refused_until_dev_has_it_and_an_override_is_recorded(
    remote_repo: Callable[..., RemoteRepo],
) -> None:
    repo = remote_repo(FAMILY, two_envs())
    repo.orchestrate("plan", "--env", "dev")
    assert apply(repo)[0] == 0
    changed = FAMILY["stacks/prod/app/main.tf"].replace('v = "1"', 'v = "2"')
    (repo.root / "stacks/prod/app/main.tf").write_text(changed)
    repo.commit("prod only")
    repo.push()
    repo.orchestrate("plan", "--env", "prod")
    code, out = apply(repo)
    assert code == 1 and "not yet applied to dev" in out, out

    res = repo.orchestrate("apply", "--approved-by", "alice", "--skip-promotion")
    assert res.exit_code == 1 and "--skip-promotion needs --reason" in res.output
    code, out = apply(repo, "--skip-promotion")
    assert code == 0, out
    rows = history(repo, "prod/app")
    assert rows[0]["promotion_skipped"] == "test"


def test_without_promotion_prod_applies_first(remote_repo: Callable[..., RemoteRepo]) -> None:
    repo = remote_repo(FAMILY, two_envs(promotion=False))
    repo.orchestrate("plan", "--env", "prod")
    assert apply(repo)[0] == 0
    assert [r["stack"] for r in history(repo)] == ["prod/app"]


def test_with_github_each_environment_gets_a_deployment_with_its_status(
    remote_repo: Callable[..., RemoteRepo],
) -> None:
    from tests.fakes.github import FakeGitHub

    repo = remote_repo(FAMILY, two_envs(promotion=False))
    with FakeGitHub(git_dir=repo.bare) as gh:
        repo.env.update(gh.env())
        repo.orchestrate("plan")
        code, out = apply(repo)
        assert code == 0, out
        head = git(repo.root, "rev-parse", "HEAD")
        deployments = sorted(gh.deployments.values(), key=lambda d: d["environment"])
        assert [(d["environment"], d["sha"], d["production_environment"]) for d in deployments] == [
            ("dev", head, False),
            ("prod", head, True),
        ]
        assert deployments[0]["payload"]["stacks"] == ["dev/app"]
        for d in deployments:
            assert [s["state"] for s in gh.deployment_statuses[d["id"]]] == ["success"]
        rows = history(repo)
        record_id = rows[0]["record"]
        assert deployments[0]["payload"]["record"] == record_id
        assert {r["deployment"] for r in rows} == {d["id"] for d in deployments}


def comment_text(repo: RemoteRepo) -> str:
    from orchestrator.planset import read_manifest
    from orchestrator.pr.view import comment_data
    from orchestrator.render.comment import render_comment
    from orchestrator.workspace import Workspace

    ws = Workspace.load(repo.root)
    data, redactor = comment_data(ws, repo.latest(), read_manifest(repo.latest()))
    return "\n".join(render_comment(data, redactor))


def test_the_pr_comment_shows_whether_content_passed_the_previous_environment(
    remote_repo: Callable[..., RemoteRepo],
) -> None:
    repo = remote_repo(FAMILY, two_envs())
    repo.orchestrate("plan")
    text = comment_text(repo)
    assert "**Promotion** (`approval.promotion`)" in text
    assert (
        "| `prod/app` | ❌ apply will be refused | not yet applied to dev (dev/app) with this content |"
        in text
    )
    assert "| `dev/app` | — | first environment of its family |" in text

    repo.orchestrate("plan", "--env", "dev")
    assert apply(repo)[0] == 0
    repo.orchestrate("plan", "--env", "prod")
    text = comment_text(repo)
    assert "| `prod/app` | ✅ | passed dev (dev/app, commit " in text


def test_two_concurrent_applies_from_two_clones_are_both_recorded(
    remote_repo: Callable[..., RemoteRepo], tmp_path: Path
) -> None:
    repo = remote_repo(FAMILY, two_envs(promotion=False))
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo.bare), str(other))
    env = {**os.environ, **repo.env, "NO_COLOR": "1"}
    jobs = []
    for root, stack in ((repo.root, "dev/app"), (other, "prod/app")):
        plan = subprocess.run(
            [sys.executable, "-m", "orchestrator", "--repo", str(root), "plan", stack],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert plan.returncode == 2, plan.stderr
    for root in (repo.root, other):
        jobs.append(
            subprocess.Popen(
                [sys.executable, "-m", "orchestrator", "--repo", str(root), "apply", *APPROVAL],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for job in jobs:
        _out, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
        assert "records:" not in err  # no push gave up
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(repo.bare), str(fresh))
    res = repo.run("--repo", str(fresh), "history", "--format", "json", env=repo.env)
    assert sorted(r["stack"] for r in json.loads(res.stdout)["records"]) == ["dev/app", "prod/app"]


def test_a_destroy_is_recorded_too(remote_repo: Callable[..., RemoteRepo]) -> None:
    repo = remote_repo(FAMILY, two_envs(promotion=True))
    repo.orchestrate("plan", "--env", "dev")
    assert apply(repo)[0] == 0
    res = repo.orchestrate("destroy", "dev/app", "--approved-by", "alice", "--reason", "gone")
    assert res.exit_code == 0, res.output  # destroy plan sets are not gated
    rows = history(repo, "dev/app")
    assert [(r["kind"], r["status"]) for r in rows] == [("destroy", "applied"), ("apply", "applied")]
    assert "destroy applied" in repo.orchestrate("history").stdout
