"""No secret at apply time (issue 12 item 5): a sensitive variable that a provider or a
provisioner prints in clear never reaches the apply log, --json stdout, result.json or
audit.jsonl, even when the apply fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine.conftest import Repo

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-b4cket-n4me"

# terraform masks a sensitive value it prints itself; text a provider or a provisioner
# prints (a bucket name in "creating S3 bucket X: InvalidBucketName") it cannot.
LEAKY = f"""
variable "bucket" {{
  type      = string
  sensitive = true
  default   = "{SECRET}"
}}

resource "null_resource" "bucket" {{
  triggers = {{ name = nonsensitive(var.bucket) }}
  provisioner "local-exec" {{
    command = "echo creating bucket ${{self.triggers.name}}; echo bucket ${{self.triggers.name}} is taken >&2; exit 1"
  }}
}}
"""


def every_file_under(root: Path) -> dict[Path, str]:
    return {
        p: p.read_text(errors="replace") for p in root.rglob("*") if p.is_file() and p.suffix != ".tfplan"
    }


def test_a_failed_apply_shows_no_sensitive_value_anywhere(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo({"stacks/store/stack.yaml": "", "stacks/store/main.tf": LEAKY})
    planned = repo.orchestrate("plan")
    assert planned.exit_code == 2, planned.output
    res = repo.orchestrate("--json", "apply", "--approved-by", "alice", "--reason", "secrets")
    assert res.exit_code == 1, res.output
    assert SECRET not in res.output
    result = json.loads(res.stdout)
    (stack,) = result["stacks"]
    assert stack["status"] == "failed"
    run_dir = Path(result["stacks"][0]["log"]).parent.parent
    files = every_file_under(run_dir)
    plan_set = repo.latest()
    files.update((p, text) for p, text in every_file_under(plan_set).items() if p.name != "plan.json")
    files[repo.root / ".orchestrate/audit.jsonl"] = (repo.root / ".orchestrate/audit.jsonl").read_text()
    assert any(p.name == "apply.log" for p in files) and any(p.name == "result.json" for p in files)
    leaked = [str(p) for p, text in files.items() if SECRET in text]
    assert leaked == []


def drift_stack(value: str) -> str:
    return f"""
variable "owner" {{
  type      = string
  sensitive = true
  default   = "{value}"
}}

resource "null_resource" "r" {{}}

output "owner_tag" {{ value = nonsensitive(var.owner) }}
"""


def test_the_drift_refresh_log_shows_no_sensitive_value(newest_repo: Callable[..., Repo]) -> None:
    repo = newest_repo({"stacks/tags/stack.yaml": "", "stacks/tags/main.tf": drift_stack("team-a-owner")})
    assert repo.orchestrate("plan").exit_code == 2
    assert repo.orchestrate("apply", "--approved-by", "alice", "--reason", "drift").exit_code == 0
    (repo.root / "stacks/tags/main.tf").write_text(drift_stack(SECRET))
    repo.commit("new owner")
    res = repo.orchestrate("drift", "--mode", "refresh", "--format", "json")
    assert res.exit_code in (0, 2), res.output
    log = repo.root / ".orchestrate/work/tags/drift/log.txt"
    assert "owner_tag" in log.read_text(), "terraform printed the output change"
    assert SECRET not in log.read_text()
    assert SECRET not in res.output
