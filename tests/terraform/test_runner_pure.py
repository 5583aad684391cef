"""argv building and failure classification of the terraform runner (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import StalePlanError, StateLockError, TerraformError
from orchestrator.terraform import runner as tf
from orchestrator.terraform.init_errors import init_problems

LOCK_OUTPUT = """
Error: Error acquiring the state lock

Error message: ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        4b1d6c1e-8c1a-0a39-3ad2-5c4d0d1e2f3a
  Path:      tfstate/app/terraform.tfstate
  Operation: OperationTypeApply
  Who:       alice@build-7
  Version:   1.11.4
  Created:   2024-05-01 10:00:00.000000 +0000 UTC
  Info:

Terraform acquires a state lock to protect the state from being written
"""


def test_plan_argv_uses_chdir_out_and_detailed_exitcode() -> None:
    args = tf.plan_args(Path("/r/stacks/a"), Path("/p/plan.tfplan"), var_files=["prod.tfvars"], destroy=True)
    assert args[:2] == ["-chdir=/r/stacks/a", "plan"]
    assert "-detailed-exitcode" in args and "-input=false" in args and "-destroy" in args
    assert "-out=/p/plan.tfplan" in args and args[-1] == "-var-file=prod.tfvars"


def test_apply_argv_applies_the_saved_plan_without_auto_approve() -> None:
    args = tf.apply_args(Path("/s"), Path("/p/plan.tfplan"))
    assert args[-1] == "/p/plan.tfplan"
    assert not any(a.startswith("-auto-approve") for a in args)


def test_init_argv_backend_config_file_or_no_backend() -> None:
    assert "-backend-config=/w/backend.hcl" in tf.init_args(Path("/s"), backend_config=Path("/w/backend.hcl"))
    no_backend = tf.init_args(Path("/s"), backend=False)
    assert "-backend=false" in no_backend and not any("backend-config" in a for a in no_backend)


def test_compose_env_copies_and_adds_automation_flags() -> None:
    base = {"PATH": "/bin", "TF_INPUT": "1"}
    env = tf.compose_env(base, {"AWS_REGION": "eu-west-1"}, {"TF_VAR_x": "1"})
    assert env["TF_INPUT"] == "0" and env["TF_IN_AUTOMATION"] == "1"
    assert env["AWS_REGION"] == "eu-west-1" and env["TF_VAR_x"] == "1"
    assert base == {"PATH": "/bin", "TF_INPUT": "1"}  # never mutated


def test_state_lock_error_names_the_holder_and_the_unlock_command() -> None:
    err = tf.classify_failure(
        "plan", LOCK_OUTPUT, where="app", log=None, unlock_hint="terraform force-unlock {id}"
    )
    assert isinstance(err, StateLockError)
    assert "alice@build-7" in err.message and "4b1d6c1e" in err.message and "apply" in err.message
    assert err.hint is not None and "terraform force-unlock 4b1d6c1e-8c1a-0a39-3ad2-5c4d0d1e2f3a" in err.hint


CREATED = tf.lock_created("2024-05-01 10:00:00.000000 +0000 UTC")


def test_lock_created_reads_terraforms_nanosecond_timestamps() -> None:
    assert CREATED == 1714557600.0
    assert tf.lock_created("2026-12-03 14:35:27.817371378 +0000 UTC") == pytest.approx(1796308527.817371)
    assert tf.lock_created("yesterday") is None and tf.lock_created("2024-13-01 10:00:00 +0000 UTC") is None


def test_a_lock_this_command_took_itself_is_called_its_own() -> None:
    assert CREATED is not None
    own = tf.Caller("alice@build-7", started=CREATED - 5)
    err = tf.classify_failure(
        "apply", LOCK_OUTPUT, where="app", log=None, unlock_hint="terraform force-unlock {id}", caller=own
    )
    assert isinstance(err, StateLockError) and err.hint is not None
    assert "this command's own" in err.hint and "force-unlock 4b1d6c1e" in err.hint
    assert "Wait for the other run" not in err.hint


@pytest.mark.parametrize(
    "caller",
    [
        tf.Caller("bob@build-7", started=1714557595.0),  # another user
        tf.Caller("alice@build-8", started=1714557595.0),  # another machine
        tf.Caller("alice@build-7", started=1714557700.0),  # taken before this command began
    ],
)
def test_anyone_elses_lock_is_waited_for(caller: tf.Caller) -> None:
    err = tf.classify_failure(
        "apply", LOCK_OUTPUT, where="app", log=None, unlock_hint="terraform force-unlock {id}", caller=caller
    )
    assert err.hint is not None and err.hint.startswith("Wait for the other run to finish.")


def test_this_caller_is_user_at_host_and_its_start() -> None:
    import socket
    import time

    caller = tf.this_caller(10.0)
    assert caller.who.endswith("@" + socket.gethostname())
    assert abs(caller.started - (time.time() - 10.0)) < 2


def test_stale_plan_is_reported_as_such() -> None:
    err = tf.classify_failure(
        "apply", "Error: Saved plan is stale\n\nThe given plan file...", where="a", log=None
    )
    assert isinstance(err, StalePlanError) and "stale" in err.message


def test_unreachable_registry_during_init_is_unreachable_not_invalid() -> None:
    out = (
        "Error: Failed to query available provider packages\n\nCould not retrieve the list of available "
        "versions for provider hashicorp/aws: could not connect to registry.terraform.io: Failed to "
        "request discovery document: Get ... dial tcp: lookup registry.terraform.io: no such host"
    )
    err = tf.classify_failure("init", out, where="a", log=None)
    assert isinstance(err, tf.InitUnreachable) and "emulate up" in (err.hint or "")
    assert (
        err.message
        == "could not install: provider hashicorp/aws: registry.terraform.io is unreachable (offline)"
    )


# terraform 1.11's own texts (1.0 prints the same without the "on main.tf line" excerpt)
_TYPO = """Error: Failed to query available provider packages

Could not retrieve the list of available versions for provider hashicorp/nul:
provider registry.terraform.io/hashicorp/nul was not found in any of the
search locations
"""
_NO_SUCH = """Error: Failed to query available provider packages

Could not retrieve the list of available versions for provider hashicorp/nul:
provider registry registry.terraform.io does not have a provider named
registry.terraform.io/hashicorp/nul
"""
_CHECKSUM = """Error: Failed to install provider

Error while installing hashicorp/null v2.1.2: the local package for
registry.terraform.io/hashicorp/null 2.1.2 doesn't match any of the checksums
previously recorded in the dependency lock file
"""
_MODULE_REGISTRY = """Error: Error accessing remote module registry

  on main.tf line 1:
   1: module "vpc" {

Failed to retrieve available versions for module "vpc" (main.tf:1) from
registry.terraform.io: failed to request discovery document: Get
"https://registry.terraform.io/.well-known/terraform.json": dial tcp: lookup
registry.terraform.io on 10.255.255.53:53: no such host.
"""
_GIT = """Error: Failed to download module

Could not download module "m" (main.tf:1) source code from
"git::file:///tmp/nope.git": error downloading
'file:///tmp/nope.git': /usr/bin/git exited with 128: Cloning into
'/tmp/x/modules/m'...
fatal: '/tmp/nope.git' does not appear to be a git repository
fatal: Could not read from remote repository.

Please make sure you have the correct access rights
and the repository exists.
"""


@pytest.mark.parametrize(
    ("output", "kind", "unreachable", "text"),
    [
        (_TYPO, "provider-not-found", False, "provider hashicorp/nul: not found in any configured search"),
        (_NO_SUCH, "provider-unknown", False, "provider hashicorp/nul: the registry has no such provider"),
        (_CHECKSUM, "provider-checksum", False, "provider hashicorp/null: the package does not match"),
        (
            _MODULE_REGISTRY,
            "module-registry",
            True,
            'module "vpc" (main.tf:1): module registry registry.terraform.io',
        ),
        (
            _GIT,
            "git-module",
            False,
            "git source git::file:///tmp/nope.git could not be fetched: '/tmp/nope.git' does",
        ),
        (
            _GIT.replace("does not appear to be a git repository", "Could not resolve host: x"),
            "git-module",
            True,
            "",
        ),
    ],
    ids=["typo-in-mirror", "no-such-provider", "checksum", "module-registry", "git-missing", "git-offline"],
)
def test_bug7_init_failures_are_classified_from_terraform_texts(
    output: str, kind: str, unreachable: bool, text: str
) -> None:
    (problem,) = init_problems(output + "\n" + output)  # 1.0 prints some blocks twice
    assert (problem.kind, problem.unreachable) == (kind, unreachable)
    assert text in problem.describe()
    err = tf.classify_failure("init", output, where="a", log=None)
    assert isinstance(err, tf.InitUnreachable if unreachable else tf.InitFailed)
    assert problem.describe() in err.message


def test_plan_asking_for_init_is_init_required() -> None:
    out = 'Error: Module not installed\n\nThis module is not yet installed. Run "terraform init" to install'
    assert isinstance(tf.classify_failure("plan", out, where="a", log=None), tf.InitRequired)


def test_other_failures_quote_the_first_error_line() -> None:
    err = tf.classify_failure(
        "plan",
        "│ Error: Reference to undeclared resource\n│ on main.tf line 3",
        where="a",
        log=Path("/l.txt"),
    )
    assert type(err) is TerraformError
    assert "Reference to undeclared resource" in err.message and "/l.txt" in (err.hint or "")


CORRUPT_STATE = """
Error: Error acquiring the state lock

Error message: 2 problems:

- Unsupported state file format: The state file could not be parsed as JSON:
syntax error at byte offset 16.
- Unsupported state file format: The state file does not have a "version"
attribute, which is required to identify the format version.

Terraform acquires a state lock to protect the state from being written
"""


def test_a_corrupt_state_is_called_corrupt_not_locked() -> None:
    err = tf.classify_failure("plan", CORRUPT_STATE, where="net", log=None, unlock_hint="x {id}")
    assert isinstance(err, tf.CorruptStateError)
    assert "corrupt" in err.message and "locked" not in err.message
    assert "could not be parsed as JSON" in err.message
    assert "backup" in (err.hint or "")
