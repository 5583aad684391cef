"""The example estate's dev environment rebuilt into a second emulated account from Git alone
(issue 18 item 4; the runbook is docs/disaster-recovery.md).

The original estate runs on `orchestrate emulate up` (moto, the GCP and Azure emulators) in a
clone of a bare remote. The second account is a second set of emulators (another moto server,
GcpEmulator, AzureEmulator): cloud targets aws-dr, gcp-dr and azure-dr of orchestrate.yaml name
their endpoints, committed on the default branch. A fresh clone of the remote, with no
.orchestrate/ at all and only the credentials/CLI configuration in its environment (as a CI
runner of the recovery account has), plans the dev environment onto those targets, applies that
plan set, and the resources exist in the second account wired to each other; the original
clone's state files are byte for byte what they were.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrate_emulate.azure_api import AzureEmulator
from orchestrate_emulate.gcp_api import GcpEmulator
from tests.conftest import REPO_ROOT, MotoServer, TerraformBinary, git

pytestmark = pytest.mark.integration

# The dev stacks and the upstream they read (gcp/shared/folder, environment prod): target each runs on.
REBUILT = {
    "aws/dev/storage": "aws-dr",
    "azure/dev/hub": "azure-dr",
    "gcp/dev/project": "gcp-dr",
    "gcp/shared/folder": "gcp-dr",
}
TARGETS = ["--target-cloud", "aws-dr", "--target-cloud", "gcp-dr", "--target-cloud", "azure-dr"]
LEFT_BY_TERRAFORM = (".terraform", ".terraform.lock.hcl", "*_orchestrate_override.tf.json")
DR_SUBSCRIPTION = "99999999-9999-9999-9999-999999999999"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def converge(run: Callable[..., Result], plan: list[str], apply: list[str]) -> None:
    """Plan and apply until the plan has no changes (apply re-plans provisional stacks itself;
    a re-plan that differs from the approved one needs another round)."""
    for _ in range(3):
        res = run("plan", *plan)
        assert res.exit_code in (0, 2), res.output
        if res.exit_code == 0:
            return
        res = run("apply", *apply, "--approved-by", "tester", "--reason", "example estate")
        assert res.exit_code in (0, 2), res.output
    pytest.fail("the estate did not converge in three plan/apply rounds")


def post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


@pytest.fixture
def estate(
    tmp_path: Path,
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    moto: MotoServer,
    gcp: GcpEmulator,
    arm: AzureEmulator,
) -> Iterator[tuple[Path, Path]]:
    """(the bare remote, the original clone) of the example estate with recovery targets."""
    pytest.importorskip("moto")
    from orchestrate_emulate.manager import Emulation

    config = (REPO_ROOT / "orchestrate.yaml").read_text()
    config = config.replace("terraform:\n", f"terraform:\n  binary: {newest_terraform.path}\n", 1)
    recovery = (
        "  # the recovery account: a second set of emulators\n"
        f"  aws-dr: {{provider: aws, region: eu-central-1, endpoint: '{moto.endpoint}', account_id: '123456789012'}}\n"
        f"  gcp-dr: {{provider: gcp, project: acme-dr, endpoint: '{gcp.url}'}}\n"
        f"  azure-dr: {{provider: azure, subscription_id: {DR_SUBSCRIPTION}, endpoint: '{arm.url}'}}\n"
    )
    config = config.replace("\npolicies:", f"{recovery}\npolicies:", 1)
    seed = make_repo(
        {
            "orchestrate.yaml": config,
            ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n.terraform/\n.terraform.lock.hcl\n",
        },
        commit=False,
    )
    for name in ("stacks", "modules", "policies"):
        # what terraform left in this checkout (lock files of another mirror) is not the estate
        shutil.copytree(REPO_ROOT / name, seed / name, ignore=shutil.ignore_patterns(*LEFT_BY_TERRAFORM))
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "the example estate, with a recovery account")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    original = tmp_path / "original"
    git(tmp_path, "clone", "-q", str(bare), str(original))
    try:
        yield bare, original
    finally:
        Emulation(original).down()


def test_the_dev_environment_is_rebuilt_into_a_second_account_from_git_alone(
    estate: tuple[Path, Path],
    tmp_path: Path,
    cli: Callable[..., Result],
    moto: MotoServer,
    gcp: GcpEmulator,
    arm: AzureEmulator,
) -> None:
    from orchestrate_emulate.manager import Emulation

    bare, original = estate
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "USER": "tester"}

    def in_original(*args: str) -> Result:
        return cli("--repo", str(original), *args, env=env)

    assert in_original("emulate", "up").exit_code == 0
    converge(in_original, list(REBUILT), [])
    state_before = snapshot(original / ".orchestrate/state")
    original_folder = json.loads(
        (original / ".orchestrate/state/gcp/shared/folder/terraform.tfstate").read_text()
    )["outputs"]["folder_id"]["value"]
    # The second account's GCP already has a folder, so its folder numbers differ from the first's.
    post(f"{gcp.url}/v3/folders", {"displayName": "other", "parent": "organizations/123456789012"})

    # A fresh clone: no .orchestrate/, no state; credentials and the provider mirror come from
    # the environment, as on a CI runner of the recovery account.
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(bare), str(fresh))
    assert not (fresh / ".orchestrate").exists()
    emulated = Emulation(original).read_state()
    assert emulated is not None
    fresh_env = {**env, **{k: str(v) for k, v in emulated["env"].items()}}

    def in_fresh(*args: str) -> Result:
        return cli("--repo", str(fresh), *args, env=fresh_env)

    res = in_fresh("plan", "--env", "dev", *TARGETS)
    assert res.exit_code == 2, res.output
    assert "also rebuilt, as the environment's stacks read their outputs: gcp/shared/folder" in res.output
    converge(in_fresh, ["--env", "dev", *TARGETS], TARGETS)

    # The second account has the dev environment, wired to its own new stacks.
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=moto.endpoint, region_name="eu-central-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    assert "acme-dev-assets" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    folders = {f["displayName"]: f["name"] for f in gcp.folders.values()}
    project = next(p for p in gcp.projects.values() if p["projectId"] == "acme-dev")
    assert project["parent"] in (folders["platform"], folders["platform"].removeprefix("folders/"))
    assert folders["platform"] != original_folder  # read from the recovered folder's state
    groups = arm.subscriptions[DR_SUBSCRIPTION.lower()]["groups"]
    assert "acme-dev-hub" in groups and groups["acme-dev-hub"]["tags"]["gcp_project"] == "acme-dev"
    for stack, target in REBUILT.items():
        assert (fresh / ".orchestrate/recovery" / target / "state" / stack / "terraform.tfstate").is_file()
    assert (fresh / ".orchestrate/recovery/aws-dr+azure-dr+gcp-dr/plans").is_dir()
    assert not (fresh / ".orchestrate/state").exists() and not (fresh / ".orchestrate/plans").exists()

    # The originals: state byte for byte unchanged, and still what Git says.
    assert snapshot(original / ".orchestrate/state") == state_before
    res = in_original("plan", *REBUILT)
    assert res.exit_code == 0, res.output
