"""--open-pr without terraform runs: settings checked before scanning, drift.open_prs: false,
pull requests of removed stacks closed only after a full scan, scan errors and forks left alone.

The stacks here are never applied, so the scan reports them as errors (no state): nothing is
drifted, nothing is planned, and what is left to prove is what happens around that."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.drift_pr.conftest import DriftRepo
from tests.fakes.github import FakeGitHub

WRITES = ("POST", "PATCH", "PUT", "DELETE")


def test_open_prs_false_only_scans(drift_repo: Callable[..., DriftRepo], github: FakeGitHub) -> None:
    repo = drift_repo(apply=False, config_extra="")
    path = repo.root / "orchestrate.yaml"
    path.write_text(path.read_text().replace("drift: {mode: api,", "drift: {open_prs: false, mode: api,"))
    repo.env.update(github.env())
    res = repo.run("drift", "--open-pr", ok=(1,))  # 1: the stacks were never applied
    assert "drift.open_prs is false in orchestrate.yaml; no pull requests" in res.output
    assert github.requests == []


def test_missing_token_or_remote_fails_before_scanning(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub
) -> None:
    repo = drift_repo(apply=False)
    repo.env.update({**github.env(), "GITHUB_TOKEN": "", "GH_TOKEN": ""})
    res = repo.run("drift", "--open-pr", ok=(1,))
    assert "GITHUB_TOKEN is not set" in res.output
    assert "reading the state" not in res.output

    repo.env.update(github.env())
    repo.git("remote", "rename", "origin", "upstream")
    res = repo.run("drift", "--open-pr", ok=(1,))
    assert "no remote 'origin'" in res.output
    assert "reading the state" not in res.output
    assert github.requests == []


def test_removed_stacks_closed_after_a_full_scan_scan_errors_and_forks_left(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub
) -> None:
    repo = drift_repo(apply=False)
    repo.env.update(github.env())
    gone = github.add_pull(head_ref="orchestrate/drift/aws-retired", head_sha="a" * 40, body="old drift")
    fork = github.add_pull(
        head_ref="orchestrate/drift/aws-other", head_sha="b" * 40, head_repo="mallory/infra", body="fork"
    )
    errored = github.add_pull(head_ref="orchestrate/drift/aws-storage", head_sha="c" * 40, body="drift")

    # A scan of one stack says nothing about the others: the retired stack's PR stays open.
    res = repo.run("--json", "drift", "aws/queue", "--open-pr", ok=(1,))
    assert json.loads(res.stdout)["pull_requests"] == []
    assert github.pulls[gone["number"]]["state"] == "open"
    assert not [r for r in github.requests if r.method in WRITES]

    # A full scan closes it with a comment; a scan error leaves the stack's PR; a fork is not ours.
    res = repo.run("--json", "drift", "--open-pr", ok=(1,))
    prs = {p["number"]: p for p in json.loads(res.stdout)["pull_requests"]}
    assert prs[gone["number"]]["action"] == "closed"
    assert prs[errored["number"]]["action"] == "left"
    assert fork["number"] not in prs
    assert github.pulls[gone["number"]]["state"] == "closed"
    assert "no longer exists" in github.issue_comments(gone["number"])[0]["body"]
    assert github.pulls[errored["number"]]["state"] == "open"
    assert github.pulls[fork["number"]]["state"] == "open"
    assert github.issue_comments(errored["number"]) == []
    assert github.issue_comments(fork["number"]) == []
