"""With real terraform: a plan that deletes a protected resource makes `plan` exit 3, writes the
policy results into the plan set, and `apply` refuses it; advisory enforcement lets it through."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from orchestrator.planset import POLICY_FILE, read_manifest
from tests.conftest import TerraformBinary, git

pytestmark = pytest.mark.integration

GUARD = """# keep-protected: no delete of a null_resource whose triggers say protected
package main

deny contains result if {
	some rc in input.resource_changes
	rc.type == "null_resource"
	"delete" in rc.change.actions
	rc.change.before.triggers.protected == "true"
	not rc.address in input.orchestrate.allow_destroy
	result := {
		"msg": concat("", [rc.address, ": protected; list it in policy.allow_destroy to delete it"]),
		"policy": "keep-protected",
		"resource": rc.address,
	}
}

warn contains concat("", ["stack ", input.orchestrate.stack, " plans ", format_int(count(input.resource_changes), 10), " changes"]) if {
	count(input.resource_changes) > 0
}
"""

KEPT = """
resource "null_resource" "vault" {
  triggers = { protected = "true" }
}
"""


def _setup(make_repo: Callable[..., Path], tb: TerraformBinary, enforcement: str = "blocking") -> Path:
    return make_repo(
        {
            "orchestrate.yaml": f"terraform:\n  binary: {tb.path}\n  parallelism: 1\npolicies:\n  enforcement: {enforcement}\n",
            ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n",
            "policies/guard.rego": GUARD,
            "stacks/data/stack.yaml": "",
            "stacks/data/main.tf": KEPT,
        }
    )


def _latest(root: Path) -> Path:
    base = root / ".orchestrate" / "plans"
    return max(
        (d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")),
        key=lambda d: (d / "manifest.json").stat().st_mtime_ns,
    )


def test_deleting_a_protected_resource_blocks_plan_and_apply(
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., Result],
) -> None:
    root = _setup(make_repo, newest_terraform)
    env = {**tf_home, "USER": "tester"}

    def orchestrate(*args: str) -> Result:
        return cli("--repo", str(root), *args, env=env)

    res = orchestrate("plan")
    assert res.exit_code == 2, res.output  # creating is allowed; the warning does not block
    first = _latest(root)
    policy = json.loads((first / POLICY_FILE).read_text())
    assert policy["summary"]["warned"] == 1 and policy["summary"]["blocking"] is False
    res = orchestrate("apply", "--plan-set", str(first), "--approved-by", "alice", "--reason", "create")
    assert res.exit_code == 0, res.output

    (root / "stacks/data/main.tf").write_text('output "gone" { value = "the vault is removed" }\n')
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "remove the vault")
    res = orchestrate("plan")
    assert res.exit_code == 3, res.output
    blocked = _latest(root)
    manifest = read_manifest(blocked)
    assert manifest.policy is not None and manifest.policy["blocking"] is True
    policy = json.loads((blocked / POLICY_FILE).read_text())
    finding = policy["stacks"][0]["findings"][0]
    assert (finding["level"], finding["policy"], finding["resource"]) == (
        "deny",
        "keep-protected",
        "null_resource.vault",
    )

    res = orchestrate("apply", "--plan-set", str(blocked), "--approved-by", "alice", "--reason", "delete")
    assert res.exit_code == 3, res.output
    assert "polic" in res.output
    state = json.loads((root / ".orchestrate/state/data/terraform.tfstate").read_text())
    assert [r["name"] for r in state["resources"]] == ["vault"]  # nothing was destroyed

    res = orchestrate("policy", "--plan-set", str(blocked))
    assert res.exit_code == 3
    assert "null_resource.vault: protected" in res.stdout

    # The stack allows the delete explicitly: the same change now passes.
    (root / "stacks/data/stack.yaml").write_text("policy:\n  allow_destroy: [null_resource.vault]\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "allow the delete")
    res = orchestrate("plan")
    assert res.exit_code == 2, res.output


def test_advisory_enforcement_reports_the_denial_and_lets_the_apply_run(
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    tf_home: dict[str, str],
    cli: Callable[..., Result],
) -> None:
    root = _setup(make_repo, newest_terraform, enforcement="advisory")
    env = {**tf_home, "USER": "tester"}

    def orchestrate(*args: str) -> Result:
        return cli("--repo", str(root), *args, env=env)

    assert orchestrate("plan").exit_code == 2
    assert orchestrate("apply", "--approved-by", "alice", "--reason", "create").exit_code == 0
    (root / "stacks/data/main.tf").write_text('output "gone" { value = "removed" }\n')
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "remove the vault")
    res = orchestrate("plan")
    assert res.exit_code == 2, res.output
    policy = json.loads((_latest(root) / POLICY_FILE).read_text())
    assert policy["summary"]["denied"] == 1 and policy["summary"]["blocking"] is False
    res = orchestrate("apply", "--approved-by", "alice", "--reason", "advisory delete")
    assert res.exit_code == 0, res.output
    state = json.loads((root / ".orchestrate/state/data/terraform.tfstate").read_text())
    assert state["resources"] == []
