"""Drift remediation plan sets under plan_sets.encrypt_to (issue 12 item 6): the drift job holds
only the public key, yet the PR body shows the remediation plan (from memory); the plan set's
plan files are age files; `apply --pr N` with the identity restores the resource."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyrage import x25519

from orchestrator.planset import read_manifest
from orchestrator.planset_crypto import IDENTITY_ENV
from orchestrator.render.comment import parse_plan_set_block
from tests.drift_pr.conftest import DriftRepo
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

IDENTITY = x25519.Identity.generate()
PUBLIC = str(IDENTITY.to_public())


def test_an_encrypted_remediation_plan_is_shown_and_applies_with_the_identity(
    drift_repo: Callable[..., DriftRepo], github: FakeGitHub
) -> None:
    repo = drift_repo(config_extra=f"plan_sets: {{encrypt_to: ['{PUBLIC}']}}\n", apply=False)
    repo.run("plan", ok=(2,))
    repo.env[IDENTITY_ENV] = str(IDENTITY)
    repo.run("apply", "--approved-by", "bootstrap", "--reason", "initial estate")
    del repo.env[IDENTITY_ENV]  # the drift job holds no identity
    repo.env.update(github.env())
    repo.set_bucket_tags({"owner": "intruder", "environment": "prod"})
    _, data = repo.drift()
    (opened,) = [p for p in data["pull_requests"] if p["stack"] == "aws/storage"]
    number = opened["number"]
    body = github.pulls[number]["body"]
    assert 'owner = "intruder" -> "platform"' in body  # the plan, though its files are sealed
    ref = parse_plan_set_block(body)
    assert ref is not None
    plan_set = repo.root / ".orchestrate" / "plans" / ref.id
    manifest = read_manifest(plan_set)
    assert manifest.kind == "drift-remediation"
    assert manifest.encryption is not None and manifest.encryption.recipients == [PUBLIC]
    (sp,) = manifest.stacks
    for name in ("plan.tfplan", "plan.json"):
        assert (plan_set / sp.slug / name).read_bytes().startswith(b"age-encryption.org/v1\n")

    github.grant("bob", "write")
    github.add_review(number, "bob", "APPROVED")
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "--detach", "origin/orchestrate/drift/aws-storage")
    refused = repo.run("apply", "--pr", str(number), "--plan-set", str(plan_set), ok=(1,))
    assert f"{IDENTITY_ENV} is not set" in refused.output and "Traceback" not in refused.output
    assert repo.bucket_tags()["owner"] == "intruder"
    repo.env[IDENTITY_ENV] = str(IDENTITY)
    repo.run("apply", "--pr", str(number), "--plan-set", str(plan_set))
    assert repo.bucket_tags() == {"owner": "platform", "environment": "prod"}
