"""`orchestrate validate` runs terraform validate per stack; offline providers are a warning."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine.conftest import NULL_STACK, Repo

pytestmark = pytest.mark.integration


def test_terraform_errors_are_reported_with_file_and_line(tf_repo: Callable[..., Repo]) -> None:
    repo = tf_repo(
        {
            "stacks/good/stack.yaml": "",
            "stacks/good/main.tf": NULL_STACK,
            "stacks/bad/stack.yaml": "",
            "stacks/bad/main.tf": 'output "ok" { value = 1 }\n\noutput "x" {\n  value = null_resource.nope.id\n}\n',
        }
    )
    res = repo.orchestrate("--json", "validate")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert {r["stack"]: r["status"] for r in data["terraform"]} == {"bad": "invalid", "good": "valid"}
    assert any(
        e.startswith("stacks/bad/main.tf:4: error: Reference to undeclared resource") for e in data["errors"]
    )


def test_unreachable_registry_is_a_warning_unless_strict(
    newest_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = newest_repo(
        {
            "stacks/cloud/stack.yaml": "",
            "stacks/cloud/main.tf": 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n',
            "stacks/plain/stack.yaml": "",
            "stacks/plain/main.tf": 'output "x" { value = 1 }\n',
        }
    )
    online = tmp_path / "online.tfrc"
    online.write_text("provider_installation {\n  direct {}\n}\n")
    repo.env["TF_CLI_CONFIG_FILE"] = str(online)
    res = repo.orchestrate("validate")
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "could not check cloud" in flat and "orchestrate emulate up" in flat and "provider mirror" in flat
    res = repo.orchestrate("validate", "--strict")
    assert res.exit_code == 1


def test_bug7_validate_fails_when_no_stack_could_be_checked(
    newest_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = newest_repo(
        {
            "stacks/cloud/stack.yaml": "",
            "stacks/cloud/main.tf": 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n',
        }
    )
    online = tmp_path / "online.tfrc"
    online.write_text("provider_installation {\n  direct {}\n}\n")
    repo.env["TF_CLI_CONFIG_FILE"] = str(online)
    res = repo.orchestrate("validate")
    assert res.exit_code == 1, res.output
    assert "could check none of the 1 stacks" in " ".join(res.output.split())


def test_bug7_init_failures_say_exactly_what_failed(tf_repo: Callable[..., Repo], tmp_path: Path) -> None:
    """A provider typo against the offline mirror and a missing git module are errors that name
    them; an unreachable module registry or git host leaves the stack unchecked, saying which."""
    missing = tmp_path / "missing.git"
    repo = tf_repo(
        {
            "stacks/good/stack.yaml": "",
            "stacks/good/main.tf": NULL_STACK,
            "stacks/typo/stack.yaml": "",
            "stacks/typo/main.tf": 'terraform {\n  required_providers {\n    null = { source = "hashicorp/nul" }\n  }\n}\n',
            "stacks/regmod/stack.yaml": "",
            "stacks/regmod/main.tf": 'module "vpc" {\n  source  = "registry.invalid/acme/vpc/aws"\n  version = "1.0.0"\n}\n',
            "stacks/gitmod/stack.yaml": "",
            "stacks/gitmod/main.tf": f'module "m" {{\n  source = "git::file://{missing}"\n}}\n',
            "stacks/githost/stack.yaml": "",
            "stacks/githost/main.tf": 'module "n" {\n  source = "git::https://git.invalid/acme/n.git"\n}\n',
        }
    )
    res = repo.orchestrate("--json", "validate")
    assert res.exit_code == 1, res.output
    data = json.loads(res.stdout)
    by = {r["stack"]: r for r in data["terraform"]}
    assert {s: r["status"] for s, r in by.items()} == {
        "good": "valid",
        "typo": "failed",
        "regmod": "unchecked",
        "gitmod": "failed",
        "githost": "unchecked",
    }
    typo = by["typo"]["error"]
    assert "provider hashicorp/nul: not found in any configured search location" in typo
    assert "unreachable" not in typo
    assert by["regmod"]["error"] == (
        'could not install: module "vpc" (main.tf:1): module registry registry.invalid is unreachable (offline)'
    )
    assert (
        f'module "m" (main.tf:1): git source git::file://{missing} could not be fetched'
        in by["gitmod"]["error"]
    )
    assert "does not appear to be a git repository" in by["gitmod"]["error"]
    assert (
        'module "n" (main.tf:1): git source git::https://git.invalid/acme/n.git is unreachable'
        in (by["githost"]["error"])
    )
    flat = " ".join(" ".join(data["errors"] + data["warnings"]).split())
    assert "typo: terraform init failed: provider hashicorp/nul" in flat
    assert "terraform validate could not check " in flat and "provider mirror" in flat
    assert (
        'regmod (could not install: module "vpc"' in flat and 'githost (could not install: module "n"' in flat
    )
