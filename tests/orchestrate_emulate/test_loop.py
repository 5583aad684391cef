"""The whole GitOps loop end to end, offline, on the emulated clouds (issue 8, item 4).

A pull request changes a stack -> ``plan --changed --comment`` (fake GitHub) -> approval ->
``apply --pr`` -> the resources exist in moto and the emulators -> out-of-band changes through the
SDKs -> ``drift --mode both`` reports them, api and refresh agreeing -> ``drift --open-pr`` opens a
pull request with the remediation plan -> approval -> apply -> the next scan is clean.

Everything is real except GitHub: ``orchestrate emulate up`` starts moto and the GCP and Azure
emulators as processes (and the zygote that forks the stand-in providers), Terraform runs the
stand-in providers, the SDKs change things behind its back, git pushes go to a local bare remote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrate_emulate.manager import Emulation
from orchestrator.planset import read_manifest
from tests.conftest import TerraformBinary, git, write_files
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.integration

SUBSCRIPTION = "33333333-3333-3333-3333-333333333333"

CONFIG = f"""
version: 1
terraform:
  binary: {{binary}}
  parallelism: 3
clouds:
  aws-main: {{{{provider: aws, region: eu-west-1}}}}
  gcp-main: {{{{provider: gcp, project: acme-loop}}}}
  azure-main: {{{{provider: azure, subscription_id: {SUBSCRIPTION}}}}}
approval:
  required: 1
  allow_manual: true
drift:
  mode: both
"""

GCP_STACK = """
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}
resource "google_project" "main" {
  project_id = "acme-loop"
  name       = "Acme loop"
  org_id     = "123456789012"
  labels     = { environment = "prod", owner = "platform" }
}
resource "google_storage_bucket" "logs" {
  name     = "acme-loop-logs"
  project  = google_project.main.project_id
  location = "EU"
  labels   = { environment = "prod", owner = "platform" }
}
resource "google_compute_network" "vpc" {
  name                    = "acme-loop-vpc"
  project                 = google_project.main.project_id
  auto_create_subnetworks = false
}
output "project_id" { value = google_project.main.project_id }
"""

AZURE_STACK = """
terraform {
  required_providers {
    azurerm = { source = "hashicorp/azurerm" }
  }
}
provider "azurerm" {
  features {}
}
resource "azurerm_resource_group" "hub" {
  name     = "acme-loop-hub"
  location = "westeurope"
  tags     = { environment = "prod", owner = "platform" }
}
resource "azurerm_virtual_network" "hub" {
  name                = "acme-loop-vnet"
  resource_group_name = azurerm_resource_group.hub.name
  location            = azurerm_resource_group.hub.location
  address_space       = ["10.10.0.0/16"]
  tags                = { environment = "prod", owner = "platform" }
}
resource "azurerm_storage_account" "logs" {
  name                     = "acmeloopl0gs"
  resource_group_name      = azurerm_resource_group.hub.name
  location                 = azurerm_resource_group.hub.location
  account_tier             = "Standard"
  account_replication_type = "LRS"
  tags                     = { environment = "prod", owner = "platform" }
}
"""

AWS_STACK = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
variable "gcp_project_id" { type = string }
resource "aws_s3_bucket" "assets" {
  bucket = "acme-loop-assets"
  tags   = { environment = "prod", owner = "platform", gcp_project = var.gcp_project_id }
}
resource "aws_sqs_queue" "jobs" {
  name                      = "acme-loop-jobs"
  message_retention_seconds = 345600
  tags                      = { environment = "prod", owner = "platform" }
}
"""

ESTATE = {
    "stacks/gcp/project/stack.yaml": "cloud: gcp-main\nenvironment: prod\n",
    "stacks/gcp/project/main.tf": GCP_STACK,
    "stacks/azure/hub/stack.yaml": "cloud: azure-main\nenvironment: prod\n",
    "stacks/azure/hub/main.tf": AZURE_STACK,
    "stacks/aws/storage/stack.yaml": (
        "cloud: aws-main\nenvironment: prod\ninputs:\n  gcp_project_id: gcp/project.project_id\n"
    ),
    "stacks/aws/storage/main.tf": AWS_STACK,
}


class Loop:
    """A clone of a repository with a local bare remote, run in-process with the emulated clouds."""

    def __init__(self, root: Path, cli: Callable[..., Result], env: dict[str, str]) -> None:
        self.root = root
        self.cli = cli
        self.env = env

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> Result:
        res = self.cli("--repo", str(self.root), *args, env=self.env)
        assert res.exit_code in ok, f"orchestrate {' '.join(args)} exited {res.exit_code}:\n{res.output}"
        return res

    def push(self, files: dict[str, str], message: str) -> str:
        write_files(self.root, files)
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)
        git(self.root, "push", "-q", "origin", "HEAD:refs/heads/feature")
        return git(self.root, "rev-parse", "HEAD")

    def latest_plan_set(self) -> Path:
        base = self.root / ".orchestrate" / "plans"
        sets = [d for d in base.iterdir() if (d / "manifest.json").is_file()]
        return max(sets, key=lambda d: (d / "manifest.json").stat().st_mtime_ns)

    def endpoints(self) -> dict[str, str]:
        state = Emulation(self.root).read_state()
        assert state is not None
        return dict(state["endpoints"])

    def drift(self, mode: str, *, ok: tuple[int, ...] = (0, 2)) -> dict[str, Any]:
        res = self.run("--json", "drift", "--mode", mode, "--format", "json", ok=ok)
        start = res.stdout.index("{")
        return json.loads(res.stdout[start:])  # type: ignore[no-any-return]


def changed_paths(report: dict[str, Any]) -> dict[str, set[str]]:
    """stack -> {address.path} of every changed attribute the report names."""
    out: dict[str, set[str]] = {}
    for s in report["stacks"]:
        for c in s["changed"]:
            for d in c["diffs"]:
                out.setdefault(s["stack"], set()).add(f"{c['address']}.{d['path']}")
    return out


@pytest.fixture
def loop(
    tmp_path: Path,
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    cli: Callable[..., Result],
) -> Iterator[tuple[Loop, Path]]:
    seed = make_repo(
        {
            "orchestrate.yaml": CONFIG.format(binary=newest_terraform.path),
            ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n.terraform/\n.terraform.lock.hcl\n",
            **ESTATE,
        }
    )
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "USER": "tester", "GITHUB_EVENT_PATH": "", "GITHUB_STEP_SUMMARY": ""}
    try:
        yield Loop(clone, cli, env), bare
    finally:
        Emulation(clone).down()


def _http(endpoint: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        endpoint + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def _boto(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_pull_request_apply_out_of_band_change_drift_and_remediation(loop: tuple[Loop, Path]) -> None:
    repo, bare = loop

    # 0. The emulated clouds come up; main's estate is applied (the state before the PR).
    repo.run("emulate", "up")
    endpoints = repo.endpoints()
    repo.run("plan", ok=(2,))
    repo.run("apply", "--approved-by", "bootstrap", "--reason", "initial estate")
    repo.run("plan", ok=(0,))  # converged

    with FakeGitHub(git_dir=bare) as fake:
        fake.grant("bob", "write")  # approvals count only from people with write access
        repo.env.update(fake.env())

        # 1. A pull request changes one stack: a longer retention for the jobs queue.
        git(repo.root, "checkout", "-q", "-b", "feature")
        head = repo.push(
            {"stacks/aws/storage/main.tf": AWS_STACK.replace("345600", "604800")}, "keep jobs for a week"
        )
        fake.add_pull(12, head_ref="feature", track_branch=True, author="alice")

        # 2. plan --changed --comment: only that stack, one sticky comment.
        repo.run("plan", "--changed", "--comment", "--pr", "12", ok=(2,))
        manifest = read_manifest(repo.latest_plan_set())
        assert [s.stack for s in manifest.stacks] == ["aws/storage"]
        assert manifest.commit == head
        comments = fake.issue_comments(12)
        assert len(comments) == 1 and "aws/storage" in comments[0]["body"]
        assert "message_retention_seconds" in comments[0]["body"]

        # 3. Approval, then apply --pr: the change reaches moto.
        fake.add_review(12, "bob", "APPROVED")
        repo.run("apply", "--pr", "12")
        # The PR is merged (the fake GitHub moves no branch, so push the merge): main declares it now,
        # and the drift scan runs on main, as the scheduled workflow does.
        git(repo.root, "push", "-q", "origin", "HEAD:refs/heads/main")
        git(repo.root, "checkout", "-q", "-B", "main", "HEAD")
        sqs = _boto(endpoints["aws"], "sqs")
        url = sqs.get_queue_url(QueueName="acme-loop-jobs")["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])[
            "Attributes"
        ]
        assert attrs["MessageRetentionPeriod"] == "604800"

        # The resources of all three clouds exist in the emulators.
        from tests.orchestrate_emulate.conftest import arm_client, gcp_clients

        projects, _ = gcp_clients(endpoints["gcp"])
        assert dict(projects.get_project(name="projects/acme-loop").labels)["owner"] == "platform"
        azure = arm_client(endpoints["azure"], SUBSCRIPTION)
        assert azure.resource_groups.get("acme-loop-hub").tags["owner"] == "platform"
        s3 = _boto(endpoints["aws"], "s3")
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="acme-loop-assets")["TagSet"]}
        assert tags["gcp_project"] == "acme-loop"

        # 4. Out of band, through the SDKs: one change per cloud.
        from azure.mgmt.resource.resources.models import ResourceGroupPatchable
        from google.protobuf import field_mask_pb2

        s3.put_bucket_tagging(
            Bucket="acme-loop-assets",
            Tagging={
                "TagSet": [{"Key": k, "Value": "intruder" if k == "owner" else v} for k, v in tags.items()]
            },
        )
        project = projects.get_project(name="projects/acme-loop")
        project.labels["owner"] = "intruder"
        projects.update_project(
            project=project, update_mask=field_mask_pb2.FieldMask(paths=["labels"])
        ).result()
        azure.resource_groups.update(
            "acme-loop-hub", ResourceGroupPatchable(tags={"environment": "prod", "owner": "intruder"})
        )
        # Beyond projects and groups: a bucket's labels, a network deleted, a virtual network's
        # address space and a storage account's tags (Cloud Asset Inventory, Resource Graph).
        _http(
            endpoints["gcp"],
            "PATCH",
            "/storage/v1/b/acme-loop-logs",
            {"labels": {"environment": "prod", "owner": "intruder"}},
        )
        _http(endpoints["gcp"], "DELETE", "/compute/v1/projects/acme-loop/global/networks/acme-loop-vpc")
        from azure.mgmt.resource.resources.models import GenericResource

        group_id = azure.resource_groups.get("acme-loop-hub").id
        azure.resources.begin_update_by_id(
            f"{group_id}/providers/Microsoft.Network/virtualNetworks/acme-loop-vnet",
            api_version="2024-01-01",
            parameters=GenericResource(properties={"addressSpace": {"addressPrefixes": ["10.99.0.0/16"]}}),
        ).result()
        azure.resources.begin_update_by_id(
            f"{group_id}/providers/Microsoft.Storage/storageAccounts/acmeloopl0gs",
            api_version="2023-01-01",
            parameters=GenericResource(tags={"environment": "prod", "owner": "intruder"}),
        ).result()

        # 5. drift --mode both reports them; the api and refresh scans agree.
        both = repo.drift("both", ok=(2,))
        assert {s["stack"]: s["status"] for s in both["stacks"]} == {
            "gcp/project": "drifted",
            "azure/hub": "drifted",
            "aws/storage": "drifted",
        }
        api = changed_paths(repo.drift("api", ok=(2,)))
        refresh = changed_paths(repo.drift("refresh", ok=(2,)))
        for stack, path in (
            ("aws/storage", "aws_s3_bucket.assets.tags.owner"),
            ("gcp/project", "google_project.main.labels.owner"),
            ("gcp/project", "google_storage_bucket.logs.labels.owner"),
            ("azure/hub", "azurerm_resource_group.hub.tags.owner"),
            ("azure/hub", "azurerm_storage_account.logs.tags.owner"),
        ):
            assert path in api.get(stack, set()), (stack, api)
            assert path in refresh.get(stack, set()), (stack, refresh)
        assert "azurerm_virtual_network.hub.address_space" in api["azure/hub"], api
        api_report = repo.drift("api", ok=(2,))
        gcp_missing = {m["address"] for s in api_report["stacks"] for m in s["missing"]}
        assert gcp_missing == {"google_compute_network.vpc"}
        # Every managed resource of the three clouds was compared through the APIs.
        assert api_report["summary"]["coverage"]["none"] == 0
        assert set(api) == set(refresh) == {"aws/storage", "gcp/project", "azure/hub"}

        # 6. drift --open-pr: one pull request per drifted stack with the remediation plan.
        repo.run("drift", "--mode", "both", "--open-pr", ok=(2,))
        drift_prs = [p for p in fake.pulls.values() if str(p["_head_ref"]).startswith("orchestrate/drift/")]
        assert {p["_head_ref"] for p in drift_prs} == {
            "orchestrate/drift/aws-storage",
            "orchestrate/drift/gcp-project",
            "orchestrate/drift/azure-hub",
        }

        # 7. Approval and apply of each drift PR, then the next scan is clean.
        #    Each plan set is bound to its PR's head commit: apply at that commit (as the apply
        #    workflow checks out the PR head), with the plan set the PR body names.
        from orchestrator.render.comment import parse_plan_set_block

        git(repo.root, "fetch", "-q", "origin")
        for pr in drift_prs:
            fake.add_review(pr["_number"], "bob", "APPROVED")
            ref = parse_plan_set_block(str(pr["body"]))
            assert ref is not None
            git(repo.root, "checkout", "-q", "--detach", f"origin/{pr['_head_ref']}")
            plan_set = repo.root / ".orchestrate" / "plans" / ref.id
            repo.run("apply", "--pr", str(pr["_number"]), "--plan-set", str(plan_set))
        git(repo.root, "checkout", "-q", "main")
        clean = repo.drift("both", ok=(0,))
        assert clean["summary"]["drifted"] == 0
        # ...because the clouds hold the declared values again.
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="acme-loop-assets")["TagSet"]}
        assert tags["owner"] == "platform"
        assert dict(projects.get_project(name="projects/acme-loop").labels)["owner"] == "platform"
        assert azure.resource_groups.get("acme-loop-hub").tags["owner"] == "platform"
