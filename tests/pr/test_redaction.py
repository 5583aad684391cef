"""Planted secrets never reach a comment, a status, the job summary, a log or the console.

Secrets are planted in each place SPEC §7 names: a sensitive variable (through TF_VAR_*),
a resource attribute marked sensitive, a sensitive output, and matches of a ``redact:``
pattern in a plain attribute, a plain output, a policy message and a failing stack's error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.redact import Redactor
from orchestrator.render.comment import render_comment
from tests.conftest import git
from tests.engine.conftest import Repo
from tests.fakes.github import FakeGitHub
from tests.pr.planfixtures import StackSpec, plan_json, write_plan_set

pytestmark = pytest.mark.integration

SENSITIVE_VAR = "Sens1tive-Pa55word"
SENSITIVE_OUT = "out-Secret-9876"
PATTERN_ATTR = "tok-ABCD1234"
PATTERN_OUT = "tok-ZZZZ9999"
PATTERN_ERR = "tok-FAIL0001"
SECRETS = [SENSITIVE_VAR, SENSITIVE_OUT, PATTERN_ATTR, PATTERN_OUT, PATTERN_ERR]

FILES = {
    "stacks/app/stack.yaml": "{}\n",
    "stacks/app/main.tf": f"""
variable "db_password" {{
  type      = string
  sensitive = true
}}
resource "null_resource" "r" {{
  triggers = {{
    password = var.db_password
    note     = "issued {PATTERN_ATTR} for the app"
  }}
}}
output "secret_out" {{
  value     = "{SENSITIVE_OUT}"
  sensitive = true
}}
output "plain" {{ value = "plain {PATTERN_OUT} value" }}
""",
    "stacks/broken/stack.yaml": "{}\n",
    "stacks/broken/main.tf": f"""
variable "x" {{
  type    = string
  default = "{PATTERN_ERR}"
  validation {{
    condition     = length(var.x) < 3
    error_message = "The value of x is not allowed."
  }}
}}
output "x" {{ value = var.x }}
""",
    "policies/leak.rego": """package main

import rego.v1

warn contains msg if {
  some rc in input.resource_changes
  rc.type == "null_resource"
  msg := sprintf("triggers are %v", [rc.change.after.triggers])
}
""",
}


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_no_planted_secret_reaches_any_output(
    pr_repo: Callable[..., Repo], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    repo = pr_repo(FILES, 'redact: ["tok-[A-Z0-9]{8}"]\n')
    head = git(repo.root, "rev-parse", "HEAD")
    fake_github.add_pull(5, head_sha=head, base_sha=head, author="alice")
    fake_github.grant("bob", "write")
    summary = tmp_path / "summary.md"
    env = {**repo.env, "TF_VAR_db_password": SENSITIVE_VAR, "GITHUB_STEP_SUMMARY": str(summary)}
    outputs: dict[str, str] = {}

    res = repo.run("--repo", str(repo.root), "--json", "plan", "--comment", "--pr", "5", env=env)
    assert res.exit_code == 1, res.output  # `broken` fails to plan
    outputs["plan console"] = res.output
    plan_set = repo.latest()
    manifest = json.loads((plan_set / "manifest.json").read_text())
    statuses = {s["stack"]: s["status"] for s in manifest["stacks"]}
    assert statuses == {"app": "changes", "broken": "failed"}
    # the secrets really are in what terraform produced, so the test can fail
    plan = (plan_set / "app" / "plan.json").read_text()
    assert SENSITIVE_VAR in plan and SENSITIVE_OUT in plan and PATTERN_ATTR in plan

    comment = fake_github.issue_comments(5)[0]["body"]
    assert "(sensitive" in comment and "not allowed" in comment
    assert "triggers are" in comment  # the policy message is there, redacted

    fake_github.add_review(5, "bob", "APPROVED")
    res = repo.run("--repo", str(repo.root), "apply", "--plan-set", str(plan_set), "--pr", "5", env=env)
    outputs["apply console"] = res.output
    assert res.exit_code == 0, res.output

    outputs["github requests"] = fake_github.all_text_received()
    outputs["job summary"] = summary.read_text()
    outputs["audit log"] = (repo.root / ".orchestrate" / "audit.jsonl").read_text()
    for sdir in (plan_set / "app", plan_set / "broken"):
        for name in ("plan.txt", "log.txt"):
            if (sdir / name).exists():
                outputs[f"{sdir.name}/{name}"] = (sdir / name).read_text()
    found = {where: leaks(text) for where, text in outputs.items() if leaks(text)}
    assert found == {}


def test_renderer_masks_sensitive_values_even_without_patterns(
    tmp_path: Path, make_repo: Callable[..., Path]
) -> None:
    from orchestrator.pr.view import comment_data
    from orchestrator.workspace import Workspace

    ws = Workspace.load(
        make_repo({"stacks/app/stack.yaml": "{}\n", "stacks/db/stack.yaml": "{}\n"}), use_cache=False
    )
    manifest = write_plan_set(tmp_path / "ps", [StackSpec("app", plan="update"), StackSpec("db", plan="aws")])
    data, redactor = comment_data(ws, tmp_path / "ps", manifest)
    text = "\n".join(render_comment(data, redactor))
    for secret in (
        "hunter2-SECRET-pw",
        "new-SECRET-pw2",
        "ak-SECRET-0000-1111",
        "ak-old-SECRET",
        "c2VjcmV0",
        "bmV3",
    ):
        assert secret not in text
    # and the raw material did contain them
    raw = json.dumps(plan_json("update")) + json.dumps(plan_json("aws"))
    assert "hunter2-SECRET-pw" in raw and "ak-SECRET-0000-1111" in raw


def test_a_secret_is_never_cut_in_half_by_the_size_limit() -> None:
    from orchestrator.planset import Manifest, StackPlan
    from orchestrator.render.comment import CommentData, StackSection

    secret = "S3cr3t-" + "x" * 40
    diff = "".join(f"+   line {i} {secret}\n" for i in range(3000))
    plan = StackPlan(stack="a", slug="a", path="stacks/a", status="changes", plan_sha256="0" * 64)
    manifest = Manifest(created_at="t", orchestrate_version="0", stacks=[plan]).with_id()
    data = CommentData(manifest=manifest, sections=[StackSection(plan, diff=diff)])
    parts = render_comment(data, Redactor(secrets=[secret]))
    joined = "\n".join(parts)
    assert "S3cr3t" not in joined and "Plan cut here" in joined
