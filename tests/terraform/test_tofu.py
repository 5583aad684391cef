"""OpenTofu plumbing (issue 14 Build 5), with a stand-in named `tofu` in front of a real terraform.

No OpenTofu binary can be installed here: the stand-in answers `version -json` as tofu does
and hands every other command to terraform, logging each call, so the test proves orchestrate
finds, probes and runs `tofu` (not that OpenTofu itself behaves like terraform).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.planset import read_manifest
from orchestrator.terraform.binary import candidates, probe
from tests.conftest import TerraformBinary
from tests.engine.conftest import Repo

VERSION_JSON = '{"terraform_version":"1.6.2","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}'


def stand_in(bin_dir: Path, real: str, calls: Path) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "tofu"
    path.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{calls}"\n'
        f"if [ \"$1\" = version ]; then echo '{VERSION_JSON}'; exit 0; fi\n"
        f'exec "{real}" "$@"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_tofu_on_path_is_found_when_there_is_no_terraform(tmp_path: Path) -> None:
    tofu = stand_in(tmp_path / "bin", "/bin/false", tmp_path / "calls")
    found, _ = candidates(None, str(tmp_path / "bin"))
    assert found[0] == tofu
    binary = probe(tofu)
    assert binary.flavour == "opentofu" and str(binary.version) == "1.6.2"
    assert binary.s3_endpoints_block
    assert binary.describe().startswith("OpenTofu 1.6.2")


@pytest.mark.integration
def test_plan_runs_tofu_when_terraform_binary_is_tofu(
    newest_repo: Callable[..., Repo], newest_terraform: TerraformBinary, tmp_path: Path
) -> None:
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "tofu-bin"
    stand_in(bin_dir, newest_terraform.path, calls)
    repo = newest_repo({"stacks/a/stack.yaml": "", "stacks/a/main.tf": 'output "x" { value = 1 }\n'})
    (repo.root / "orchestrate.yaml").write_text("terraform:\n  binary: tofu\n")
    repo.commit("use tofu")
    repo.env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    res = repo.orchestrate("plan")
    assert res.exit_code == 2, res.output
    manifest = read_manifest(repo.latest())
    assert manifest.terraform_binary == "opentofu"
    assert manifest.terraform_version == "1.6.2"
    ran = calls.read_text().splitlines()
    assert any(" init " in f" {c} " for c in ran) and any(" plan " in f" {c} " for c in ran), ran
