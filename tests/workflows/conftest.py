"""A GitHub repository holding the example estate and the shipped workflows, the fake GitHub API
on it, the emulated clouds as the "cloud account", and a World that runs workflows on them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.conftest import REPO_ROOT, TERRAFORM_BINARIES, git
from tests.fakes.github import FakeGitHub
from tests.workflows.harness import RunResult, World

REPOSITORY = "acme/infra"
BUCKET, TABLE = "acme-tfstate", "acme-tf-locks"
BACKEND = f"""
backend:
  type: s3
  config:
    bucket: {BUCKET}
    key: "{{stack}}/terraform.tfstate"
    region: eu-west-1
    dynamodb_table: {TABLE}
"""
REMOTE_STATE_S3 = f"""data "terraform_remote_state" "gcp_project" {{
  backend = "s3"
  config = {{
    bucket                      = "{BUCKET}"
    key                         = "gcp/prod/project/terraform.tfstate"
    region                      = "eu-west-1"
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }}
}}
"""
SECRETS = {
    "AWS_PLAN_ROLE_ARN": "arn:aws:iam::111111111111:role/orchestrate-plan",
    "AWS_REGION": "eu-west-1",
    "GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/1/locations/global/workloadIdentityPools/github/providers/github",
    "GCP_PLAN_SERVICE_ACCOUNT": "orchestrate-plan@acme-prod.iam.gserviceaccount.com",
    "AZURE_PLAN_CLIENT_ID": "00000000-0000-0000-0000-00000000a001",
    "AZURE_TENANT_ID": "00000000-0000-0000-0000-0000000000t1",
    "AZURE_SUBSCRIPTION_ID": "22222222-2222-2222-2222-222222222222",
}
APPLY_SECRETS = {
    "AWS_APPLY_ROLE_ARN": "arn:aws:iam::111111111111:role/orchestrate-apply",
    "GCP_APPLY_SERVICE_ACCOUNT": "orchestrate-apply@acme-prod.iam.gserviceaccount.com",
    "AZURE_APPLY_CLIENT_ID": "00000000-0000-0000-0000-00000000a002",
}
PLAN_SUBJECTS = {f"repo:{REPOSITORY}:pull_request", f"repo:{REPOSITORY}:ref:refs/heads/main"}
APPLY_SUBJECTS = {f"repo:{REPOSITORY}:environment:production"}
TRUST = {
    **{
        SECRETS[k]: PLAN_SUBJECTS
        for k in ("AWS_PLAN_ROLE_ARN", "GCP_PLAN_SERVICE_ACCOUNT", "AZURE_PLAN_CLIENT_ID")
    },
    **dict.fromkeys(APPLY_SECRETS.values(), APPLY_SUBJECTS),
}


def _copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(
        src, dst, ignore=shutil.ignore_patterns("__pycache__", ".terraform", ".terraform.lock.hcl", "*.pyc")
    )


def build_repository(
    root: Path, config_extra: str = BACKEND, *, on_merge: bool = False, auto: Sequence[str] = ()
) -> None:
    """The example estate, the workflows, action.yml and orchestrate's source in one repository
    (``on_merge``: with ``approval.mode: on-merge``; ``auto``: stack paths set to ``reconcile: auto``)."""
    root.mkdir(parents=True)
    for name in ("stacks", "modules", "policies", ".github"):
        _copy_tree(REPO_ROOT / name, root / name)
    for pkg in ("orchestrator", "orchestrate_emulate"):
        if (REPO_ROOT / pkg).is_dir():
            _copy_tree(REPO_ROOT / pkg, root / pkg)
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, root / name)
    config = (REPO_ROOT / "orchestrate.yaml").read_text()
    if on_merge:
        assert "\napproval:\n" in config
        config = config.replace("\napproval:\n", "\napproval:\n  mode: on-merge\n", 1)
    (root / "orchestrate.yaml").write_text(config + config_extra)
    for path in auto:
        with (root / path / "stack.yaml").open("a") as fh:
            fh.write("reconcile: auto\n")
    if "type: s3" in config_extra:
        # With state in S3, the stack reading another's state reads it there too (docs/ci.md);
        # the endpoint comes from AWS_ENDPOINT_URL, which orchestrate sets for the stack's cloud.
        data = root / "stacks/aws/prod/data/main.tf"
        text = data.read_text()
        start = text.index('data "terraform_remote_state"')
        end = text.index("}\n}\n", start) + 4
        data.write_text(text[:start] + REMOTE_STATE_S3 + text[end:])
    (root / ".gitignore").write_text(
        ".orchestrate/\n*_orchestrate_override.tf.json\n.terraform/\n.terraform.lock.hcl\n__pycache__/\n"
    )


@dataclass
class Estate:
    """The GitHub side (bare repository + fake API), a developer's clone, and the clouds."""

    world: World
    github: FakeGitHub
    bare: Path
    clone: Path
    account: Path
    cli: Callable[..., Result]
    env: dict[str, str]
    age_identity: str | None = None  # plan_sets.encrypt_to set, the identity an environment secret

    def workflow(self, name: str) -> Path:
        return self.clone / ".github" / "workflows" / f"orchestrate-{name}.yml"

    def main_sha(self) -> str:
        return git(self.bare, "rev-parse", "refs/heads/main")

    def push(self, branch: str, files: dict[str, str], message: str) -> str:
        git(self.clone, "checkout", "-q", "-B", branch, "origin/main")
        for rel, text in files.items():
            (self.clone / rel).write_text(text)
        git(self.clone, "add", "-A")
        git(self.clone, "commit", "-q", "-m", message)
        git(self.clone, "push", "-q", "-f", "origin", f"HEAD:refs/heads/{branch}")
        return git(self.clone, "rev-parse", "HEAD")

    def merge_pull(self, number: int, branch: str) -> str:
        """GitHub's merge button (a merge commit on main): pushed, and the pull request marked merged."""
        git(self.clone, "fetch", "-q", "origin")
        git(self.clone, "checkout", "-q", "-B", "main", "origin/main")
        git(self.clone, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number}", f"origin/{branch}")
        git(self.clone, "push", "-q", "origin", "main")
        sha = git(self.clone, "rev-parse", "HEAD")
        self.github.pulls[number].update(
            merged=True, state="closed", merge_commit_sha=sha, merged_at="2026-12-03T10:00:00Z"
        )
        return sha

    def push_event(self, before: str, after: str) -> dict[str, Any]:
        return {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "repository": self.github.repo_json(),
        }

    def merge(self, branch: str) -> None:
        """The pull request is merged (a fast-forward of main)."""
        git(self.clone, "fetch", "-q", "origin")
        git(self.clone, "checkout", "-q", "-B", "main", "origin/main")
        git(self.clone, "merge", "-q", "--ff-only", f"origin/{branch}")
        git(self.clone, "push", "-q", "origin", "main")

    def pull_request_event(self, number: int, action: str = "opened") -> tuple[dict[str, Any], str]:
        pull = self.github._pull_json(number)
        return (
            {"action": action, "number": number, "pull_request": pull, "repository": self.github.repo_json()},
            pull["head"]["sha"],
        )

    def comment_event(
        self, number: int, body: str, user: str = "bob", association: str = "MEMBER"
    ) -> dict[str, Any]:
        comment = self.github.add_comment(number, body, user=user)
        comment["author_association"] = association
        return {
            "action": "created",
            "issue": {
                "number": number,
                "pull_request": {"url": f"{self.github.url}/repos/{REPOSITORY}/pulls/{number}"},
            },
            "comment": comment,
            "repository": self.github.repo_json(),
        }

    def run(self, name: str, event: str, payload: dict[str, Any], **kw: Any) -> RunResult:
        sha = kw.pop("sha", None) or self.main_sha()
        return self.world.run(self.workflow(name), event, payload, sha=sha, **kw)

    def boto(self, service: str) -> Any:
        import boto3

        state = json.loads((self.account / ".orchestrate" / "emulate" / "state.json").read_text())
        return boto3.client(
            service,
            endpoint_url=state["endpoints"]["aws"],
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@contextmanager
def open_estate(
    tmp_path: Path,
    cli: Callable[..., Result],
    *,
    on_merge: bool = False,
    encrypted: bool = False,
    auto: Sequence[str] = (),
) -> Iterator[Estate]:
    """The estate (``on_merge``: approval.mode on-merge on main; ``encrypted``: its plan sets
    encrypted (docs/ci.md), the age identity a secret of the production environment only)."""
    pytest.importorskip("moto")
    identity, environment_secrets, config_extra = None, dict(APPLY_SECRETS), BACKEND
    if encrypted:
        from pyrage import x25519

        key = x25519.Identity.generate()
        identity = str(key)
        environment_secrets["ORCHESTRATE_AGE_IDENTITY"] = identity
        config_extra += f"plan_sets:\n  encrypt_to: [{key.to_public()}]\n"
    terraform = {b.version: b.path for b in TERRAFORM_BINARIES}
    if "1.11.4" not in terraform:
        pytest.skip("the action pins terraform 1.11.4, which is not on this machine")
    from orchestrate_emulate.manager import Emulation

    seed = tmp_path / "seed"
    build_repository(seed, config_extra, on_merge=on_merge, auto=auto)
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    git(seed, "add", "-A")
    git(
        seed,
        "-c",
        "user.name=dev",
        "-c",
        "user.email=dev@example.com",
        "commit",
        "-q",
        "-m",
        "infrastructure",
    )
    bare = tmp_path / "github.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    clone = tmp_path / "dev"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    git(clone, "config", "user.name", "dev")
    git(clone, "config", "user.email", "dev@example.com")
    account = tmp_path / "account"  # where the emulated clouds run, as a cloud account "is"
    git(tmp_path, "clone", "-q", str(bare), str(account))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "USER": "ops",
        "GITHUB_EVENT_PATH": "",
        "GITHUB_STEP_SUMMARY": "",
        "GITHUB_OUTPUT": "",
    }
    fake = FakeGitHub(repository=REPOSITORY, git_dir=bare).start()
    world: World | None = None
    try:
        assert cli("--repo", str(account), "emulate", "up", env=env).exit_code == 0
        world = World(
            tmp_path / "world",
            bare,
            fake,
            terraform=terraform,
            secrets=SECRETS,
            environments={"production": {"branches": ["main"], "secrets": environment_secrets}},
            trust=TRUST,
            cloud_state=account / ".orchestrate" / "emulate" / "state.json",
        )
        estate = Estate(world, fake, bare, clone, account, cli, env, identity)
        # The account's one-time set-up (docs/ci.md): the state bucket and the lock table.
        estate.boto("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        estate.boto("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield estate
    finally:
        if world is not None:
            world.stop()
        fake.stop()
        Emulation(account).down()


@pytest.fixture
def estate(tmp_path: Path, cli: Callable[..., Result], request: pytest.FixtureRequest) -> Iterator[Estate]:
    """The estate; ``indirect`` parameter True: its plan sets encrypted."""
    with open_estate(tmp_path, cli, encrypted=bool(getattr(request, "param", False))) as opened:
        yield opened


@pytest.fixture
def on_merge_estate(tmp_path: Path, cli: Callable[..., Result]) -> Iterator[Estate]:
    """The estate with approval.mode: on-merge on main."""
    with open_estate(tmp_path, cli, on_merge=True) as opened:
        yield opened


@pytest.fixture
def auto_estate(tmp_path: Path, cli: Callable[..., Result]) -> Iterator[Estate]:
    """The estate with aws/dev/storage set to ``reconcile: auto`` on main."""
    with open_estate(tmp_path, cli, auto=("stacks/aws/dev/storage",)) as opened:
        yield opened
