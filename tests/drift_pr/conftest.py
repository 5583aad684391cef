"""Fixtures for the drift pull-request tests: a clone with a local bare remote, two AWS stacks
applied with real terraform (the stand-in hashicorp/aws provider) on moto's server, and the
fake GitHub API following the bare repository's branches."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from orchestrate_emulate.mirror import Mirror
from orchestrate_emulate.mirror import build as build_mirror
from tests.conftest import MotoServer, TerraformBinary, git
from tests.fakes.github import FakeGitHub

REGION = "eu-west-1"
BUCKET = "acme-drift-assets"
QUEUE = "acme-drift-jobs"

STORAGE_TF = f"""\
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}

resource "aws_s3_bucket" "assets" {{
  bucket = "{BUCKET}"
  tags   = {{ owner = "platform", environment = "prod" }}
}}
"""

QUEUE_TF = f"""\
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}

resource "aws_sqs_queue" "jobs" {{
  name = "{QUEUE}"
  tags = {{ owner = "platform" }}
}}
"""


def config(binary: str, endpoint: str, extra: str = "") -> str:
    return (
        "version: 1\n"
        f"terraform: {{binary: '{binary}', parallelism: 2}}\n"
        f"clouds:\n  aws-test: {{provider: aws, region: {REGION}, endpoint: '{endpoint}'}}\n"
        "approval: {required: 1, allow_manual: true}\n"
        "drift: {mode: api, labels: [drift, infrastructure]}\n"
        "redact: ['(?i)hunter2[^\\s\"]*']\n" + extra
    )


ESTATE = {
    "stacks/aws/storage/stack.yaml": "cloud: aws-test\nenvironment: prod\n",
    "stacks/aws/storage/main.tf": STORAGE_TF,
    "stacks/aws/queue/stack.yaml": "cloud: aws-test\nenvironment: prod\n",
    "stacks/aws/queue/main.tf": QUEUE_TF,
}


@pytest.fixture(scope="session")
def stand_in_mirror(tmp_path_factory: pytest.TempPathFactory) -> Mirror:
    return build_mirror(tmp_path_factory.mktemp("drift-pr-mirror"))


def boto(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@dataclass
class DriftRepo:
    """A clone of a repository whose ``origin`` is a local bare repository."""

    root: Path
    bare: Path
    cli: Callable[..., Result]
    env: dict[str, str]
    moto: MotoServer

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> Result:
        res = self.cli("--repo", str(self.root), *args, env=self.env)
        assert res.exit_code in ok, f"orchestrate {' '.join(args)} exited {res.exit_code}:\n{res.output}"
        return res

    def drift(self, *args: str, ok: tuple[int, ...] = (2,)) -> tuple[Result, dict[str, Any]]:
        res = self.run("drift", "--open-pr", "--format", "json", *args, ok=ok)
        return res, json.loads(res.stdout)

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def remote(self, *args: str) -> str:
        return git(self.bare, *args)

    def remote_sha(self, branch: str) -> str | None:
        out = git(self.bare, "for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}")
        return out or None

    def commit(self, files: dict[str, str], message: str) -> str:
        for rel, text in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "HEAD:refs/heads/main")
        return self.git("rev-parse", "HEAD")

    def s3(self) -> Any:
        return boto("s3", self.moto.endpoint)

    def sqs(self) -> Any:
        return boto("sqs", self.moto.endpoint)

    def bucket_tags(self) -> dict[str, str]:
        tags = self.s3().get_bucket_tagging(Bucket=BUCKET)["TagSet"]
        return {t["Key"]: t["Value"] for t in tags}

    def set_bucket_tags(self, tags: dict[str, str]) -> None:
        self.s3().put_bucket_tagging(
            Bucket=BUCKET, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        )

    def queue_url(self) -> str:
        return str(self.sqs().get_queue_url(QueueName=QUEUE)["QueueUrl"])

    def tag_queue(self, **tags: str) -> None:
        self.sqs().tag_queue(QueueUrl=self.queue_url(), Tags=tags)


@pytest.fixture
def drift_repo(
    tmp_path: Path,
    make_repo: Callable[..., Path],
    newest_terraform: TerraformBinary,
    stand_in_mirror: Mirror,
    moto: MotoServer,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., DriftRepo]:
    """drift_repo(files=..., config_extra=...) -> the estate applied, in a clone of a bare remote."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")

    def _make(files: dict[str, str] | None = None, config_extra: str = "", apply: bool = True) -> DriftRepo:
        seed = make_repo(
            {
                "orchestrate.yaml": config(newest_terraform.path, moto.endpoint, config_extra),
                ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n.terraform/\n.terraform.lock.hcl\n",
                **(ESTATE if files is None else files),
            }
        )
        bare = tmp_path / "origin.git"
        git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(bare), str(clone))
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        env = {
            "HOME": str(home),
            "USER": "tester",
            "TF_CLI_CONFIG_FILE": str(stand_in_mirror.cli_config),
            "CHECKPOINT_DISABLE": "1",
            "GITHUB_EVENT_PATH": "",
            "GITHUB_STEP_SUMMARY": "",
            "GITHUB_OUTPUT": "",
            "GIT_AUTHOR_NAME": "",
            "GIT_AUTHOR_EMAIL": "",
        }
        repo = DriftRepo(clone, bare, cli, env, moto)
        if apply:
            repo.run("plan", ok=(2,))
            repo.run("apply", "--approved-by", "bootstrap", "--reason", "initial estate")
        return repo

    return _make


@pytest.fixture
def github(drift_repo: Callable[..., DriftRepo], tmp_path: Path) -> Iterator[FakeGitHub]:
    """The fake GitHub, its pull requests following the bare remote's branches."""
    with FakeGitHub(git_dir=tmp_path / "origin.git") as fake:
        yield fake
