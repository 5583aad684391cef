"""Fixtures of the emulate tests: the GCP and Azure emulators in-process, and SDK clients on them."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrate_emulate.azure_api import AzureEmulator
from orchestrate_emulate.gcp_api import GcpEmulator
from orchestrate_emulate.mirror import Mirror
from orchestrate_emulate.mirror import build as build_mirror
from tests.conftest import MotoServer, TerraformBinary
from tests.fakes.clouds import arm_client as shared_arm_client
from tests.fakes.clouds import gcp_clients  # noqa: F401 - re-exported for tests/orchestrate_emulate

SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"


def arm_client(url: str, subscription: str = SUBSCRIPTION) -> Any:
    """azure-mgmt-resource's ResourceManagementClient pointed at ``url``."""
    return shared_arm_client(url, subscription)


# ---------------------------------------------------------------- terraform on the stand-in providers


@pytest.fixture(scope="session")
def provider_mirror(tmp_path_factory: pytest.TempPathFactory) -> Mirror:
    """The stand-in providers' mirror and CLI config, built once."""
    return build_mirror(tmp_path_factory.mktemp("emulate"))


@dataclass
class Terraform:
    """Run one terraform binary in one directory with the emulated clouds' environment."""

    binary: TerraformBinary
    cwd: Path
    env: dict[str, str]

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.binary.path, args[0], "-no-color", *args[1:]],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if proc.returncode not in ok:
            raise AssertionError(
                f"terraform {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def write(self, text: str) -> None:
        (self.cwd / "main.tf").write_text(text)

    def plan_json(self, *args: str, ok: tuple[int, ...] = (0, 2)) -> dict[str, Any]:
        self("plan", "-input=false", "-out=tfplan", *args, ok=ok)
        return json.loads(self("show", "-json", "tfplan").stdout)  # type: ignore[no-any-return]

    def state_json(self) -> dict[str, Any]:
        return json.loads(self("show", "-json").stdout)  # type: ignore[no-any-return]


@pytest.fixture
def emulated_env(
    provider_mirror: Mirror, moto: MotoServer, gcp: GcpEmulator, arm: AzureEmulator, tmp_path: Path
) -> dict[str, str]:
    """Environment for terraform on the stand-in providers: endpoints, fake credentials, a private HOME."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_", "GOOGLE_", "ARM_"))}
    env.update(
        {
            "HOME": str(home),
            "TF_CLI_CONFIG_FILE": str(provider_mirror.cli_config),
            "CHECKPOINT_DISABLE": "1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": moto.endpoint,
            "GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT": gcp.url,
            "ARM_RESOURCE_MANAGER_ENDPOINT": arm.url,
            "ARM_SUBSCRIPTION_ID": SUBSCRIPTION,
        }
    )
    return env


@pytest.fixture
def tf_newest(newest_terraform: TerraformBinary, emulated_env: dict[str, str], tmp_path: Path) -> Terraform:
    """The newest terraform here in an empty directory, on the emulated clouds."""
    work = tmp_path / "work"
    work.mkdir()
    return Terraform(newest_terraform, work, emulated_env)


def boto(env: dict[str, str], service: str) -> Any:
    """A boto3 client on moto, as an out-of-band actor would use."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def drift_of(plan: dict[str, Any]) -> dict[str, list[str]]:
    """address -> actions of a plan's resource_drift."""
    return {r["address"]: r["change"]["actions"] for r in plan.get("resource_drift") or []}


def changes_of(plan: dict[str, Any]) -> dict[str, list[str]]:
    """address -> actions of a plan's resource_changes, leaving out no-ops."""
    return {
        r["address"]: r["change"]["actions"]
        for r in plan.get("resource_changes") or []
        if r["change"]["actions"] != ["no-op"]
    }
