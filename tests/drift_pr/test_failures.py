"""Failures are per stack: a GitHub 5xx, a rejected push and a failed remediation plan each
fail their own stack, the others get their pull requests, and the exit code says 1. A branch
with someone else's commits is never force-pushed over."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest

from orchestrator.drift.io import default_io
from orchestrator.drift.scan import ScanOptions, scan
from orchestrator.drift_pr.run import DriftPullRequests
from orchestrator.github import GitHub, GitHubSettings
from orchestrator.redact import Redactor
from orchestrator.workspace import Workspace
from tests.drift_pr.conftest import DriftRepo, boto
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

PROVIDER = """\
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
"""


def bucket_stack(name: str) -> str:
    return (
        PROVIDER
        + f'resource "aws_s3_bucket" "this" {{\n  bucket = "{name}"\n  tags = {{ owner = "platform" }}\n}}\n'
    )


def queue_stack(name: str) -> str:
    return (
        PROVIDER
        + f'resource "aws_sqs_queue" "this" {{\n  name = "{name}"\n  tags = {{ owner = "platform" }}\n}}\n'
    )


STACKS = {
    "aws/a-flaky": bucket_stack("acme-drift-flaky"),  # GitHub answers 502 to its pull request
    "aws/b-ok": queue_stack("acme-drift-ok"),
    "aws/c-blocked": bucket_stack("acme-drift-blocked"),  # the remote refuses its branch
    "aws/d-broken": queue_stack("acme-drift-broken"),  # main breaks its code: the plan fails
}

HOOK = """#!/bin/sh
while read old new ref; do
  if [ "$ref" = "refs/heads/orchestrate/drift/aws-c-blocked" ]; then
    echo "protected branch: $ref" >&2
    exit 1
  fi
done
"""


def actions(outcomes: list[dict[str, object]]) -> dict[str, object]:
    return {str(o["stack"]): o["action"] for o in outcomes}


def test_failures_are_per_stack_and_foreign_commits_are_left_alone(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {}
    for sid, tf in STACKS.items():
        files[f"stacks/{sid}/stack.yaml"] = "cloud: aws-test\n"
        files[f"stacks/{sid}/main.tf"] = tf
    repo = drift_repo(files)
    repo.env.update(github.env())
    hook = repo.bare / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    repo.commit({"stacks/aws/d-broken/broken.tf": 'output "x" {\n  value = var.undeclared\n}\n'}, "break d")

    s3, sqs = boto("s3", repo.moto.endpoint), boto("sqs", repo.moto.endpoint)
    for bucket in ("acme-drift-flaky", "acme-drift-blocked"):
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": "intruder"}]})
    for queue in ("acme-drift-ok", "acme-drift-broken"):
        sqs.tag_queue(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"], Tags={"owner": "intruder"})

    # 1. Through the API, with a client that does not sleep between retries: GitHub fails every
    #    attempt to open the first pull request.
    for key, value in repo.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(repo.root)
    ws = Workspace.load(repo.root)
    report, secrets = scan(
        ws, ws.graph.order, ScanOptions(mode="api"), default_io(ws, progress=lambda _m: None)
    )
    assert report.exit_code == 2
    redactor = Redactor(ws.config.redact, secrets)
    shown = report.redacted(redactor.data)
    settings = GitHubSettings.from_env(ws.config.github, dict(os.environ))
    client = GitHub(settings, redactor=redactor, sleep=lambda _s: None, timeout=10)
    github.fail(502, times=5, method="POST", path=r"/pulls$")
    run = DriftPullRequests(ws, settings, gh=client).run(shown, redactor, full_scan=True)

    outcomes = {o.stack: o for o in run.outcomes}
    assert actions(run.to_json()) == {
        "aws/a-flaky": "failed",
        "aws/b-ok": "opened",
        "aws/c-blocked": "failed",
        "aws/d-broken": "failed",
    }
    assert "GitHub answered 502" in str(outcomes["aws/a-flaky"].error)
    assert "rejected" in str(outcomes["aws/c-blocked"].error)
    assert "protected branch" in str(outcomes["aws/c-blocked"].error)
    broken = str(outcomes["aws/d-broken"].error)
    assert "remediation plan failed" in broken and "undeclared input variable" in broken
    log = repo.root / ".orchestrate/plans/.drift-aws-d-broken/aws-d-broken/log.txt"
    assert str(log) in broken and log.is_file()  # the log it names is there to read
    assert run.exit_code(report.exit_code) == 1
    assert [p["_head_ref"] for p in github.pulls.values()] == ["orchestrate/drift/aws-b-ok"]
    assert repo.remote_sha("orchestrate/drift/aws-c-blocked") is None
    assert repo.remote_sha("orchestrate/drift/aws-d-broken") is None  # nothing pushed without a plan
    flaky_branch = repo.remote_sha("orchestrate/drift/aws-a-flaky")
    assert flaky_branch is not None  # pushed before GitHub failed

    # 2. Someone pushes a commit of their own onto b's branch, and b's drift changes.
    ok_branch = "orchestrate/drift/aws-b-ok"
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "-b", "human", f"origin/{ok_branch}")
    repo.git("commit", "-q", "--allow-empty", "-m", "accept the new owner instead")
    repo.git("push", "-q", "origin", f"HEAD:refs/heads/{ok_branch}")
    repo.git("checkout", "-q", "main")
    human = repo.remote_sha(ok_branch)
    ok_number = next(n for n, p in github.pulls.items() if p["_head_ref"] == ok_branch)
    sqs.tag_queue(QueueUrl=sqs.get_queue_url(QueueName="acme-drift-ok")["QueueUrl"], Tags={"owner": "other"})

    # 3. The CLI, GitHub healthy again: a's pull request is opened over its leftover branch, b's is
    #    left alone, c and d fail again, and the exit code is 1.
    mark = len(github.requests)
    res = repo.run("--json", "drift", "--open-pr", ok=(1,))
    second = json.loads(res.stdout)
    assert actions(second["pull_requests"]) == {
        "aws/a-flaky": "opened",
        "aws/b-ok": "left",
        "aws/c-blocked": "failed",
        "aws/d-broken": "failed",
    }
    assert "did not make" in res.output
    assert repo.remote_sha(ok_branch) == human
    assert not [r for r in github.requests[mark:] if r.method == "PATCH" and r.path.endswith(f"/{ok_number}")]
    heads = sorted(p["_head_ref"] for p in github.pulls.values() if p["state"] == "open")
    assert heads == ["orchestrate/drift/aws-a-flaky", ok_branch]
