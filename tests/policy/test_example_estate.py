"""The example estate on the emulated clouds with the default pack: the first plans pass, and a
change that deletes the dev assets bucket makes `plan` exit 3 and `apply` refuse, leaving the
bucket in place."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import LEFT_IN_CHECKOUT, REPO_ROOT, TerraformBinary, git

pytestmark = pytest.mark.integration

STACKS = ("gcp/shared/folder", "gcp/dev/project", "aws/dev/storage")


@pytest.fixture
def estate(
    tmp_path: Path, make_repo: Callable[..., Path], newest_terraform: TerraformBinary
) -> Iterator[tuple[Path, dict[str, str]]]:
    pytest.importorskip("moto")
    from orchestrate_emulate.manager import Emulation

    config = (REPO_ROOT / "orchestrate.yaml").read_text()
    config = config.replace("terraform:\n", f"terraform:\n  binary: {newest_terraform.path}\n", 1)
    root = make_repo(
        {
            "orchestrate.yaml": config,
            ".gitignore": ".orchestrate/\n*_orchestrate_override.tf.json\n.terraform/\n.terraform.lock.hcl\n",
        },
        commit=False,
    )
    for name in ("stacks", "modules", "policies"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=LEFT_IN_CHECKOUT)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the example estate")
    home = tmp_path / "home"
    home.mkdir()
    try:
        yield root, {"HOME": str(home), "USER": "tester"}
    finally:
        Emulation(root).down()


def test_the_estate_passes_and_deleting_its_bucket_is_blocked(
    estate: tuple[Path, dict[str, str]], cli: Callable[..., Result]
) -> None:
    root, env = estate

    def run(*args: str) -> Result:
        return cli("--repo", str(root), *args, env=env)

    assert run("emulate", "up").exit_code == 0
    for _ in range(4):  # provisional stacks need their upstream applied first
        res = run("plan", *STACKS)
        assert res.exit_code in (0, 2), res.output
        plan_set = max(
            (d for d in (root / ".orchestrate/plans").iterdir() if (d / "manifest.json").is_file()),
            key=lambda d: (d / "manifest.json").stat().st_mtime_ns,
        )
        policy = json.loads((plan_set / "policy.json").read_text())
        assert policy["summary"]["status"] == "pass", policy
        if res.exit_code == 0:
            break
        res = run("apply", "--approved-by", "tester", "--reason", "example estate")
        assert res.exit_code in (0, 2), res.output
    else:
        pytest.fail("the estate did not converge in four plan/apply rounds")

    main_tf = root / "stacks/aws/dev/storage/main.tf"
    text = main_tf.read_text()
    text = text[: text.index('module "assets"')] + text[text.index('module "labels"') :]
    text = text[: text.index('output "bucket"')] + text[text.index('output "queue_url"') :]
    main_tf.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "drop the dev assets bucket")

    res = run("plan", "aws/dev/storage")
    assert res.exit_code == 3, res.output
    res = run("apply", "--approved-by", "tester", "--reason", "delete the bucket")
    assert res.exit_code == 3, res.output
    assert "policies deny this plan set (aws/dev/storage)" in res.output
    res = run("policy")
    assert res.exit_code == 3
    assert "module.assets.aws_s3_bucket.this: the plan would delete this aws_s3_bucket" in res.stdout
    state = json.loads((root / ".orchestrate/state/aws/dev/storage/terraform.tfstate").read_text())
    assert any(r["type"] == "aws_s3_bucket" for r in state["resources"])  # nothing was destroyed
