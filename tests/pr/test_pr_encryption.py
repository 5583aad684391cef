"""Encrypted plan sets in the pull-request flow (issue 12 item 6): plan_sets.encrypt_to is a rule
read from the PR's base (a PR deleting it is still encrypted); the plan job's comment shows the
plan from memory; rendered later without the identity (a merge of shards), the comment says the
plans are encrypted and shows the manifest's counts and terraform's redacted plan.txt, never
failing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pyrage import x25519

from orchestrator.planset import read_manifest
from orchestrator.planset_crypto import IDENTITY_ENV
from orchestrator.pr.view import comment_data
from orchestrator.render.comment import render_comment
from orchestrator.workspace import Workspace
from tests.conftest import TerraformBinary, git, write_files
from tests.engine.conftest import Repo, root_config
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

IDENTITY = x25519.Identity.generate()
PUBLIC = str(IDENTITY.to_public())
RULE = f"plan_sets:\n  encrypt_to: [{PUBLIC}]\n"


@pytest.fixture
def clone(
    tmp_path: Path,
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., object],
) -> tuple[Repo, Path]:
    seed = make_repo(
        {
            "orchestrate.yaml": root_config(newest_terraform, RULE),
            ".gitignore": ".orchestrate/\n",
            "stacks/web/stack.yaml": "{}\n",
            "stacks/web/main.tf": 'resource "null_resource" "w" {}\n',
        }
    )
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    work = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    return Repo(work, dict(tf_home), cli, newest_terraform), bare  # type: ignore[arg-type]


def test_a_pr_removing_encrypt_to_is_still_encrypted_and_its_comment_shows_the_plan(
    clone: tuple[Repo, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, bare = clone
    git(repo.root, "checkout", "-q", "-b", "feature")
    config = (repo.root / "orchestrate.yaml").read_text().replace(RULE, "")
    write_files(
        repo.root, {"orchestrate.yaml": config, "stacks/web/extra.tf": 'resource "null_resource" "x" {}\n'}
    )
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "no more encryption")
    git(repo.root, "push", "-q", "origin", "HEAD:refs/heads/feature")
    with FakeGitHub(git_dir=bare) as fake:
        fake.add_pull(5, head_ref="feature", track_branch=True, author="mallory")
        env = {**repo.env, **fake.env(), "GITHUB_EVENT_PATH": "", "GITHUB_STEP_SUMMARY": ""}
        res = repo.run("--repo", str(repo.root), "plan", "--changed", "--comment", "--pr", "5", env=env)
        assert res.exit_code == 2, res.output
        plan_set = repo.latest()
        manifest = read_manifest(plan_set)
        assert manifest.encryption is not None and manifest.encryption.recipients == [PUBLIC]
        assert (plan_set / "web" / "plan.tfplan").read_bytes().startswith(b"age-encryption.org/v1\n")
        (comment,) = fake.issue_comments(5)
        assert "null_resource.x" in comment["body"] and "are encrypted" not in comment["body"]

    # Rendered again from the plan set alone (e.g. a later job): without the identity, and
    # with a wrong one, the counts and a note; with the right one, the plan again.
    ws = Workspace.load(repo.root)
    for identity in (None, str(x25519.Identity.generate()), str(IDENTITY)):
        if identity is None:
            monkeypatch.delenv(IDENTITY_ENV, raising=False)
        else:
            monkeypatch.setenv(IDENTITY_ENV, identity)
        data, redactor = comment_data(ws, plan_set, manifest, pr=5)
        (body,) = render_comment(data, redactor)
        assert "1 to change" in body or "+1" in body
        hidden = identity != str(IDENTITY)
        assert ("The plans of web are encrypted (age)" in body) is hidden
        # the plan either way: orchestrate's diff, or terraform's redacted plan.txt
        assert "null_resource.x" in body
